"""The session: handshake, errors, values, references, threads, timeouts,
dead peers and lost connections, against a real mp-manager."""

from __future__ import annotations

import gc
import os
import queue
import select
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

import mp_client
from mp_client import _base, _errors
from manager_server import WAIT, ManagerServer, ServerTestCase, waiters


class HandshakeTest(ServerTestCase):

    def test_wrong_authkey_is_an_authentication_error(self) -> None:
        with self.assertRaises(mp_client.AuthenticationError) as cm:
            mp_client.connect(self.server.address, b"not the key")
        self.assertIn("authkey", str(cm.exception))

    def test_authentication_error_is_multiprocessing_s(self) -> None:
        import multiprocessing
        self.assertIs(mp_client.AuthenticationError,
                      multiprocessing.AuthenticationError)

    def test_server_rejecting_the_proof_is_an_authentication_error(
            self) -> None:
        # The server's side of the check: a client whose proof is wrong.
        with mock.patch.object(mp_client, "client_proof",
                               return_value=bytes(32)):
            with self.assertRaises(mp_client.AuthenticationError) as cm:
                mp_client.connect(self.server.address, self.server.authkey)
        self.assertIn("wrong authkey", str(cm.exception))

    def test_nothing_listening_is_a_connection_error(self) -> None:
        with self.assertRaises(ConnectionError):
            mp_client.connect(f"unix:{self.server.dir}/nobody", b"k")

    def test_str_authkey_is_a_type_error(self) -> None:
        with self.assertRaises(TypeError):
            mp_client.connect(self.server.address, "text")

    def test_session_is_a_context_manager(self) -> None:
        with mp_client.connect(self.server.address,
                               self.server.authkey) as s:
            d = s.dict(a=1)
            self.assertEqual(d["a"], 1)
            self.assertFalse(s.closed)
        self.assertTrue(s.closed)
        with self.assertRaises(ConnectionError):
            len(d)
        s.close()  # idempotent


class ErrorsTest(ServerTestCase):

    def test_error_table_maps_server_names_to_python_exceptions(self) -> None:
        import multiprocessing
        cases = {
            "KeyError": KeyError, "IndexError": IndexError,
            "TypeError": TypeError, "ValueError": ValueError,
            "RuntimeError": RuntimeError, "TimeoutError": TimeoutError,
            "AttributeError": AttributeError, "MemoryError": MemoryError,
            "ConnectionError": ConnectionError, "Empty": queue.Empty,
            "Full": queue.Full,
            "BrokenBarrierError": threading.BrokenBarrierError,
            "AuthenticationError": multiprocessing.AuthenticationError,
            "ReferenceError": ReferenceError,
            "PermissionError": PermissionError,
            "ZeroDivisionError": ZeroDivisionError,
        }
        for name, cls in cases.items():
            self.assertIsInstance(_errors.error_from_wire(name, "m"), cls,
                                  name)
        other = _errors.error_from_wire("Strange", "m", "tb")
        self.assertIsInstance(other, mp_client.RemoteError)
        self.assertEqual((other.type_name, other.message, other.traceback),
                         ("Strange", "m", "tb"))

    def test_every_server_error_name_has_a_python_exception(self) -> None:
        # The names come from the proto's Error.Type, shared with C++.
        from mp_client._proto import session_pb2
        names = set(session_pb2.Error.Type.keys()) - {"TYPE_UNSPECIFIED"}
        self.assertEqual(set(_errors.ERROR_TYPES), names)
        for name in names:
            self.assertNotIsInstance(_errors.error_from_wire(name, "m"),
                                     mp_client.RemoteError, name)

    def test_too_deep_a_value_is_refused_before_sending(self) -> None:
        d = self.connect().dict()
        deep: list = []
        for _ in range(40):
            deep = [deep]
        with self.assertRaises(ValueError) as cm:
            d["deep"] = deep
        self.assertIn("nested more than 32", str(cm.exception))
        ok: list = []
        for _ in range(31):
            ok = [ok]
        d["ok"] = ok  # 32 levels: accepted, and the session carries on
        self.assertEqual(len(d), 1)

    def test_missing_key_is_a_key_error_carrying_the_key(self) -> None:
        d = self.connect().dict({"a": 1})
        with self.assertRaises(KeyError) as cm:
            d["missing"]
        self.assertEqual(cm.exception.args, ("missing",))
        with self.assertRaises(KeyError) as cm:
            del d[(1, "x")]
        self.assertEqual(cm.exception.args, ((1, "x"),))

    def test_unsendable_values_fail_before_sending(self) -> None:
        d = self.connect().dict()
        with self.assertRaises(OverflowError):
            d["big"] = 2**63
        with self.assertRaises(TypeError):
            d["set"] = {1, 2}
        with self.assertRaises(TypeError):
            d["obj"] = object()
        self.assertEqual(len(d), 0)

    def test_unhashable_key_is_a_type_error_from_the_server(self) -> None:
        d = self.connect().dict()
        with self.assertRaises(TypeError):
            d[[1, 2]] = 3

    def test_proxy_of_another_session_is_refused(self) -> None:
        a, b = self.connect(), self.connect()
        with self.assertRaises(ValueError):
            b.dict()["x"] = a.Lock()

    def test_proxies_cannot_be_pickled(self) -> None:
        import pickle
        with self.assertRaises(TypeError):
            pickle.dumps(self.connect().Lock())


