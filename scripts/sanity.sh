#!/usr/bin/env bash
# `ansible-test sanity` for the collection research_env.core (collections/ansible_collections/research_env/core),
# on this machine's Python 3.11, without Docker.
#   scripts/sanity.sh [ansible-test sanity options, e.g. --test pylint]
#
# ansible-test finds a collection's dependencies only in the collection's own root (ansible_collections/..), and
# inside a git work tree it tests only the files git lists for that root (none, for a copy in an ignored folder). So
# the collection is tested from a copy in a temporary directory outside the repository, beside the amazon.aws it
# depends on: the one the `ansible` package of requirements.txt carries, linked, not downloaded. The copy also keeps
# ansible-test's tests/output/ out of the repository. Each test's own requirements (pinned, from PyPI) go in virtualenvs that ansible-test makes once
# under ~/.ansible/test/venv and reuses.
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${BIN:-$PWD/.venv/bin}
python=${SANITY_PYTHON:-3.11}

# ansible-test puts pip into those virtualenvs with a bootstrap script from ci-files.testing.ansible.com, which is not
# reachable here; it looks in this cache first (see scripts/get_pip.py).
pip_version=$("$bin/python" -c 'import inspect, re
import ansible_test._internal.python_requirements as r
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r)).group(1))')
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp scripts/get_pip.py "$cache"
fi

aws=$("$bin/python" -c 'import ansible_collections.amazon.aws as m; print(list(m.__path__)[0])')
work=$(mktemp -d "${TMPDIR:-/tmp}/research-env-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/ansible_collections
mkdir -p "$root/research_env" "$root/amazon"
cp -R collections/ansible_collections/research_env/core "$root/research_env/core"
rm -rf "$root/research_env/core/tests/output"
find "$root/research_env/core" -name __pycache__ -prune -exec rm -rf {} +
ln -s "$aws" "$root/amazon/aws"

cd "$root/research_env/core"
"$bin/ansible-test" sanity --python "$python" --color "${ANSIBLE_TEST_COLOR:-auto}" "$@"
