#!/usr/bin/env bash
# Create (or bring up to date) the project's virtualenv in .venv with the pinned requirements.
# Idempotent: reinstalls only when a requirements file changed since the last install.
set -euo pipefail

cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))" >&2
  exit 1
fi

stamp="$venv/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $venv is up to date"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "$want" >"$stamp"
echo "setup: installed $(grep -c '==' requirements.txt requirements-dev.txt | awk -F: '{s+=$2} END {print s}') pinned packages into $venv"