class ValuesTest(ServerTestCase):

    def test_values_round_trip(self) -> None:
        d = self.connect().dict()
        values = [
            None, True, False, 0, -(2**63), 2**63 - 1, 0.1, -0.0, "",
            "h\u00e9llo \U0001f600", b"", b"\x00\xff", [], (), {},
            [1, [2, (3, "four")], {"five": 5.0, (6, 7): None}],
        ]
        for i, v in enumerate(values):
            d[i] = v
        self.assertEqual(d.values(), values)
        for i, v in enumerate(values):
            self.assertEqual(type(d[i]), type(v), repr(v))
        self.assertEqual(d.items(), list(enumerate(values)))

    def test_proxies_in_containers_come_back_live_and_typed(self) -> None:
        s = self.connect()
        made = {
            "dict": s.dict(a=1), "list": s.list([1]), "ns": s.Namespace(x=1),
            "lock": s.Lock(), "rlock": s.RLock(), "sem": s.Semaphore(2),
            "bsem": s.BoundedSemaphore(2), "cond": s.Condition(),
            "event": s.Event(), "barrier": s.Barrier(2), "queue": s.Queue(),
            "jq": s.JoinableQueue(), "value": s.Value("i", 5),
            "array": s.Array("d", [1.5, 2.5]),
        }
        d = s.dict()
        d.update(made)
        lst = s.list(list(made.values()))
        nested = s.dict({"deep": [{"lock": made["lock"]}]})
        for i, (key, original) in enumerate(made.items()):
            for back in (d[key], lst[i]):
                self.assertIs(type(back), type(original), key)
                self.assertEqual(back._id, original._id)
        self.assertIsInstance(nested["deep"][0]["lock"], mp_client.LockProxy)
        # Usable, and the same objects.
        d["event"].set()
        self.assertTrue(made["event"].is_set())
        self.assertEqual(lst[-2].value, 5)
        self.assertEqual(d["array"][:], [1.5, 2.5])
        self.assertTrue(d["lock"].acquire(timeout=WAIT))
        self.assertFalse(made["lock"].acquire(blocking=False))
        made["lock"].release()
        self.assertEqual(d["ns"].x, 1)
        d["jq"].put("x")
        self.assertEqual(made["jq"].get(timeout=WAIT), "x")


class ReferencesTest(ServerTestCase):

    def test_release_frees_the_object(self) -> None:
        session = self.connect()
        before = session.stats()["objects"]
        d = session.dict()
        self.assertEqual(session.stats()["objects"], before + 1)
        mp_client.release(d)
        self.assertEqual(session.stats()["objects"], before)
        with self.assertRaises(ValueError):
            len(d)
        self.assertIn("released", repr(d))

    def test_garbage_collected_proxies_release_their_reference(self) -> None:
        session = self.connect()
        before = session.stats()["objects"]
        proxies = [session.list(), session.Lock(), session.Queue()]
        self.assertEqual(session.stats()["objects"], before + 3)
        del proxies
        gc.collect()
        self.assertEqual(session.stats()["objects"], before)

    def test_a_proxy_read_back_is_one_more_reference(self) -> None:
        session = self.connect()
        holder = session.dict()
        holder["ev"] = session.Event()  # the temporary proxy is released
        objects = session.stats()["objects"]
        ev = holder["ev"]
        del holder
        gc.collect()
        # The dict is gone; the Event lives on through the proxy read back.
        self.assertEqual(session.stats()["objects"], objects - 1)
        ev.set()
        self.assertTrue(ev.is_set())

    def test_item_taken_stays_taken_after_the_session_ends(self) -> None:
        # The client acknowledges items it receives; unacknowledged ones
        # would go back to the queue when the session ends.
        observer = self.connect()
        q = observer.named("ack-q").Queue()
        q.put("a")
        q.put("b")
        taker = self.server.connect()
        self.assertEqual(taker.named("ack-q").Queue().get(timeout=WAIT), "a")
        taker.close()
        self.wait_for_sessions(observer, 1)
        self.assertEqual(q.qsize(), 1)
        self.assertEqual(q.get(timeout=WAIT), "b")

    def test_calls_after_close_fail(self) -> None:
        session = self.server.connect()
        d = session.dict()
        session.close()
        with self.assertRaises(ConnectionError):
            len(d)


