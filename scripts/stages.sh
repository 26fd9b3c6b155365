#!/usr/bin/env bash
# Run make targets one after the other, as `make test` does, and print where the time went: one
# line per stage with its seconds and result, and the total. The first failing stage stops the run
# (its table is printed all the same, so a CI log shows how far it got).
#   scripts/stages.sh lint unit integration ...
set -uo pipefail

rows=()
started=$(date +%s)
report() {
  echo
  printf '%-12s %8s  %s\n' stage seconds result
  printf '%s\n' "${rows[@]}"
  printf '%-12s %8s\n' total "$(( $(date +%s) - started ))"
}

for stage in "$@"; do
  stage_started=$(date +%s)
  "${MAKE:-make}" --no-print-directory "$stage"
  rc=$?
  seconds=$(( $(date +%s) - stage_started ))
  if [ "$rc" -ne 0 ]; then
    rows+=("$(printf '%-12s %8s  %s' "$stage" "$seconds" "failed (rc $rc)")")
    report
    exit "$rc"
  fi
  rows+=("$(printf '%-12s %8s  %s' "$stage" "$seconds" passed)")
done
report
