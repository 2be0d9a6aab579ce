#!/usr/bin/env bash
# The multi-host demo (examples/remote) between three "hosts" built from
# network namespaces, with a worker SIGKILLed while it holds a job.
#
#   usage: netns_demo.sh MP_MANAGER JOB_CLIENT JOB_WORKER
#
#   switch namespace: bridge br0, one veth port per host
#   manager  10.77.0.1  mp-manager --listen 10.77.0.1:50077, mutual TLS
#                       (a throwaway CA, server and client certificates)
#   worker-a 10.77.0.2  job_worker --stall-after 1: does job 0, takes job 1,
#                       says so and holds it; SIGKILLed (process group)
#                       once worker-b is busy
#   worker-b 10.77.0.3  job_worker and job_client
#
# Passes when the client prints the exact result, worker-b did the job
# worker-a held when it died, and the client says it put that job back.
# Needs root (ip netns); exits 77 (ctest SKIP_RETURN_CODE) otherwise.
# Nothing is added to the caller's network namespace: the bridge lives in
# a namespace of its own. Everything is removed on exit, whatever happens.
set -euo pipefail

readonly SKIP=77
HERE=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
readonly HERE
# shellcheck source=demo_lib.sh
source "$HERE/demo_lib.sh"
read_demo_programs "$@"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: netns_demo needs root (ip netns, veth, bridge)"
  exit "$SKIP"
fi
for tool in ip timeout setsid openssl ps; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: netns_demo needs '$tool'"
    exit "$SKIP"
  fi
done

readonly JOBS=40 JOB_SIZE=10000
# Sum of i*i for 0 <= i < JOBS*JOB_SIZE = 400000.
readonly EXPECTED="results: 40 jobs, total = 21333253333400000
check: all 40 results exact"
readonly PORT=50077 MANAGER_IP=10.77.0.1

readonly TAG="mpdemo$$"
readonly NS_SWITCH="$TAG-switch" NS_MANAGER="$TAG-manager"
readonly NS_A="$TAG-worker-a" NS_B="$TAG-worker-b"
readonly ALL_NS=("$NS_MANAGER" "$NS_A" "$NS_B" "$NS_SWITCH")
WORK=$(mktemp -d "/tmp/$TAG.XXXXXX")
readonly WORK

log() { echo "netns_demo: $*"; }

show_logs() {
  local f
  for f in "$WORK"/*.log "$WORK"/*.out "$WORK"/*.err; do
    [[ -s $f ]] || continue
    echo "---- ${f##*/}"
    tail -n 40 "$f"
  done
}

cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then
    log "FAILED (exit $rc); logs:"
    show_logs
  fi
  # Every process in our namespaces is one this script started.
  local ns pid
  for ns in "${ALL_NS[@]}"; do
    if ip netns list | grep -qw "^$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null
      done
    fi
  done
  for ns in "${ALL_NS[@]}"; do
    ip netns delete "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the network -------------------------------------------------------------
if ! ip netns add "$NS_SWITCH" 2>"$WORK/netns.err"; then
  echo "SKIP: cannot create network namespaces: $(cat "$WORK/netns.err")"
  exit "$SKIP"
fi
ip -n "$NS_SWITCH" link add br0 type bridge
ip -n "$NS_SWITCH" link set br0 up
host_index=1
for ns in "$NS_MANAGER" "$NS_A" "$NS_B"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # The veth pair is made inside the switch namespace, its other end moved
  # straight into the host's: no interface ever appears in ours.
  ip -n "$NS_SWITCH" link add "port$host_index" type veth \
    peer name eth0 netns "$ns"
  ip -n "$NS_SWITCH" link set "port$host_index" master br0 up
  ip -n "$ns" addr add "10.77.0.$host_index/24" dev eth0
  ip -n "$ns" link set eth0 up
  host_index=$((host_index + 1))
done
log "hosts: manager 10.77.0.1, worker-a 10.77.0.2, worker-b 10.77.0.3"

# ---- secrets -----------------------------------------------------------------
head -c 32 /dev/urandom | base64 >"$WORK/authkey"
chmod 600 "$WORK/authkey"

# TLS: a CA, a server certificate for 10.77.0.1 (IP SAN) and a client
# certificate, for mp-manager --tls-cert/--tls-key/--tls-client-ca and the
# clients' TLS options.
"$HERE/../tls/make_certs.sh" "$WORK/tls" "$MANAGER_IP"

# Mutual TLS between the hosts.
MANAGER_FLAGS=(--listen "$MANAGER_IP:$PORT" --authkey-file "$WORK/authkey"
               --lease-timeout-ms 5000
               --tls-cert "$WORK/tls/server.pem"
               --tls-key "$WORK/tls/server.key"
               --tls-client-ca "$WORK/tls/ca.pem")
CONNECT_FLAGS=(--manager "$MANAGER_IP:$PORT" --authkey-file "$WORK/authkey"
               --tls-ca "$WORK/tls/ca.pem"
               --tls-cert "$WORK/tls/client.pem"
               --tls-key "$WORK/tls/client.key")
log "TLS: on (mutual; server certificate for IP $MANAGER_IP)"