class ThreadsTest(ServerTestCase):

    def test_threads_share_a_session(self) -> None:
        s = self.connect()
        lk, v, counter = s.Lock(), s.Value("i", 0), s.Value("q", 0)
        n_threads, rounds = 6, 20
        errors: list = []

        def work() -> None:
            try:
                for _ in range(rounds):
                    with lk:  # get + set under the lock: no lost update
                        v.value += 1
                    counter.fetch_add(1)
            except BaseException as e:  # noqa: BLE001 - checked below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(v.value, n_threads * rounds)
        self.assertEqual(counter.value, n_threads * rounds)

    def test_a_blocked_call_does_not_block_other_threads(self) -> None:
        s = self.connect()
        q = s.Queue()
        got: queue.Queue = queue.Queue()
        t = threading.Thread(target=lambda: got.put(q.get(timeout=WAIT)))
        t.start()
        self.wait_until(lambda: waiters(q)["getters"] == 1, "get parked")
        d = s.dict(x=1)  # other calls go through meanwhile
        self.assertEqual(d["x"], 1)
        q.put("item")
        self.assertEqual(got.get(timeout=WAIT), "item")
        t.join(timeout=WAIT)


class TimeoutsTest(ServerTestCase):

    def test_no_reply_within_the_client_deadline_is_a_timeout_error(
            self) -> None:
        ev = self.connect().Event()
        # The client waits timeout + BLOCKING_MARGIN for the server's
        # answer: with a margin of -2.9 s it gives up after 0.1 s, long
        # before the server answers at 3 s.
        with mock.patch.object(_base, "BLOCKING_MARGIN", -2.9):
            start = time.monotonic()
            with self.assertRaises(TimeoutError):
                ev.wait(timeout=3.0)
            self.assertLess(time.monotonic() - start, 2.5)
        # The session carries on; the late reply is dropped.
        self.assertFalse(ev.wait(timeout=0.01))
        self.assertFalse(ev.is_set())

    def test_default_deadline_is_five_minutes(self) -> None:
        self.assertEqual(mp_client.DEFAULT_CALL_TIMEOUT, 300.0)


# A client that takes a named lock, says so, and waits for its end.
_HOLDER = r"""
import sys, mp_client
s = mp_client.connect(sys.argv[1], bytes.fromhex(sys.argv[2]))
lk = s.named(sys.argv[3]).Lock()
assert lk.acquire(timeout=10)
print("holding", flush=True)
sys.stdin.read()  # until killed (or stdin closes)
"""


class DeadPeerTest(ServerTestCase):

    def start_holder(self, name: str) -> subprocess.Popen:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(sys.path)
        child = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, self.server.address,
             self.server.authkey.hex(), name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.addCleanup(child.wait, timeout=WAIT)
        self.addCleanup(child.kill)
        ready, _, _ = select.select([child.stdout], [], [], WAIT)
        self.assertTrue(ready, "the holder never took the lock")
        self.assertEqual(child.stdout.readline(), b"holding\n")
        return child

    def test_process_killed_holding_a_lock_releases_it(self) -> None:
        s = self.connect()
        lk = s.named("dead-peer-lock").Lock()
        child = self.start_holder("dead-peer-lock")
        self.assertFalse(lk.acquire(blocking=False))
        # A waiter parked before the death gets the lock once it happens.
        got: queue.Queue = queue.Queue()
        t = threading.Thread(target=lambda: got.put(lk.acquire(timeout=WAIT)))
        t.start()
        self.wait_until(lambda: waiters(lk)["waiters"] == 1, "acquire parked")
        child.kill()
        child.wait(timeout=WAIT)
        self.assertTrue(got.get(timeout=WAIT + 5))
        t.join(timeout=WAIT)
        lk.release()
        self.assertTrue(lk.acquire(timeout=WAIT))
        lk.release()


class LostSessionTest(unittest.TestCase):

    def test_server_killed_is_a_connection_error_for_every_call(self) -> None:
        server = ManagerServer()
        self.addCleanup(server.stop)
        s = server.connect()
        self.addCleanup(s.close)
        q = s.Queue()
        outcome: queue.Queue = queue.Queue()

        def blocked() -> None:
            try:
                q.get(timeout=60)
                outcome.put("got an item")
            except BaseException as e:  # noqa: BLE001 - checked below
                outcome.put(e)

        t = threading.Thread(target=blocked)
        t.start()
        server.kill()
        self.assertIsInstance(outcome.get(timeout=WAIT), ConnectionError)
        t.join(timeout=WAIT)
        with self.assertRaises(ConnectionError):
            q.qsize()
        with self.assertRaises(ConnectionError):
            s.dict()

    def test_shutdown_is_refused_unless_the_server_allows_it(self) -> None:
        server = ManagerServer()
        self.addCleanup(server.stop)
        s = server.connect()
        self.addCleanup(s.close)
        with self.assertRaisesRegex(PermissionError, "--allow-client-shutdown"):
            s.shutdown()
        d = s.dict()  # the refused request left the server serving
        d["k"] = 1
        self.assertEqual(d["k"], 1)
        self.assertIsNone(server.process.poll())

    def test_shutdown_stops_the_server(self) -> None:
        server = ManagerServer("--allow-client-shutdown")
        self.addCleanup(server.stop)
        s = server.connect()
        self.addCleanup(s.close)
        s.shutdown()
        self.assertEqual(server.process.wait(timeout=WAIT), 0)
        with self.assertRaises(ConnectionError):
            s.dict()


if __name__ == "__main__":
    unittest.main()
