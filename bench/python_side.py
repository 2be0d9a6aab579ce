#!/usr/bin/env python3
"""Python 3.11's multiprocessing on mp's benchmark workloads W1-W13.

Prints one JSON object per line, in mp_bench's format:
  {"workload": "W1", "metric": "dict_set", "value": 63.1, "unit": "us/op", "impl": "python"}
Units ending in "/s" are rates (higher is better); the others are costs (lower is better).
bench/run.py runs this beside mp_bench, Redis and the floor and prints the comparison;
bench/README.md says what each workload does on each side.

Every timed loop is written out inline, as a Python user would write it: a helper taking a
lambda would add a function call per operation, which is most of the cost of W9 and W10.
"""
import argparse
import array
import json
import multiprocessing as mp
import sys
import threading
import time
from multiprocessing.managers import BaseManager, DictProxy, SyncManager

ALL = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11", "W12", "W13"]
# No single step may wait longer than this (joins, gets, waiter start-up); run.py kills the
# whole process group after its own --timeout anyway.
STEP_TIMEOUT = 120


def emit(workload, metric, value, unit):
    print(json.dumps({"workload": workload, "metric": metric, "value": round(value, 3),
                      "unit": unit, "impl": "python"}), flush=True)


def us_per_op(start, n):
    return (time.perf_counter() - start) / n * 1e6


def join(p):
    p.join(STEP_TIMEOUT)
    if p.is_alive():
        p.kill()
        sys.exit(f"python_side: {p.name} did not finish in {STEP_TIMEOUT} s")


# ---- W1-W8: SyncManager (the server Python's Manager() starts) -------------------------


def w1(m, n, suffix=""):
    d = m.dict()
    for i in range(100):
        d[i] = i
    t = time.perf_counter()
    for i in range(n):
        d[i % 100] = i
    emit("W1", "dict_set" + suffix, us_per_op(t, n), "us/op")
    t = time.perf_counter()
    for i in range(n):
        d[i % 100]
    emit("W1", "dict_get" + suffix, us_per_op(t, n), "us/op")


def w1_tcp(n):
    # Python's Manager listens on a unix socket by default; this one on TCP loopback is the
    # partner of mp's _tcp figures. (Python managers cannot do TLS: no _tls row.)
    with SyncManager(address=("127.0.0.1", 0)) as m:
        w1(m, n, "_tcp")


def w2(m, n):
    lock = m.Lock()
    for _ in range(100):
        lock.acquire()
        lock.release()
    t = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    emit("W2", "lock_acquire_release", us_per_op(t, n), "us/pair")


def _echo(q_in, q_out, n):
    for _ in range(n):
        q_out.put(q_in.get())


def handoff(workload, metric, q_in, q_out, n):
    """W3 and W12: put to an echo process, get its echo back; n round trips."""
    p = mp.Process(target=_echo, args=(q_in, q_out, n + 10))
    p.start()
    for i in range(10):
        q_in.put(i)
        q_out.get(timeout=STEP_TIMEOUT)
    t = time.perf_counter()
    for i in range(n):
        q_in.put(i)
        q_out.get()
    emit(workload, metric, us_per_op(t, n), "us/roundtrip")
    join(p)


def _setter(d, n, ready, go):
    d.get(0)  # opens this process's connection to the manager before the clock starts
    ready.put(None)
    go.wait()
    for i in range(n):
        d[i % 100] = i


