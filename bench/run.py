#!/usr/bin/env python3
"""Runs mp, Python, Redis and the raw-socket floor on the same workloads; prints one table.

Sides, each run --repeat times in alternation (so machine noise hits all alike), keeping each
side's best value per metric:
  mp       build/bench/mp_bench, once per transport in --transports (--transport T); an
           mp_bench without that flag runs once and is labelled grpc
  Python   bench/python_side.py (Python 3.11's multiprocessing, the same workloads)
  Redis    Debian's redis-server on a private unix socket, driven by redis-benchmark
           (W1 set/get -c 1, W4 -c 8, W5 -P 16); skipped with --no-redis
  floor    build/bench/mp_bench_floor: a 32-byte ping-pong between two processes
Ratios are "how many times better mp is": >1 means mp wins, whatever the unit (cost units
such as us/op: other / mp; rates, units ending in /s: mp / other). bench/README.md has the
workload table and the latest results.
"""
import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ALL = "W1,W2,W3,W4,W5,W6,W7,W8,W9,W10,W11,W12,W13"

# The floor column: which of mp_bench_floor's round trips is the physical minimum of a row.
# Each of these rows costs at least one round trip between two processes per operation. The
# ratios are taken against the mp local column, whose transport polls for its reply before it
# blocks (common/busy_poll.h), so a same-host row's floor is the socketpair ping-pong that polls
# the same way; the blocking one stands in where that is missing (one CPU: neither polls there).
UNIX_FLOOR = ("roundtrip_unix_socket_busy_poll", "roundtrip_unix_socket")
TCP_FLOOR = ("roundtrip_tcp_loopback",)
FLOOR_FOR = {
    ("W1", "dict_set"): UNIX_FLOOR,
    ("W1", "dict_get"): UNIX_FLOOR,
    ("W1", "dict_set_tcp"): TCP_FLOOR,
    ("W1", "dict_get_tcp"): TCP_FLOOR,
    ("W1", "dict_set_tls"): TCP_FLOOR,
    ("W1", "dict_get_tls"): TCP_FLOOR,
    ("W2", "lock_acquire_release"): UNIX_FLOOR,
    ("W3", "queue_handoff_roundtrip"): UNIX_FLOOR,
    ("W12", "queue_handoff_roundtrip_local"): UNIX_FLOOR,
    ("W13", "custom_method_call"): UNIX_FLOOR,
    ("W13", "dict_set_same_manager"): UNIX_FLOOR,
}


def floor_of(best, key):
    """The floor column's value for a row: its first FLOOR_FOR round trip that was measured."""
    if key not in FLOOR_FOR:
        return best.get((key, "floor"))
    for metric in FLOOR_FOR[key]:
        value = best.get((("W1", metric), "floor"))
        if value is not None:
            return value
    return None


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def higher_is_better(unit):
    return unit.endswith("/s")


def better(unit, a, b):
    return max(a, b) if higher_is_better(unit) else min(a, b)


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(unit, mine, theirs):
    """How many times better `mine` (mp) is than `theirs`; None if either is missing."""
    if not mine or not theirs:
        return None
    return mine / theirs if higher_is_better(unit) else theirs / mine


def fmt_ratio(r, mark=""):
    if r is None:
        return "n/a"
    digits = 1 if r >= 10 else 2 if r >= 0.1 else 3
    return f"{r:.{digits}f}x{mark}"


def live_members(pgid):
    """Pids in process group `pgid` that are still running (zombies excluded)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ")".
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_cmd(label, cmd, env, timeout, on_line=None):
    """Runs cmd in its own process group with stderr passed through; returns its stdout lines,
    or None if it failed or timed out (the whole group is killed then)."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
    except OSError as e:
        progress(f"  {label}: cannot run {cmd[0]}: {e}")
        return None
    lines = []

    def read():  # a thread, so a silent child cannot block the timeout
        for line in proc.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.wait()
        reader.join(10)
        progress(f"  {label}: timed out after {timeout} s, killed")
        return None
    except BaseException:
        # Ctrl-C: the side is in its own session, so the terminal's SIGINT did not reach it.
        kill_group(proc.pid)
        raise
    # Anything still running in the group a while after its leader is gone was leaked by it
    # (a manager, an echo child): kill it, so one side cannot slow down the next. The while
    # is for helpers that end on their own once they see the leader's pipes close (Python's
    # forkserver and resource tracker).
    deadline = time.monotonic() + 3
    while live_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if live_members(proc.pid):
        progress(f"  note: {label} left processes behind; killing them")
        kill_group(proc.pid)
    reader.join(10)
    if rc != 0:
        progress(f"  {label}: exited with status {rc}")
        return None
    return lines


