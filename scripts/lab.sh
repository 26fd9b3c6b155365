#!/usr/bin/env bash
# Lab mode: the real site.yml against the AWS emulator on this machine, with containers standing
# in for the EC2 hosts. Idempotent.
#   scripts/lab.sh up [ansible-playbook args]   start what is needed, run site.yml
#   scripts/lab.sh down [ansible-playbook args] teardown.yml (+ record), containers, emulator
# Steps of `up`: the emulator (on the Docker bridge, so the hosts reach its S3), the AWS side
# (site.yml --tags infra, only when the emulator has no instance of the lab yet), a container per
# instance (playbooks/lab.yml), then site.yml itself with the given arguments.
set -euo pipefail

cd "$(dirname "$0")/.."
action=${1:-up}
shift || true
state=.state/lab
venv=${VENV:-.venv}
export PATH="$PWD/$venv/bin:$PATH"
export ANSIBLE_HOME=${ANSIBLE_HOME:-$PWD/.ansible}
export EMULATOR_STATE_DIR=$state/emulator
lab_vars=(-e @lab/lab.yml)

mkdir -p "$state"
if [ ! -f "$state/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "research-env lab" -f "$state/id_ed25519"
fi

bridge_address() { ip -4 -o addr show docker0 | awk '{split($4, a, "/"); print a[1]}'; }

lab_instances() {
  python - <<'PY'
import boto3
ec2 = boto3.client("ec2")
flt = [{"Name": "tag:Environment", "Values": ["lab"]}, {"Name": "instance-state-name", "Values": ["pending", "running"]}]
print(sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=flt)["Reservations"]))
PY
}

case "$action" in
  up)
    scripts/docker-engine.sh >/dev/null
    scripts/test-image.sh
    # FileGator's image: Docker Hub is unreachable here, so a stand-in built from its sources
    # (scripts/filegator-image.sh), saved to a tarball the filegator_docker role loads.
    RESEARCH_ENV_FILEGATOR_ARCHIVE=$(scripts/filegator-image.sh --save | tail -n 1)
    export RESEARCH_ENV_FILEGATOR_ARCHIVE
    # The image pipeline's function runs in Docker, started by the emulator: a stand-in of AWS's
    # Python 3.13 runtime (scripts/lambda-image.sh), which scripts/moto_server.py names.
    scripts/lambda-image.sh
    python scripts/emulator.py start --host "$(bridge_address)" >/dev/null
    eval "$(python scripts/emulator.py env)"
    echo "lab: AWS emulator (moto server) at $AWS_ENDPOINT_URL; its state and the lab key are in $state"
    if [ "$(lab_instances)" = 0 ]; then
      echo "lab: creating the AWS side in the emulator (site.yml --tags infra)"
      ansible-playbook site.yml "${lab_vars[@]}" --tags infra
    fi
    echo "lab: a container per instance (playbooks/lab.yml)"
    ansible-playbook playbooks/lab.yml "${lab_vars[@]}"
    ansible-playbook site.yml "${lab_vars[@]}" "$@"
    ;;
  down)
    if python scripts/emulator.py status >/dev/null; then
      eval "$(python scripts/emulator.py env)"
      # The lab's notebooks are sample data: destroy them with the rest (on AWS, destroy_data is
      # for the admin to decide; the record says what was deleted either way).
      ansible-playbook playbooks/teardown.yml "${lab_vars[@]}" -e destroy_data=true "$@"
      ansible-playbook playbooks/lab.yml "${lab_vars[@]}" -e lab_state=absent
      if [ "${LAB_KEEP_EMULATOR:-0}" = 1 ]; then
        echo "lab: the emulator keeps running (LAB_KEEP_EMULATOR=1) at $AWS_ENDPOINT_URL"
      else
        python scripts/emulator.py stop
      fi
      rm -f artifacts/lab/known_hosts
    else
      echo "lab: the emulator is not running, so nothing of the lab is left in it"
      ansible-playbook playbooks/lab.yml "${lab_vars[@]}" -e lab_state=absent
      rm -f artifacts/lab/known_hosts
    fi
    ;;
  *)
    echo "usage: scripts/lab.sh up|down [ansible-playbook args]" >&2
    exit 2
    ;;
esac