def w4(m, n, procs=8):
    d, ready, go = m.dict(), m.Queue(), m.Event()
    ps = [mp.Process(target=_setter, args=(d, n, ready, go)) for _ in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get(timeout=STEP_TIMEOUT)
    time.sleep(0.1)  # from ready.put to blocking in go.wait is a few µs; leave ample slack
    t = time.perf_counter()
    go.set()
    for p in ps:
        join(p)
    emit("W4", "dict_set_8_procs", procs * n / (time.perf_counter() - t), "ops/s")


def w5(m, n):
    d = m.dict()  # Python proxies cannot pipeline: its best one-client rate is the sync loop
    t = time.perf_counter()
    for i in range(n):
        d[i] = i
    emit("W5", "dict_set_one_client_max_rate", n / (time.perf_counter() - t), "ops/s")


def whole_array(workload, a, n_doubles, suffix="", cold=False):
    """W6 and W11: write all of `a` from an array('d'), then read all of it back."""
    mb = n_doubles * 8 / 1e6
    values = array.array('d', (float(i) for i in range(n_doubles)))
    # One untimed round first, as mp's side does: the first large write measures mostly
    # first-touch page faults (reported separately for W6 as array_write_whole_cold).
    t = time.perf_counter()
    a[:] = array.array('d', bytes(8 * n_doubles))
    if cold:
        emit(workload, "array_write_whole_cold", mb / (time.perf_counter() - t), "MB/s")
    a[:]
    t = time.perf_counter()
    a[:] = values
    emit(workload, "array_write_whole" + suffix, mb / (time.perf_counter() - t), "MB/s")
    t = time.perf_counter()
    got = a[:]
    emit(workload, "array_read_whole" + suffix, mb / (time.perf_counter() - t), "MB/s")
    assert got[-1] == values[-1]


def _server_status(pid):
    threads = rss_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return threads, rss_kb


def w8(waiters):
    # A fresh manager, as on mp's side: the RSS is what the parked waiters cost, not what
    # W5/W6 left behind in the server.
    with SyncManager() as m:
        ev = m.Event()
        server_pid = m._process.pid
        base_threads, _ = _server_status(server_pid)
        ts = [threading.Thread(target=ev.wait, args=(STEP_TIMEOUT,)) for _ in range(waiters)]
        for t in ts:
            t.start()
        # Each waiting thread has its own connection and so its own server thread.
        deadline = time.time() + STEP_TIMEOUT / 2
        while (_server_status(server_pid)[0] < base_threads + waiters
               and time.time() < deadline):
            time.sleep(0.05)
        threads, rss_kb = _server_status(server_pid)
        t0 = time.perf_counter()
        ev.set()
        for t in ts:
            t.join()
        emit("W8", "event_wake_1000_waiters", (time.perf_counter() - t0) * 1e3, "ms")
        emit("W8", "server_threads_with_1000_waiters", threads, "threads")
        emit("W8", "server_rss_with_1000_waiters", rss_kb / 1024, "MB")


def sq(x):
    return x * x


def noop():
    pass


def w7(scale):
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        # One untimed start first, as mp's side does: forkserver's first start launches the
        # fork server itself (~0.2 s), which is not the per-process cost.
        warm = ctx.Process(target=noop)
        warm.start()
        join(warm)
        n = 10
        t = time.perf_counter()
        for _ in range(n):
            p = ctx.Process(target=noop)
            p.start()
            join(p)
        emit("W7", f"process_start_join_{method}", (time.perf_counter() - t) / n * 1e3, "ms")
    with mp.Pool(2) as pool:
        pool.map(sq, range(100))
        n = max(1000, int(100000 * scale))
        t = time.perf_counter()
        pool.map(sq, range(n))
        emit("W7", "pool_map_default_chunksize", n / (time.perf_counter() - t), "tasks/s")
        n = max(1000, int(20000 * scale))
        t = time.perf_counter()
        pool.map(sq, range(n), chunksize=1)
        emit("W7", "pool_map_chunksize_1", n / (time.perf_counter() - t), "tasks/s")
        n = max(1000, int(10000 * scale))
        t = time.perf_counter()
        for r in [pool.apply_async(sq, (i,)) for i in range(n)]:
            r.get(STEP_TIMEOUT)
        emit("W7", "pool_apply_async", n / (time.perf_counter() - t), "tasks/s")


# ---- W9-W12: the server-less objects (shared memory, pipes) ------------------------------


def w9(n_locked, n_raw):
    v = mp.Value('d', 0.0)  # a c_double in shared memory plus an RLock
    t = time.perf_counter()
    for _ in range(n_locked):
        with v.get_lock():
            v.value += 1
    emit("W9", "value_locked_increment", us_per_op(t, n_locked), "us/op")
    assert v.value == n_locked
    rv = mp.RawValue('d', 0.0)  # the same without the lock
    t = time.perf_counter()
    for i in range(n_raw):
        rv.value = i
    emit("W9", "rawvalue_set", us_per_op(t, n_raw), "us/op")


def w10(n):
    lock = mp.Lock()  # a POSIX semaphore in shared memory
    t = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    emit("W10", "lock_acquire_release_local", us_per_op(t, n), "us/pair")


def w11(n_doubles):
    # A synchronized ctypes array; a[:] takes its lock once and returns a list.
    whole_array("W11", mp.Array('d', n_doubles), n_doubles, suffix="_local")


def w12(n_roundtrip, n_items, block=100):
    # A pipe plus a feeder thread per queue.
    handoff("W12", "queue_handoff_roundtrip_local", mp.Queue(), mp.Queue(), n_roundtrip)
    q = mp.Queue()
    n_items -= n_items % block
    t = time.perf_counter()
    for _ in range(n_items // block):
        for i in range(block):
            q.put(i)
        for _ in range(block):
            q.get()
    emit("W12", "queue_put_get_same_process", n_items / (time.perf_counter() - t), "ops/s")


# ---- W13: a user-defined type on a manager ------------------------------------------------


class Maths:
    def add(self, x, y):
        return x + y


class MathsManager(BaseManager):
    pass


MathsManager.register("Maths", Maths)
# The built-in dict registered the way SyncManager does it, on the same kind of manager, so
# custom_method_call / dict_set_same_manager is the cost of a user type over a built-in.
MathsManager.register("dict", dict, DictProxy)


def w13(n):
    with MathsManager() as m:
        maths, d = m.Maths(), m.dict()
        for i in range(100):
            maths.add(i, 1)
            d[i] = i
        # The two loops alternate in ten slices, as in mp_bench, so that a busy neighbour
        # slows both alike.
        rounds, custom_s, dict_s = 10, 0.0, 0.0
        n = n // rounds * rounds
        for r in range(rounds):
            block = range(n // rounds * r, n // rounds * (r + 1))
            t = time.perf_counter()
            for i in block:
                maths.add(i, 1)
            custom_s += time.perf_counter() - t
            t = time.perf_counter()
            for i in block:
                d[i % 100] = i
            dict_s += time.perf_counter() - t
        emit("W13", "custom_method_call", custom_s / n * 1e6, "us/op")
        emit("W13", "dict_set_same_manager", dict_s / n * 1e6, "us/op")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(ALL), help="comma-separated workloads")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the operation counts (e.g. 0.02 for a smoke run)")
    args = ap.parse_args()
    want = set(args.only.split(","))
    unknown = want - set(ALL)
    if unknown:
        ap.error(f"unknown workloads: {','.join(sorted(unknown))}")
    if args.scale <= 0:
        ap.error("--scale must be positive")
    k = lambda n: max(200, int(n * args.scale))
    if want & {"W1", "W2", "W3", "W4", "W5", "W6"}:
        with SyncManager() as m:
            if "W1" in want:
                w1(m, k(20000))
            if "W2" in want:
                w2(m, k(10000))
            if "W3" in want:
                handoff("W3", "queue_handoff_roundtrip", m.Queue(), m.Queue(), k(5000))
            if "W4" in want:
                w4(m, k(5000))
            if "W5" in want:
                w5(m, k(20000))
            if "W6" in want:
                n = max(1000, int(1_000_000 * args.scale))
                whole_array("W6", m.Array('d', [0.0] * n), n, cold=True)
    if "W1" in want:
        w1_tcp(k(20000))
    if "W8" in want:
        w8(1000)
    if "W9" in want:
        w9(k(200_000), k(1_000_000))
    if "W10" in want:
        w10(k(1_000_000))
    if "W11" in want:
        w11(max(1000, int(1_000_000 * args.scale)))
    if "W12" in want:
        w12(k(5000), k(50_000))
    if "W13" in want:
        w13(k(20000))
    if "W7" in want:
        w7(args.scale)


if __name__ == "__main__":
    sys.exit(main())
