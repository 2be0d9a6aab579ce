# Sourced by the demo scripts in this directory (loopback_demo.sh,
# netns_demo.sh): their shared argument handling and polling. The sourcing
# script defines log().

# Sets MP_MANAGER, JOB_CLIENT and JOB_WORKER (absolute, read-only) from the
# script's arguments, or exits 2 with the usage.
read_demo_programs() {
  if (($# != 3)); then
    echo "usage: $0 MP_MANAGER JOB_CLIENT JOB_WORKER" >&2
    exit 2
  fi
  MP_MANAGER=$(realpath "$1")
  JOB_CLIENT=$(realpath "$2")
  JOB_WORKER=$(realpath "$3")
  readonly MP_MANAGER JOB_CLIENT JOB_WORKER
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local i
  for ((i = 0; i < seconds * 10; ++i)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  log "timed out after ${seconds}s waiting for $what"
  return 1
}
