"""The Python half of the cross-language demo (run by cxx_peer).

cxx_peer embeds an mp manager server and runs C++ worker processes that
square the integers they take from the named Queue "jobs" into the named
dict "results".  This script connects to the same server with the authkey,
feeds the jobs, waits for the workers, checks their results and exchanges
values of several types with C++ through the named dict "typed".

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
        if got != expected or sum(done_counts) != n_jobs:
            return 1
    print("python: done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
