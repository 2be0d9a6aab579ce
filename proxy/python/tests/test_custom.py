"""Custom types: C++ classes registered with mp::register_type, served by
``mp-manager --load`` (tests/custom/custom_plugin.cc), called from Python."""

from __future__ import annotations

import os
import unittest

import mp_client
from manager_server import ServerTestCase


class CustomTypesTest(ServerTestCase):

    @classmethod
    def server_args(cls) -> tuple[str, ...]:
        plugin = os.environ.get("MP_CUSTOM_PLUGIN", "")
        if not plugin or not os.path.exists(plugin):
            raise unittest.SkipTest("MP_CUSTOM_PLUGIN does not name the plugin")
        return ("--load", plugin)

    def test_create_and_call(self) -> None:
        s = self.connect()
        maths = s.create("Maths", 10)
        self.assertIsInstance(maths, mp_client.CustomProxy)
        self.assertEqual(maths.call("add", 4, 3), 17)
        self.assertEqual(maths.mul(7, 8), 56.0)       # attribute access
        self.assertEqual(maths._callmethod("add", 1, 1), 12)
        self.assertEqual(s.create("Maths").add(4, 3), 7)

    def test_errors(self) -> None:
        s = self.connect()
        maths = s.create("Maths")
        with self.assertRaises(KeyError):
            maths.lookup("k")
        with self.assertRaisesRegex(AttributeError, "'div'"):
            maths.div(1, 2)
        with self.assertRaisesRegex(TypeError,
                                    r"Maths\.add\(\) takes 2 arguments"):
            maths.add(1)
        with self.assertRaisesRegex(TypeError, "argument 2"):
            maths.add(1, "two")
        with self.assertRaisesRegex(AttributeError, "'Nope'"):
            s.create("Nope")
        self.assertEqual(maths.add(1, 2), 3)  # the object carries on

    def test_type_name_travels_with_the_reference(self) -> None:
        s = self.connect()
        maths = s.create("Maths", 1)
        self.assertEqual(maths._type_name, "Maths")
        self.assertIn("CUSTOM Maths", repr(maths))
        # Stored in a dict and a list and read back: still a Maths.
        d, lst = s.dict(), s.list()
        d["m"] = maths
        lst.append(maths)
        for back in (d["m"], lst[0]):
            self.assertIsInstance(back, mp_client.CustomProxy)
            self.assertEqual(back._type_name, "Maths")
            self.assertEqual(back.add(1, 1), 3)

    def test_named_is_shared_between_sessions(self) -> None:
        a, b = self.connect(), self.connect()
        counter = a.named("py-counter").create("Counter", 40)
        counter.increment()
        same = b.named("py-counter").create("Counter")
        same.increment()
        self.assertEqual(counter.value(), 42)
        with self.assertRaises(TypeError):
            b.named("py-counter").create("Maths")


if __name__ == "__main__":
    unittest.main()
