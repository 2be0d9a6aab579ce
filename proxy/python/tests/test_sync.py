"""Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and Barrier
proxies against a real mp-manager, shaped like threading's types."""

from __future__ import annotations

import queue
import threading
import time
import unittest

import mp_client
from manager_server import WAIT, ServerTestCase, waiters

# A timeout that expires; the tests check the call took at least that long.
SHORT = 0.05


def in_thread(fn, *args) -> "queue.Queue":
    """Runs fn(*args) in a thread; its result or exception arrives on the
    returned queue."""
    out: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            out.put(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out.put(e)

    threading.Thread(target=run, daemon=True).start()
    return out


class LockTest(ServerTestCase):

    def test_lock(self) -> None:
        lk = self.connect().Lock()
        self.assertIsInstance(lk, mp_client.LockProxy)
        self.assertTrue(lk.acquire())
        self.assertFalse(lk.acquire(blocking=False))
        self.assertFalse(lk.acquire(False))
        start = time.monotonic()
        self.assertFalse(lk.acquire(timeout=SHORT))
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        lk.release()
        with self.assertRaises(RuntimeError):
            lk.release()
        with lk:
            self.assertFalse(lk.acquire(blocking=False))
        self.assertTrue(lk.acquire(timeout=-1))  # -1: no timeout
        lk.release()

    def test_acquire_argument_rules_are_threading_s(self) -> None:
        lk = self.connect().Lock()
        with self.assertRaises(ValueError):
            lk.acquire(False, 1)
        with self.assertRaises(ValueError):
            lk.acquire(True, -2)

    def test_any_thread_may_release_a_lock(self) -> None:
        lk = self.connect().Lock()
        lk.acquire()
        self.assertIsNone(in_thread(lk.release).get(timeout=WAIT))
        self.assertTrue(lk.acquire(blocking=False))
        lk.release()

    def test_a_waiter_gets_the_lock_on_release(self) -> None:
        lk = self.connect().Lock()
        lk.acquire()
        got = in_thread(lk.acquire, True, WAIT)
        self.wait_until(lambda: waiters(lk)["waiters"] == 1, "parked")
        lk.release()
        self.assertIs(got.get(timeout=WAIT), True)
        lk.release()

    def test_rlock_is_reentrant_and_owned_by_the_thread(self) -> None:
        rl = self.connect().RLock()
        self.assertIsInstance(rl, mp_client.RLockProxy)
        with rl:
            with rl:
                self.assertIs(in_thread(rl.acquire, False).get(timeout=WAIT),
                              False)
                self.assertIsInstance(in_thread(rl.release).get(timeout=WAIT),
                                      RuntimeError)
        self.assertIs(in_thread(rl.acquire, False).get(timeout=WAIT), True)
        self.assertFalse(rl.acquire(timeout=SHORT))  # the thread's now


class SemaphoreTest(ServerTestCase):

    def test_semaphore(self) -> None:
        s = self.connect()
        sem = s.Semaphore(2)
        self.assertIsInstance(sem, mp_client.SemaphoreProxy)
        self.assertTrue(sem.acquire())
        self.assertTrue(sem.acquire(timeout=SHORT))
        self.assertFalse(sem.acquire(timeout=SHORT))
        sem.release()
        sem.release()
        sem.release()  # unbounded: above the initial value is fine
        with sem:
            pass
        self.assertFalse(s.Semaphore(0).acquire(blocking=False))
        with self.assertRaises(ValueError):
            s.Semaphore(-1)

    def test_bounded_semaphore(self) -> None:
        bs = self.connect().BoundedSemaphore(2)
        self.assertIsInstance(bs, mp_client.BoundedSemaphoreProxy)
        with bs:
            self.assertTrue(bs.acquire(blocking=False))
            self.assertFalse(bs.acquire(blocking=False))
            bs.release()
        with self.assertRaises(ValueError):
            bs.release()


class ConditionTest(ServerTestCase):

    def test_wait_and_notify(self) -> None:
        s = self.connect()
        cond = s.Condition()
        self.assertIsInstance(cond, mp_client.ConditionProxy)
        state = s.list()
        with cond:
            start = time.monotonic()
            self.assertFalse(cond.wait(SHORT))
            self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)

        ready = s.Semaphore(0)

        def waiter() -> bool:
            with cond:
                ready.release()
                return cond.wait_for(lambda: len(state) > 0, timeout=WAIT)

        got = in_thread(waiter)
        self.assertTrue(ready.acquire(timeout=WAIT))
        # The waiter held the lock when it signalled and gives it up only
        # inside wait(): holding it here means the waiter is parked.
        with cond:
            state.append(1)
            cond.notify()
        self.assertIs(got.get(timeout=WAIT), True)

    def test_notify_all_wakes_every_waiter(self) -> None:
        s = self.connect()
        cond = s.Condition(s.Lock())
        flag = s.Value("i", 0)
        ready = s.Semaphore(0)

        def waiter() -> bool:
            with cond:
                ready.release()
                return cond.wait_for(lambda: flag.value == 1, timeout=WAIT)

        results = [in_thread(waiter) for _ in range(3)]
        for _ in results:
            self.assertTrue(ready.acquire(timeout=WAIT))
        # Each waiter released the condition's lock inside wait(): taking
        # it here means all three are parked.
        with cond:
            flag.value = 1
            cond.notify_all()
        for r in results:
            self.assertIs(r.get(timeout=WAIT), True)

    def test_wait_for_times_out_with_the_predicate_s_value(self) -> None:
        cond = self.connect().Condition()
        with cond:
            start = time.monotonic()
            self.assertEqual(cond.wait_for(lambda: 0, timeout=SHORT), 0)
            self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)

    def test_wait_without_the_lock_is_a_runtime_error(self) -> None:
        cond = self.connect().Condition()
        with self.assertRaises(RuntimeError):
            cond.wait(SHORT)

    def test_condition_on_a_non_lock_is_a_type_error(self) -> None:
        s = self.connect()
        with self.assertRaises(TypeError):
            s.Condition(s.Event())


