"""Queue and JoinableQueue proxies against a real mp-manager, with
queue.Queue's signatures and exceptions."""

from __future__ import annotations

import queue
import threading
import time
import unittest

import mp_client
from manager_server import WAIT, ServerTestCase, waiters

SHORT = 0.05


class QueueTest(ServerTestCase):

    def test_fifo_and_sizes(self) -> None:
        q = self.connect().Queue()
        self.assertIsInstance(q, mp_client.QueueProxy)
        self.assertTrue(q.empty())
        for item in (1, "two", [3], None):
            q.put(item)
        q.put_nowait((5,))
        self.assertEqual(q.qsize(), 5)
        self.assertFalse(q.empty())
        self.assertFalse(q.full())
        self.assertEqual([q.get(), q.get(timeout=WAIT), q.get(False),
                          q.get_nowait(), q.get(block=True, timeout=WAIT)],
                         [1, "two", [3], None, (5,)])

    def test_get_timeout_is_queue_empty(self) -> None:
        q = self.connect().Queue()
        start = time.monotonic()
        with self.assertRaises(queue.Empty):
            q.get(timeout=SHORT)
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        with self.assertRaises(queue.Empty):
            q.get_nowait()
        with self.assertRaises(queue.Empty):
            q.get(block=False, timeout=WAIT)  # timeout ignored
        with self.assertRaises(ValueError):
            q.get(timeout=-1)

    def test_bounded_queue_put_is_queue_full(self) -> None:
        q = self.connect().Queue(maxsize=1)
        q.put(1)
        self.assertTrue(q.full())
        with self.assertRaises(queue.Full):
            q.put_nowait(2)
        start = time.monotonic()
        with self.assertRaises(queue.Full):
            q.put(2, timeout=SHORT)
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        self.assertEqual(q.qsize(), 1)

    def test_blocked_put_and_get_complete(self) -> None:
        q = self.connect().Queue(1)
        q.put("first")
        put_done = threading.Event()

        def putter() -> None:
            q.put("second", timeout=WAIT)
            put_done.set()

        threading.Thread(target=putter, daemon=True).start()
        self.wait_until(lambda: waiters(q)["putters"] == 1, "put parked")
        self.assertEqual(q.get(timeout=WAIT), "first")
        self.assertTrue(put_done.wait(WAIT))
        self.assertEqual(q.get(timeout=WAIT), "second")

    def test_plain_queue_has_no_task_done(self) -> None:
        q = self.connect().Queue()
        with self.assertRaises(TypeError):
            q.task_done()
        with self.assertRaises(TypeError):
            q.join(timeout=SHORT)


class JoinableQueueTest(ServerTestCase):

    def test_task_done_and_join(self) -> None:
        s = self.connect()
        jq = s.JoinableQueue()
        self.assertIsInstance(jq, mp_client.JoinableQueueProxy)
        self.assertTrue(jq.join(timeout=0))  # nothing unfinished
        for n in range(3):
            jq.put(n)
        start = time.monotonic()
        self.assertFalse(jq.join(timeout=SHORT))
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        done = []

        def worker() -> None:
            for _ in range(3):
                done.append(jq.get(timeout=WAIT))
                jq.task_done()

        t = threading.Thread(target=worker, daemon=True)
        t.start()
        self.assertTrue(jq.join(timeout=WAIT))
        self.assertTrue(jq.join())
        t.join(timeout=WAIT)
        self.assertEqual(done, [0, 1, 2])
        with self.assertRaises(ValueError):
            jq.task_done()


if __name__ == "__main__":
    unittest.main()
