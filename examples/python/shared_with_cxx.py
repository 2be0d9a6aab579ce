"""The Python half of the cross-language demo (run by cxx_peer).

cxx_peer embeds an mp manager server and runs C++ worker processes that
square the integers they take from the named Queue "jobs" into the named
dict "results", and a C++ "sync peer" process.  This script connects to the
same server with the authkey (the mp_client package), feeds the jobs, waits
for the workers, checks their results, exchanges values of several types
with C++ through the named dict "typed", and shares a Lock, two Events, a
JoinableQueue and a Value with the sync peer.

    shared_with_cxx.py ADDRESS        (authkey: hex in $MP_AUTHKEY)

The output is deterministic (the test compares it byte for byte).
"""

from __future__ import annotations

import os
import queue
import sys

import mp_client

# Bounds on every wait: nothing here should take more than a few seconds.
GET_TIMEOUT = 30.0


def share_sync_objects(session: mp_client.Session) -> bool:
    """A Lock, Events, a JoinableQueue and a Value shared with the C++ sync
    peer (SyncPeer in cxx_peer.cc); True if all went as expected."""
    lock = session.named("py_lock").Lock()
    cxx_has_lock = session.named("cxx_has_lock").Event()
    python_tried = session.named("python_tried").Event()
    tasks = session.named("tasks").JoinableQueue()
    counter = session.named("counter").Value("i", 0)

    # C++ holds the Lock until we have tried it.
    has_lock = cxx_has_lock.wait(timeout=GET_TIMEOUT)
    print(f"python: C++ has the lock: {has_lock}")
    print("python: lock.acquire(timeout=0.1) while C++ holds it: "
          f"{lock.acquire(timeout=0.1)}")
    python_tried.set()
    # C++ adds 10 to the counter and releases: our acquire returns then.
    if not lock.acquire(timeout=GET_TIMEOUT):
        print("python: the lock never came free")
        return False
    try:
        print(f"python: got the lock after C++; counter = {counter.value}")
        counter.value += 1  # under the lock: no lost update
        # C++ takes the first task at once and waits for the lock we hold.
        for n in range(1, 6):
            tasks.put(n)
        tasks.put(None)
    finally:
        lock.release()
    # C++ does each task under the lock and marks it done.
    print(f"python: tasks.join(): {tasks.join(timeout=GET_TIMEOUT)}")
    print(f"python: counter after C++ did the tasks: {counter.value}")
    return counter.value == 10 + 1 + 15


def main(argv: list[str]) -> int:
    """Runs the demo against the server at argv[1]; returns the exit code."""
    if len(argv) != 2:
        print(f"usage: {argv[0]} ADDRESS  (authkey: hex in $MP_AUTHKEY)",
              file=sys.stderr)
        return 2
    address = argv[1]
    authkey = bytes.fromhex(os.environ["MP_AUTHKEY"])

    with mp_client.connect(address, authkey) as session:
        # Get-or-create by name: the same objects the C++ program made.
        results = session.named("results").dict()
        typed = session.named("typed").dict()
        jobs = session.named("jobs").Queue()
        done = session.named("done").Queue()
        to_python = session.named("to_python").Queue()

        # C++ -> Python: a dict value and a queue item (the get is
        # acknowledged, so the item stays taken when this session ends).
        config = typed["config"]
        print(f"python: config from C++: {config!r}")
        greeting = to_python.get(timeout=GET_TIMEOUT)
        print(f"python: greeting from C++: {greeting!r}")
        n_jobs, n_workers = config["jobs"], config["workers"]

        # The jobs, then one stop marker per worker.
        for n in range(n_jobs):
            jobs.put(n)
        for _ in range(n_workers):
            jobs.put(None)

        # Each worker reports how many jobs it did once it met its stop
        # marker, after writing its results: an event to wait for, not a
        # condition to poll.
        done_counts = [done.get(timeout=GET_TIMEOUT) for _ in range(n_workers)]
        print(f"python: {n_workers} workers did {sum(done_counts)} jobs")
        got = results.copy()
        expected = {n: n * n for n in range(n_jobs)}
        print(f"python: results == {{n: n*n for n < {n_jobs}}}: "
              f"{got == expected}")
        print(f"python: sum of squares: {sum(results.values())}")

        sync_ok = share_sync_objects(session)

        # Python -> C++: values of every kind of the typed contract.
        typed.update({
            "str": "h\u00e9llo from Python",
            "float": 2.5,
            "nested": [1, [2, 3], (4, "five"), {"six": 6.0}],
            "bytes": b"\x00\xffmp",
            "none": None,
            "bool": True,
        })
        print(f"python: typed keys: {sorted(typed.keys())}")
        print(f"python: typed['nested'] round trip: {typed['nested']!r}")

        # Server errors become the Python exceptions one expects.
        try:
            typed["missing"]
        except KeyError as e:
            print(f"python: KeyError {e}")
        try:
            to_python.get(timeout=0.05)
        except queue.Empty:
            print("python: queue.Empty from an empty queue")
        if got != expected or sum(done_counts) != n_jobs or not sync_ok:
            return 1
    print("python: done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