class EventTest(ServerTestCase):

    def test_event(self) -> None:
        ev = self.connect().Event()
        self.assertIsInstance(ev, mp_client.EventProxy)
        self.assertFalse(ev.is_set())
        start = time.monotonic()
        self.assertFalse(ev.wait(SHORT))
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        got = in_thread(ev.wait, WAIT)
        self.wait_until(lambda: ev._op(lambda op: op.waiters.SetInParent())
                        == 1, "waiter parked")
        ev.set()
        self.assertIs(got.get(timeout=WAIT), True)
        self.assertTrue(ev.is_set())
        self.assertTrue(ev.wait())
        self.assertTrue(ev.wait(timeout=0))
        ev.clear()
        self.assertFalse(ev.wait(timeout=0))


class BarrierTest(ServerTestCase):

    def test_barrier(self) -> None:
        b = self.connect().Barrier(3)
        self.assertIsInstance(b, mp_client.BarrierProxy)
        self.assertEqual(b.parties, 3)
        self.assertEqual(b.n_waiting, 0)
        self.assertFalse(b.broken)
        others = [in_thread(b.wait, WAIT) for _ in range(2)]
        self.wait_until(lambda: b.n_waiting == 2, "two parties waiting")
        mine = b.wait(timeout=WAIT)
        indices = {mine} | {o.get(timeout=WAIT) for o in others}
        self.assertEqual(indices, {0, 1, 2})
        self.assertEqual(b.n_waiting, 0)  # ready for the next round

    def test_timeout_breaks_the_barrier(self) -> None:
        b = self.connect().Barrier(3)
        other = in_thread(b.wait, WAIT)
        self.wait_until(lambda: b.n_waiting == 1, "one party waiting")
        with self.assertRaises(threading.BrokenBarrierError):
            b.wait(timeout=SHORT)
        self.assertIsInstance(other.get(timeout=WAIT),
                              threading.BrokenBarrierError)
        self.assertTrue(b.broken)
        with self.assertRaises(threading.BrokenBarrierError):
            b.wait(timeout=WAIT)
        b.reset()
        self.assertFalse(b.broken)

    def test_abort_and_default_timeout(self) -> None:
        s = self.connect()
        b = s.Barrier(2)
        other = in_thread(b.wait, WAIT)
        self.wait_until(lambda: b.n_waiting == 1, "one party waiting")
        b.abort()
        self.assertIsInstance(other.get(timeout=WAIT),
                              threading.BrokenBarrierError)
        # Barrier(parties, timeout=...): wait()'s default.
        short = s.Barrier(2, timeout=SHORT)
        start = time.monotonic()
        with self.assertRaises(threading.BrokenBarrierError):
            short.wait()
        self.assertGreaterEqual(time.monotonic() - start, SHORT * 0.9)
        with self.assertRaises(TypeError):
            s.Barrier(2, action=print)
        with self.assertRaises(ValueError):
            s.Barrier(0)


if __name__ == "__main__":
    unittest.main()