def json_side(label, cmd, env, timeout):
    """A side that prints mp_bench's JSON lines; returns its rows or None on failure."""
    rows = []

    def on_line(line):
        if not line.startswith("{"):
            return
        try:
            row = json.loads(line)
            value = float(row["value"])
            key = (row["workload"], row["metric"], row["unit"])
        except (ValueError, KeyError, TypeError):
            progress(f"  {label}: ignoring malformed line {line.strip()!r}")
            return
        rows.append((key, value))
        progress(f"  {label:<8} {key[0]:<4} {key[1]:<34} {fmt(value):>10} {key[2]}")
    return rows if run_cmd(label, cmd, env, timeout, on_line) is not None else None


# ---- Redis ------------------------------------------------------------------------------


def ensure_redis():
    """True if redis-server and redis-benchmark are there, installing them with apt-get when
    root; Redis is only ever needed by this script, never by the build or the tests."""
    if shutil.which("redis-server") and shutil.which("redis-benchmark"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        progress("note: redis-server/redis-benchmark not installed and not root: Redis "
                 "column is n/a (apt-get install redis-server to fill it)")
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "redis-server"]
    for attempt in ([install], [["apt-get", "update"], install]):
        progress(f"installing Redis: {' / '.join(' '.join(c) for c in attempt)}")
        try:
            if all(subprocess.run(c, env=env, stdout=subprocess.DEVNULL,
                                  timeout=600).returncode == 0 for c in attempt):
                break
        except subprocess.TimeoutExpired:
            progress("  apt-get timed out")
    if shutil.which("redis-server") and shutil.which("redis-benchmark"):
        return True
    progress("note: could not install redis-server: Redis column is n/a")
    return False


