"""Unit tests of mp_client against a real mp-manager server.

Needs the generated stubs on PYTHONPATH and the server binary in
$MP_MANAGER_PATH (the ctest case python_client_test sets both).
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import subprocess
import tempfile
import time
import unittest
from unittest import mock

import mp_client

START_TIMEOUT = 10.0  # seconds for the server to come up or go down


class ManagerServer:
    """An mp-manager process on a unix socket in a private directory."""

    def __init__(self) -> None:
        binary = os.environ.get("MP_MANAGER_PATH", "")
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("MP_MANAGER_PATH does not name mp-manager")
        self.dir = tempfile.mkdtemp(prefix="mp-py-test-")
        self.authkey = os.urandom(32)
        key_file = os.path.join(self.dir, "key")
        with open(key_file, "wb") as f:
            f.write(self.authkey)
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [binary, "--listen", f"unix:{self.dir}/sock",
                 "--authkey-file", key_file, "--ready-fd", str(write_fd)],
                pass_fds=(write_fd,), stdout=subprocess.DEVNULL)
            os.close(write_fd)
            # The server writes its address and a newline once serving.
            ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT)
            line = os.read(read_fd, 4096).decode() if ready else ""
        finally:
            os.close(read_fd)
        if not line.endswith("\n"):
            self.stop()
            raise RuntimeError("mp-manager did not report its address")
        self.address = line.strip()

    def stop(self) -> None:
        """Terminates the server and removes its directory."""
        self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)


class ClientTest(unittest.TestCase):
    server: ManagerServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ManagerServer()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def connect(self) -> mp_client.Session:
        session = mp_client.connect(self.server.address, self.server.authkey)
        self.addCleanup(session.close)
        return session

    def wait_for_sessions(self, session: mp_client.Session, n: int) -> None:
        """Waits (bounded) until the server counts n open sessions."""
        deadline = time.monotonic() + START_TIMEOUT
        while session.stats()["sessions"] != n:
            self.assertLess(time.monotonic(), deadline, "sessions never ended")
            time.sleep(0.01)

    def test_wrong_authkey_is_an_authentication_error(self) -> None:
        with self.assertRaises(mp_client.AuthenticationError) as cm:
            mp_client.connect(self.server.address, b"not the key")
        self.assertIn("authkey", str(cm.exception))

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

    def test_missing_key_is_a_key_error_carrying_the_key(self) -> None:
        d = self.connect().dict({"a": 1})
        with self.assertRaises(KeyError) as cm:
            d["missing"]
        self.assertEqual(cm.exception.args, ("missing",))
        with self.assertRaises(KeyError):
            del d[(1, "x")]
        self.assertIsNone(d.get("missing"))
        self.assertEqual(d.get("missing", 5), 5)
        self.assertEqual(d.pop("missing", 6), 6)

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

    def test_unsendable_values_fail_before_sending(self) -> None:
        d = self.connect().dict()
        with self.assertRaises(OverflowError):
            d["big"] = 2**63
        with self.assertRaises(TypeError):
            d["set"] = {1, 2}
        self.assertEqual(len(d), 0)

    def test_unhashable_key_is_a_type_error_from_the_server(self) -> None:
        d = self.connect().dict()
        with self.assertRaises(TypeError):
            d[[1, 2]] = 3

    def test_dict_operations(self) -> None:
        d = self.connect().dict()
        d.update({"a": 1}, b=2)
        d["c"] = 3
        self.assertEqual(len(d), 3)
        self.assertIn("b", d)
        self.assertNotIn("z", d)
        self.assertEqual(d.keys(), ["a", "b", "c"])
        self.assertEqual(d.setdefault("a", 9), 1)
        self.assertEqual(d.setdefault("z", 9), 9)
        self.assertEqual(d.pop("z"), 9)
        del d["a"]
        self.assertEqual(d.copy(), {"b": 2, "c": 3})
        self.assertEqual(list(d), ["b", "c"])
        d.clear()
        self.assertEqual(len(d), 0)

    def test_named_objects_are_shared_between_sessions(self) -> None:
        a, b = self.connect(), self.connect()
        a.named("shared-dict").dict()["x"] = [1, 2]
        self.assertEqual(b.named("shared-dict").dict()["x"], [1, 2])
        a.named("shared-q").Queue().put("item")
        self.assertEqual(b.named("shared-q").Queue().get(timeout=5), "item")
        with self.assertRaises(TypeError):
            b.named("shared-dict").Queue()
        self.assertTrue(a.named("shared-dict").remove())
        self.assertFalse(a.named("shared-dict").remove())

    def test_queue_get_timeout_is_queue_empty(self) -> None:
        q = self.connect().Queue()
        with self.assertRaises(queue.Empty):
            q.get(timeout=0.05)
        with self.assertRaises(queue.Empty):
            q.get_nowait()

    def test_bounded_queue_put_is_queue_full(self) -> None:
        q = self.connect().Queue(maxsize=1)
        q.put(1)
        self.assertTrue(q.full())
        with self.assertRaises(queue.Full):
            q.put_nowait(2)
        with self.assertRaises(queue.Full):
            q.put(2, timeout=0.05)
        self.assertEqual(q.qsize(), 1)

    def test_item_taken_stays_taken_after_the_session_ends(self) -> None:
        # The client acknowledges items it receives; unacknowledged ones
        # would go back to the queue when the session ends.
        observer = self.connect()
        q = observer.named("ack-q").Queue()
        q.put("a")
        q.put("b")
        taker = mp_client.connect(self.server.address, self.server.authkey)
        self.assertEqual(taker.named("ack-q").Queue().get(timeout=5), "a")
        taker.close()
        self.wait_for_sessions(observer, 1)
        self.assertEqual(q.qsize(), 1)
        self.assertEqual(q.get(timeout=5), "b")

    def test_release_frees_the_object(self) -> None:
        session = self.connect()
        before = session.stats()["objects"]
        d = session.dict()
        self.assertEqual(session.stats()["objects"], before + 1)
        d.release()
        self.assertEqual(session.stats()["objects"], before)
        with self.assertRaises(ValueError):
            len(d)

    def test_calls_after_close_fail(self) -> None:
        session = mp_client.connect(self.server.address, self.server.authkey)
        d = session.dict()
        session.close()
        with self.assertRaises(ConnectionError):
            len(d)


if __name__ == "__main__":
    unittest.main()
