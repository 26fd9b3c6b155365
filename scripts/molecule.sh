#!/usr/bin/env bash
# Run molecule scenarios (all of molecule/*/ but shared/, or those named), one at a time: Docker-
# based tests on this machine never overlap (a lock in /tmp serialises them across checkouts).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PWD/${VENV:-.venv}/bin:$PATH"
export ANSIBLE_HOME=${ANSIBLE_HOME:-$PWD/.ansible}
export RESEARCH_ENV_RUN_ID=${RESEARCH_ENV_RUN_ID:-$(date +%H%M%S)$$}
lock=${RESEARCH_ENV_DOCKER_LOCK:-/tmp/research-env-docker.lock}

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  scenarios=()
  for dir in molecule/*/; do
    name=$(basename "$dir")
    [ "$name" = shared ] || [ ! -f "$dir/molecule.yml" ] || scenarios+=("$name")
  done
fi

# filegator_docker loads the lab's FileGator image from its tarball (Docker Hub is unreachable here).
if [[ " ${scenarios[*]} " == *" filegator_docker "* ]] && [ -z "${RESEARCH_ENV_FILEGATOR_ARCHIVE:-}" ]; then
  RESEARCH_ENV_FILEGATOR_ARCHIVE=$(scripts/filegator-image.sh --save | tail -n 1)
  export RESEARCH_ENV_FILEGATOR_ARCHIVE
fi

for scenario in "${scenarios[@]}"; do
  started=$(date +%s)
  echo "molecule: $scenario (run $RESEARCH_ENV_RUN_ID)"
  flock "$lock" molecule test -s "$scenario"
  echo "molecule: $scenario passed in $(( $(date +%s) - started ))s"
done