# ---- the manager -------------------------------------------------------------
ip netns exec "$NS_MANAGER" timeout 180 "$MP_MANAGER" "${MANAGER_FLAGS[@]}" \
  >"$WORK/manager.log" 2>&1 &
manager_pid=$!
for ns in "$NS_A" "$NS_B"; do
  # Bounded: --connect-timeout retries until the manager answers.
  ip netns exec "$ns" timeout 30 "$JOB_CLIENT" "${CONNECT_FLAGS[@]}" \
    --connect-timeout 20 --ping >>"$WORK/ping.out"
done
log "manager up, reachable from both workers"
# Without TLS, or without a client certificate, the manager must refuse.
if ip netns exec "$NS_A" timeout 30 "$JOB_CLIENT" --manager "$MANAGER_IP:$PORT" \
  --authkey-file "$WORK/authkey" --connect-timeout 0 --ping \
  >>"$WORK/ping.out" 2>&1; then
  log "the TLS manager accepted a plaintext client"
  exit 1
fi
if ip netns exec "$NS_A" timeout 30 "$JOB_CLIENT" --manager "$MANAGER_IP:$PORT" \
  --authkey-file "$WORK/authkey" --tls-ca "$WORK/tls/ca.pem" \
  --connect-timeout 0 --ping >>"$WORK/ping.out" 2>&1; then
  log "the TLS manager accepted a client without a certificate"
  exit 1
fi
log "TLS: plaintext and certificate-less clients refused"

# ---- worker-a, the client, worker-b -----------------------------------------
# timeout starts a process group of its own: the worker, its Pool and the
# Pool's forkserver are all in it.
ip netns exec "$NS_A" timeout -s KILL 150 "$JOB_WORKER" "${CONNECT_FLAGS[@]}" \
  --name worker-a --processes 2 --stall-after 1 --idle-exit 120 \
  >"$WORK/worker-a.log" 2>&1 &
worker_a_pid=$!

ip netns exec "$NS_B" timeout 120 "$JOB_CLIENT" "${CONNECT_FLAGS[@]}" \
  --jobs "$JOBS" --job-size "$JOB_SIZE" --timeout 100 \
  --check-interval-ms 200 >"$WORK/client.out" 2>"$WORK/client.err" &
client_pid=$!

stalled() { grep -q 'stalling while holding job' "$WORK/worker-a.log"; }
wait_for 60 "worker-a to hold a job" stalled
held=$(sed -n 's/^worker-a: stalling while holding job \([0-9]*\)$/\1/p' \
  "$WORK/worker-a.log")
grep -q '^worker-a: done job ' "$WORK/worker-a.log"
log "worker-a did job 0 and now holds job $held"

ip netns exec "$NS_B" timeout 120 "$JOB_WORKER" "${CONNECT_FLAGS[@]}" \
  --name worker-b --processes 2 --job-ms 50 --idle-exit 100 \
  >"$WORK/worker-b.log" 2>&1 &
worker_b_pid=$!
busy() { grep -q '^worker-b: done job ' "$WORK/worker-b.log"; }
wait_for 60 "worker-b to finish a job" busy

# ---- kill worker-a mid-run --------------------------------------------------
a_pid=$(sed -n 's|^worker-a: started as [^@]*@[^/]*/\([0-9]*\)/.*|\1|p' \
  "$WORK/worker-a.log")
a_group=$(ps -o pgid= -p "$a_pid" | tr -d ' ')
own_group=$(ps -o pgid= -p $$ | tr -d ' ')
if [[ -z $a_group || $a_group == "$own_group" ]]; then
  log "cannot find worker-a's own process group"
  exit 1
fi
log "SIGKILL worker-a: process group $a_group ($(pgrep -c -g "$a_group") processes)"
disown "$worker_a_pid"  # no "Killed" job report; a_gone is our wait
kill -KILL -- "-$a_group"
a_gone() { ! pgrep -g "$a_group" >/dev/null; }
wait_for 10 "worker-a's processes to die" a_gone

# ---- the outcome -------------------------------------------------------------
client_rc=0
wait "$client_pid" || client_rc=$?
if ((client_rc != 0)); then
  log "job_client exited with $client_rc"
  exit 1
fi
if [[ $(cat "$WORK/client.out") != "$EXPECTED" ]]; then
  log "job_client printed:"
  cat "$WORK/client.out"
  log "expected:"
  echo "$EXPECTED"
  exit 1
fi
grep -q "^job_client: job $held was held by worker-a@" "$WORK/client.err" || {
  log "job_client did not report putting back job $held"
  exit 1
}
grep -q "^worker-b: done job $held\$" "$WORK/worker-b.log" || {
  log "worker-b did not do job $held"
  exit 1
}
# The client set "done": worker-b leaves on its own.
b_rc=0
wait "$worker_b_pid" || b_rc=$?
if ((b_rc != 0)); then
  log "worker-b exited with $b_rc"
  exit 1
fi
kill -TERM "$manager_pid"
m_rc=0
wait "$manager_pid" || m_rc=$?
if ((m_rc != 0)); then
  log "mp-manager exited with $m_rc"
  exit 1
fi
log "client output exact; worker-b redid job $held of the killed worker-a"
log "PASS"
