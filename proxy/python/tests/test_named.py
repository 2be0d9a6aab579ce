"""Named objects: every factory on ``session.named(name)`` is get-or-create,
shared between sessions (and with C++, see examples/python)."""

from __future__ import annotations

import unittest

import mp_client
from manager_server import WAIT, ServerTestCase


class NamedTest(ServerTestCase):

    def test_every_factory_is_shared_by_name(self) -> None:
        a, b = self.connect(), self.connect()
        # (factory, creating arguments, the proxy type, a check that the
        # second session sees the first one's object)
        cases = [
            ("dict", ({"k": 1},), mp_client.DictProxy,
             lambda x, y: y["k"] == 1),
            ("list", ([1, 2],), mp_client.ListProxy,
             lambda x, y: y[:] == [1, 2]),
            ("Namespace", (), mp_client.NamespaceProxy,
             lambda x, y: setattr(x, "v", 3) or y.v == 3),
            ("Lock", (), mp_client.LockProxy,
             lambda x, y: x.acquire() and not y.acquire(False)),
            ("RLock", (), mp_client.RLockProxy,
             lambda x, y: x.acquire() and not y.acquire(False)),
            ("Semaphore", (1,), mp_client.SemaphoreProxy,
             lambda x, y: x.acquire() and not y.acquire(False)),
            ("BoundedSemaphore", (1,), mp_client.BoundedSemaphoreProxy,
             lambda x, y: x.acquire() and not y.acquire(False)),
            ("Condition", (), mp_client.ConditionProxy,
             lambda x, y: x.acquire() and not y.acquire(False)),
            ("Event", (), mp_client.EventProxy,
             lambda x, y: x.set() or y.is_set()),
            ("Barrier", (1,), mp_client.BarrierProxy,
             lambda x, y: y.parties == 1 and x.wait(timeout=WAIT) == 0),
            ("Queue", (), mp_client.QueueProxy,
             lambda x, y: x.put("i") or y.get(timeout=WAIT) == "i"),
            ("JoinableQueue", (), mp_client.JoinableQueueProxy,
             lambda x, y: x.put("j") or (y.get(timeout=WAIT) == "j"
                                         and not y.task_done()
                                         and x.join(timeout=WAIT))),
            ("Value", ("i", 7), mp_client.ValueProxy,
             lambda x, y: y.value == 7),
            ("Array", ("d", [1.0, 2.0]), mp_client.ArrayProxy,
             lambda x, y: y[:] == [1.0, 2.0]),
        ]
        for factory, args, cls, shared in cases:
            with self.subTest(factory):
                name = f"named-{factory}"
                x = getattr(a.named(name), factory)(*args)
                y = getattr(b.named(name), factory)(*args)
                self.assertIs(type(x), cls)
                self.assertIs(type(y), cls)
                self.assertEqual(x._id, y._id)
                self.assertTrue(shared(x, y))

    def test_later_arguments_are_ignored(self) -> None:
        a, b = self.connect(), self.connect()
        a.named("first-wins").list([1])
        self.assertEqual(b.named("first-wins").list([2, 3])[:], [1])
        a.named("first-value").Value("i", 5)
        self.assertEqual(b.named("first-value").Value("i", 9).value, 5)

    def test_a_name_of_another_type_is_a_type_error(self) -> None:
        s = self.connect()
        s.named("typed").dict()
        with self.assertRaises(TypeError):
            s.named("typed").Queue()
        with self.assertRaises(TypeError):
            s.named("typed").JoinableQueue()

    def test_remove_forgets_the_name(self) -> None:
        a, b = self.connect(), self.connect()
        d = a.named("short-lived").dict()
        d["x"] = 1
        self.assertTrue(a.named("short-lived").remove())
        self.assertFalse(a.named("short-lived").remove())
        self.assertEqual(d["x"], 1)  # the object lives on while referenced
        self.assertEqual(len(b.named("short-lived").dict()), 0)  # a new one

    def test_names_must_be_non_empty_str(self) -> None:
        s = self.connect()
        with self.assertRaises(ValueError):
            s.named("")
        with self.assertRaises(ValueError):
            s.named(None)  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()
