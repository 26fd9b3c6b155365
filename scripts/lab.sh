#!/usr/bin/env bash
# Lab mode: run the real site.yml against the AWS emulator on this machine.
#   scripts/lab.sh up [ansible-playbook args]   start what is needed, run site.yml (idempotent)
#   scripts/lab.sh down                         teardown.yml, then stop the emulator
set -euo pipefail

cd "$(dirname "$0")/.."
action=${1:-up}
shift || true
state=.state/lab
venv=${VENV:-.venv}
export PATH="$PWD/$venv/bin:$PATH"
export ANSIBLE_HOME=${ANSIBLE_HOME:-$PWD/.ansible}
export EMULATOR_STATE_DIR=$state/emulator
# The EC2 inventory reads the environment name from the shell (lab/lab.yml sets env_name: lab).
export RESEARCH_ENV_NAME=lab

mkdir -p "$state"
if [ ! -f "$state/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "research-env lab" -f "$state/id_ed25519"
fi

case "$action" in
  up)
    python scripts/emulator.py start >/dev/null
    eval "$(python scripts/emulator.py env)"
    echo "lab: AWS emulator at $AWS_ENDPOINT_URL (moto server; state in $state)"
    ansible-playbook site.yml -e @lab/lab.yml "$@"
    ;;
  down)
    if python scripts/emulator.py status >/dev/null; then
      eval "$(python scripts/emulator.py env)"
      ansible-playbook playbooks/teardown.yml -e @lab/lab.yml "$@"
      python scripts/emulator.py stop
    else
      echo "lab: the emulator is not running, so nothing of the lab is left in it"
    fi
    ;;
  *)
    echo "usage: scripts/lab.sh up|down [ansible-playbook args]" >&2
    exit 2
    ;;
esac