class RedisServer:
    """redis-server on a unix socket in a temp dir, no persistence, stopped on exit."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="mp-bench-redis-")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock, "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.ping():
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1)
                s.connect(self.sock)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis exits at once (nothing to save)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_side(sock, want, scale, timeout):
    """redis-benchmark's rates as rows keyed like mp's metrics; None if any run failed."""
    n = max(1000, int(100_000 * scale))
    runs = []  # (workload it stands for, redis-benchmark arguments)
    if "W1" in want:  # one client, one command at a time; 100 keys like W1's i % 100
        runs.append(("W1", ["-t", "set,get", "-c", "1", "-r", "100", "-n", str(n)]))
    if "W4" in want:  # 8 connections (from one redis-benchmark process)
        runs.append(("W4", ["-t", "set", "-c", "8", "-r", "100", "-n", str(n)]))
    if "W5" in want:  # one client, 16 commands in flight; distinct keys like W5's d.set(i, i)
        runs.append(("W5", ["-t", "set", "-c", "1", "-P", "16", "-r", str(2 * n),
                            "-n", str(2 * n)]))
    rows = []
    for workload, extra in runs:
        label = f"redis {workload}"
        lines = run_cmd(label, ["redis-benchmark", "-s", sock, "--csv"] + extra, None,
                        timeout)
        if lines is None:
            return None
        rates = {}
        table = list(csv.reader(lines))
        if table and "rps" in table[0]:
            col = table[0].index("rps")
            rates = {r[0]: float(r[col]) for r in table[1:] if len(r) > col}
        if not rates:
            progress(f"  {label}: no rates in redis-benchmark's output")
            return None
        if workload == "W1":
            got = [(("W1", "dict_set", "us/op"), 1e6 / rates["SET"]),
                   (("W1", "dict_get", "us/op"), 1e6 / rates["GET"])]
        elif workload == "W4":
            got = [(("W4", "dict_set_8_procs", "ops/s"), rates["SET"])]
        else:
            got = [(("W5", "dict_set_one_client_max_rate", "ops/s"), rates["SET"])]
        for key, value in got:
            progress(f"  {'redis':<8} {key[0]:<4} {key[1]:<34} {fmt(value):>10} {key[2]}")
        rows += got
    return rows


# ---- the table ----------------------------------------------------------------------------


def mp_knows_transport(bench, env):
    try:
        out = subprocess.run([bench, "--help"], capture_output=True, text=True, env=env,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--transport" in out.stdout + out.stderr


def workload_order(key):
    workload, metric = key
    return (int(workload[1:]) if workload[1:].isdigit() else 999, workload, metric)


def make_table(best, units, mp_columns):
    """best: {(key, impl): value}; impl is "mp <transport>", "python", "redis" or "floor"."""
    base = mp_columns[0]
    others = mp_columns[1:]
    head = ([f"mp {t}" for t in mp_columns] + ["Python", "Redis", "floor"] +
            [f"mp {base} vs {x}" for x in ("Python", "Redis", "floor")])
    lines = ["| workload | metric | unit | " + " | ".join(head) + " |",
             "|---|---|---|" + "---:|" * len(head)]
    for key in sorted(units, key=workload_order):
        unit = units[key]
        mp_values = [best.get((key, f"mp {t}")) for t in mp_columns]
        python, redis = best.get((key, "python")), best.get((key, "redis"))
        floor = floor_of(best, key)
        # The ratios are taken from the first mp column; where it has no value (a transport
        # mp_bench does not have yet, or a metric only another transport prints), from the
        # next one that has, marked with that transport's name.
        mine, mark = mp_values[0], ""
        if mine is None:
            for t, v in zip(others, mp_values[1:]):
                if v is not None:
                    mine, mark = v, f" ({t})"
                    break
        cells = ([fmt(v) for v in mp_values] + [fmt(python), fmt(redis), fmt(floor)] +
                 [fmt_ratio(ratio(unit, mine, x), mark) for x in (python, redis, floor)])
        lines.append(f"| {key[0]} | {key[1]} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="From a clone: cmake -S . -B build -G Ninja && "
               "cmake --build build --target mp_bench mp_bench_floor mp-manager && bench/run.py")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the CMake build directory (default: ./build in the repository)")
    ap.add_argument("--only", default=ALL, help=f"comma-separated workloads (default {ALL})")
    ap.add_argument("--scale", type=float, help="multiply every op count (default 1.0)")
    ap.add_argument("--repeat", type=int, help="alternating runs per side, best kept "
                    "(default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: --scale 0.02 --repeat 1 unless given")
    ap.add_argument("--transports", default="grpc,local",
                    help="mp_bench --transport values to run, one mp column each "
                    "(default grpc,local)")
    ap.add_argument("--interleave", action="store_true",
                    help="run each workload on its own and alternate the sides per workload, "
                    "not per whole run: on a busy machine the sides of one row then run "
                    "seconds apart instead of minutes, but every workload runs in a fresh "
                    "process (W7 no longer follows W6)")
    ap.add_argument("--no-redis", action="store_true", help="skip Redis (no server started)")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor")
    ap.add_argument("--no-python", action="store_true", help="skip Python's side")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds any one side's run may take before it is killed "
                    "(default 900)")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args()
    scale = args.scale if args.scale is not None else 0.02 if args.quick else 1.0
    repeat = args.repeat if args.repeat is not None else 1 if args.quick else 3
    if scale <= 0 or repeat < 1:
        ap.error("--scale must be positive and --repeat at least 1")
    want = [w for w in args.only.split(",") if w]
    bad = set(want) - set(ALL.split(","))
    if bad:
        ap.error(f"unknown workloads: {','.join(sorted(bad))}")

    bench = os.path.join(args.build, "bench", "mp_bench")
    floor_bin = os.path.join(args.build, "bench", "mp_bench_floor")
    env = dict(os.environ)
    env.setdefault("MP_MANAGER_PATH", os.path.join(args.build, "server", "mp-manager"))
    failed = []

    # The sides, as (label, the workloads it has or None for all, function taking a list of
    # workloads and returning rows or None).
    sides = []
    transports = [t for t in args.transports.split(",") if t]

    def json_cmd_side(label, cmd):
        return lambda todo: json_side(label, cmd + ["--only", ",".join(todo), "--scale",
                                                    str(scale)], env, args.timeout)
    if not os.path.exists(bench):
        progress(f"note: {bench} not built (cmake --build {args.build} --target mp_bench "
                 "mp-manager): mp columns are n/a")
        failed.append("mp (not built)")
        mp_columns = transports or ["grpc"]
    elif mp_knows_transport(bench, env):
        mp_columns = transports
        for t in transports:
            sides.append((f"mp {t}", None,
                          json_cmd_side(f"mp {t}", [bench, "--transport", t])))
    else:
        progress("note: mp_bench has no --transport flag: one run, labelled grpc")
        sides.append(("mp grpc", None, json_cmd_side("mp grpc", [bench])))
        mp_columns = transports if "grpc" in transports else transports + ["grpc"]
    # local first: it is the transport the ratios are about once mp_bench has it.
    mp_columns = sorted(mp_columns, key=lambda t: t != "local")
    if not args.no_python:
        sides.append(("python", None, json_cmd_side(
            "python", [sys.executable, os.path.join(HERE, "python_side.py")])))
    floor_workloads = {k[0] for k in FLOOR_FOR}
    if not args.no_floor and floor_workloads & set(want):
        if os.path.exists(floor_bin):
            cmd = [floor_bin, "--scale", str(scale),
                   "--timeout", str(int(max(1, min(args.timeout, 120))))]
            sides.append(("floor", floor_workloads,
                          lambda todo: json_side("floor", cmd, env, args.timeout)))
        else:
            progress(f"note: {floor_bin} not built (--target mp_bench_floor): floor is n/a")
    redis = None
    if not args.no_redis and {"W1", "W4", "W5"} & set(want) and ensure_redis():
        redis = RedisServer()

    best, units = {}, {}
    start_load = os.getloadavg()

    def record(impl, rows):
        for (workload, metric, unit), value in rows:
            key = (workload, metric)
            if units.setdefault(key, unit) != unit:
                progress(f"  note: {impl} reports {workload} {metric} in {unit}, others in "
                         f"{units[key]}; ignored")
                continue
            old = best.get((key, impl))
            best[(key, impl)] = value if old is None else better(unit, old, value)
    try:
        if redis:
            try:
                redis.__enter__()
                sides.append(("redis", {"W1", "W4", "W5"},
                              lambda todo: redis_side(redis.sock, set(todo), scale,
                                                      args.timeout)))
            except (OSError, RuntimeError) as e:
                progress(f"note: Redis column is n/a: {e}")
                failed.append("redis")
                redis = None
        groups = [[w] for w in want] if args.interleave else [want]
        for r in range(repeat):
            for g, group in enumerate(groups):
                # Rotate the order each time, so no side always runs first (or right after
                # the heaviest one).
                turn = (r + g) % len(sides) if sides else 0
                for label, covers, side in sides[turn:] + sides[:turn]:
                    todo = [w for w in group if covers is None or w in covers]
                    if not todo:
                        continue
                    progress(f"[run {r + 1}/{repeat}] {label} ({','.join(todo)}, "
                             f"scale {scale})")
                    rows = side(todo)
                    if rows is None:
                        failed.append(label)
                        continue
                    record(label, rows)
    finally:
        if redis:
            redis.__exit__()

    table = make_table(best, units, mp_columns)
    print(table)
    if args.markdown:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(args.markdown, "w") as f:
            f.write(f"<!-- bench/run.py {' '.join(sys.argv[1:])}: {stamp}, commit "
                    f"{git_commit()}, scale {scale}, best of {repeat}, {os.cpu_count()} "
                    f"CPUs, load average {start_load[0]:.1f} at the start and "
                    f"{os.getloadavg()[0]:.1f} at the end -->\n")
            f.write(table + "\n")
    if failed:
        progress(f"failed: {', '.join(sorted(set(failed)))}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the running side and Redis are already stopped
        progress("interrupted")
        sys.exit(130)
