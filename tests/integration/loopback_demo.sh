#!/usr/bin/env bash
# The multi-host demo (examples/remote) on 127.0.0.1, no root needed: the
# recovery of a SIGKILLed worker's job at both points the client handles.
#
#   usage: loopback_demo.sh MP_MANAGER JOB_CLIENT JOB_WORKER
#
#   compute    worker-a is killed holding a job it has not computed: the
#              client puts it back and worker-b does it.
#   task_done  worker-a is killed after writing the job's result, before
#              task_done(): the client balances the count, nobody redoes it.
# Either way the client's output must be exact. netns_demo.sh runs the first
# case between network namespaces.
set -euo pipefail

HERE=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
readonly HERE
# shellcheck source=demo_lib.sh
source "$HERE/demo_lib.sh"
read_demo_programs "$@"

readonly JOBS=20 JOB_SIZE=1000
# Sum of i*i for 0 <= i < 20000.
readonly EXPECTED="results: 20 jobs, total = 2666466670000
check: all 20 results exact"

WORK=$(mktemp -d /tmp/mp-loopback-demo.XXXXXX)
readonly WORK
GROUPS_STARTED=()  # process groups (of `timeout`) this script started

log() { echo "loopback_demo: $*"; }

cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then
    log "FAILED (exit $rc); logs:"
    local f
    for f in "$WORK"/*/*; do
      [[ -s $f ]] || continue
      echo "---- ${f#"$WORK"/}"
      tail -n 30 "$f"
    done
  fi
  local g
  for g in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

head -c 32 /dev/urandom | base64 >"$WORK/authkey"
chmod 600 "$WORK/authkey"

# run_case WHERE: one manager, worker-a (--stall-after 1 --stall-at WHERE),
# the client, worker-b; worker-a is killed once worker-b is busy.
run_case() {
  local where=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  # `timeout` puts each program in a process group of its own.
  timeout 120 "$MP_MANAGER" --listen 127.0.0.1:0 \
    --authkey-file "$WORK/authkey" >"$dir/manager.log" 2>&1 &
  local manager=$!
  GROUPS_STARTED+=("$manager")
  serving() { grep -q 'serving on ' "$dir/manager.log"; }
  wait_for 30 "mp-manager to serve" serving
  local address
  address=$(sed -n 's/^mp-manager: serving on //p' "$dir/manager.log")
  local connect=(--manager "$address" --authkey-file "$WORK/authkey")

  timeout -s KILL 100 "$JOB_WORKER" "${connect[@]}" --name worker-a \
    --processes 2 --stall-after 1 --stall-at "$where" --idle-exit 90 \
    >"$dir/worker-a.log" 2>&1 &
  local worker_a=$!
  GROUPS_STARTED+=("$worker_a")
  timeout 100 "$JOB_CLIENT" "${connect[@]}" --jobs "$JOBS" \
    --job-size "$JOB_SIZE" --timeout 90 --check-interval-ms 200 \
    >"$dir/client.out" 2>"$dir/client.err" &
  local client=$!
  GROUPS_STARTED+=("$client")

  stalled() { grep -q 'stalling while holding job' "$dir/worker-a.log"; }
  wait_for 60 "worker-a to hold a job" stalled
  local held
  held=$(sed -n 's/^worker-a: stalling while holding job \([0-9]*\)$/\1/p' \
    "$dir/worker-a.log")

  timeout 100 "$JOB_WORKER" "${connect[@]}" --name worker-b --processes 2 \
    --job-ms 20 --idle-exit 90 >"$dir/worker-b.log" 2>&1 &
  local worker_b=$!
  GROUPS_STARTED+=("$worker_b")
  busy() { grep -q '^worker-b: done job ' "$dir/worker-b.log"; }
  wait_for 60 "worker-b to finish a job" busy

  disown "$worker_a"  # no "Killed" job report; a_gone is our wait
  kill -KILL -- "-$worker_a"
  a_gone() { ! pgrep -g "$worker_a" >/dev/null; }
  wait_for 10 "worker-a's processes to die" a_gone

  local rc=0
  wait "$client" || rc=$?
  if ((rc != 0)); then
    log "$where: job_client exited with $rc"
    return 1
  fi
  if [[ $(cat "$dir/client.out") != "$EXPECTED" ]]; then
    log "$where: job_client printed something else than expected"
    return 1
  fi
  if [[ $where == compute ]]; then
    grep -q "^job_client: job $held was held by worker-a@" "$dir/client.err"
    grep -q "^worker-b: done job $held\$" "$dir/worker-b.log"
  else
    grep -q '^job_client: called task_done() 1 time(s) for workers that died' \
      "$dir/client.err"
    if grep -q "^worker-b: done job $held\$" "$dir/worker-b.log"; then
      log "$where: job $held had a result but was done again"
      return 1
    fi
  fi
  wait "$worker_b"
  kill -TERM "$manager"
  wait "$manager"
  log "$where: exact result; job $held of the killed worker-a handled"
}

run_case compute
run_case task_done
log "PASS"
