#!/usr/bin/env bash
# Run make targets as `make test` does and print where the time went: one line per stage with its
# lane, seconds and result, each lane's total, and the whole run's.
#   scripts/stages.sh setup image -- @emulator lint unit integration -- @docker molecule e2e
# The stages before the first `--` run one after the other. Each group after a `--` is a lane
# (named by its `@name`, else by its first stage); the lanes run at the same time, each its stages
# one after the other, and each line a lane prints is prefixed with the lane's name. The first failing stage stops its lane (and, before the
# lanes, the run); the other lanes finish, then the table is printed and the first failure's code
# is the run's.
set -uo pipefail

started=$(date +%s)
rows=$(mktemp -d)
trap 'rm -rf "$rows"' EXIT
trap 'trap - INT TERM; kill 0' INT TERM

groups=()   # one string of stage names per group: 0 = serial, 1.. = lanes
current=""
for arg in "$@"; do
  if [ "$arg" = -- ]; then
    groups+=("$current")
    current=""
  else
    current+="${current:+ }$arg"
  fi
done
groups+=("$current")

# run_lane NAME STAGE...: write one row per stage into $rows/NAME, stop at the first failure.
run_lane() {
  local lane=$1 stage stage_started rc seconds lane_started
  shift
  lane_started=$(date +%s)
  : >"$rows/$lane"
  while [ $# -gt 0 ]; do
    stage=$1
    shift
    stage_started=$(date +%s)
    "${MAKE:-make}" --no-print-directory "$stage"
    rc=$?
    seconds=$(( $(date +%s) - stage_started ))
    if [ "$rc" -ne 0 ]; then
      printf '%-12s %-12s %8s  %s\n' "$stage" "$lane" "$seconds" "failed (rc $rc)" >>"$rows/$lane"
      for stage in "$@"; do printf '%-12s %-12s %8s  %s\n' "$stage" "$lane" - "not run" >>"$rows/$lane"; done
      echo $(( $(date +%s) - lane_started )) >"$rows/$lane.total"
      return "$rc"
    fi
    printf '%-12s %-12s %8s  %s\n' "$stage" "$lane" "$seconds" passed >>"$rows/$lane"
  done
  echo $(( $(date +%s) - lane_started )) >"$rows/$lane.total"
}

# lane_name WORD...: the lane's name (`@name` first, else its first stage); fails for no stage.
lane_name() {
  [ $# -gt 0 ] || return 1
  if [ "${1:0:1}" = @ ]; then
    [ $# -gt 1 ] || return 1
    echo "${1:1}"
  else
    echo "$1"
  fi
}

lanes=()
report() {
  echo
  printf '%-12s %-12s %8s  %s\n' stage lane seconds result
  for lane in "${lanes[@]}"; do cat "$rows/$lane"; done
  if [ ${#lanes[@]} -gt 2 ]; then
    for lane in "${lanes[@]:1}"; do
      printf '%-12s %-12s %8s\n' "lane total" "$lane" "$(cat "$rows/$lane.total" 2>/dev/null || echo -)"
    done
  fi
  printf '%-12s %-12s %8s\n' total "" "$(( $(date +%s) - started ))"
}

# The serial stages.
lanes+=(serial)
read -r -a stages <<<"${groups[0]}"
run_lane serial "${stages[@]}"
rc=$?
if [ "$rc" -ne 0 ]; then
  for group in "${groups[@]:1}"; do
    read -r -a stages <<<"$group"
    lane=$(lane_name "${stages[@]}") || continue
    [ "${stages[0]:0:1}" != @ ] || stages=("${stages[@]:1}")
    lanes+=("$lane")
    echo - >"$rows/$lane.total"
    for stage in "${stages[@]}"; do printf '%-12s %-12s %8s  %s\n' "$stage" "$lane" - "not run" >>"$rows/$lane"; done
  done
  report
  exit "$rc"
fi

# The lanes, at the same time (one lane alone runs without the prefix).
pids=()
for group in "${groups[@]:1}"; do
  read -r -a stages <<<"$group"
  lane=$(lane_name "${stages[@]}") || continue
  [ "${stages[0]:0:1}" != @ ] || stages=("${stages[@]:1}")
  lanes+=("$lane")
  if [ ${#groups[@]} -eq 2 ]; then
    run_lane "$lane" "${stages[@]}"
    echo $? >"$rows/$lane.rc"
  else
    { run_lane "$lane" "${stages[@]}"; echo $? >"$rows/$lane.rc"; } 2>&1 \
      | awk -v prefix="$(printf '%-12s| ' "$lane")" '{ print prefix $0; fflush() }' &
    pids+=($!)
  fi
done
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"

rc=0
for lane in "${lanes[@]:1}"; do
  lane_rc=$(cat "$rows/$lane.rc" 2>/dev/null || echo 1)
  if [ "$lane_rc" -ne 0 ] && [ "$rc" -eq 0 ]; then rc=$lane_rc; fi
done
report
exit "$rc"
