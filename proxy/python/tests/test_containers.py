"""dict, list, Namespace, Value and Array proxies against a real mp-manager,
with the behaviour of multiprocessing.managers' proxies."""

from __future__ import annotations

import types
import unittest

import mp_client
from manager_server import ServerTestCase


class DictTest(ServerTestCase):

    def test_item_access(self) -> None:
        d = self.connect().dict({"a": 1}, b=2)
        self.assertIsInstance(d, mp_client.DictProxy)
        d["c"] = 3
        self.assertEqual(d["c"], 3)
        self.assertEqual(len(d), 3)
        self.assertIn("b", d)
        self.assertNotIn("z", d)
        del d["a"]
        self.assertEqual(d.copy(), {"b": 2, "c": 3})
        self.assertEqual(str(d), "{'b': 2, 'c': 3}")
        self.assertEqual(d._getvalue(), {"b": 2, "c": 3})

    def test_methods(self) -> None:
        d = self.connect().dict()
        d.update({"a": 1}, b=2)
        d.update([("c", 3)])
        d |= {"e": 5}
        self.assertEqual(d.keys(), ["a", "b", "c", "e"])
        self.assertEqual(d.values(), [1, 2, 3, 5])
        self.assertEqual(d.items(), [("a", 1), ("b", 2), ("c", 3), ("e", 5)])
        self.assertIsNone(d.get("missing"))
        self.assertEqual(d.get("missing", 5), 5)
        self.assertEqual(d.get("a", 5), 1)
        self.assertEqual(d.setdefault("a", 9), 1)
        self.assertEqual(d.setdefault("z", 9), 9)
        self.assertIsNone(d.setdefault("n"))
        self.assertIn("n", d)
        self.assertEqual(d.pop("z"), 9)
        self.assertEqual(d.pop("missing", 6), 6)
        self.assertIsNone(d.pop("missing", None))
        with self.assertRaises(KeyError):
            d.pop("missing")
        with self.assertRaises(TypeError):
            d.pop("a", 1, 2)
        self.assertEqual(d.popitem(), ("n", None))
        self.assertEqual(d.popitem(), ("e", 5))
        self.assertEqual(list(d), ["a", "b", "c"])
        d.clear()
        self.assertEqual(len(d), 0)
        with self.assertRaises(KeyError):
            d.popitem()

    def test_iteration_is_live_and_detects_changes(self) -> None:
        d = self.connect().dict({i: i * i for i in range(150)})
        self.assertEqual(list(d), list(range(150)))  # more than one batch
        it = iter(d)
        self.assertIsInstance(it, mp_client.IteratorProxy)
        next(it)
        d["new"] = 1
        with self.assertRaises(RuntimeError):
            for _ in range(200):
                next(it)

    def test_dict_from_a_dict_proxy(self) -> None:
        s = self.connect()
        a = s.dict(x=1)
        self.assertEqual(s.dict(a).copy(), {"x": 1})
        b = s.dict()
        b.update(a)
        self.assertEqual(b.copy(), {"x": 1})


class ListTest(ServerTestCase):

    def test_indexing_and_slicing(self) -> None:
        lst = self.connect().list(range(6))
        self.assertIsInstance(lst, mp_client.ListProxy)
        self.assertEqual(lst[0], 0)
        self.assertEqual(lst[-1], 5)
        self.assertEqual(lst[1:4], [1, 2, 3])
        self.assertEqual(lst[::2], [0, 2, 4])
        self.assertEqual(lst[::-1], [5, 4, 3, 2, 1, 0])
        self.assertEqual(lst[-2:], [4, 5])
        self.assertEqual(lst[:], list(range(6)))
        with self.assertRaises(IndexError):
            lst[6]
        with self.assertRaises(TypeError):
            lst["x"]
        lst[0] = "zero"
        lst[1:3] = ["a", "b", "c"]  # slices may change the length
        self.assertEqual(lst[:], ["zero", "a", "b", "c", 3, 4, 5])
        del lst[0]
        del lst[-2:]
        self.assertEqual(lst[:], ["a", "b", "c", 3])
        lst[:] = []
        self.assertEqual(len(lst), 0)
        with self.assertRaises(IndexError):
            lst[0] = 1
        with self.assertRaises(ValueError):
            lst[::2] = [1]
        with self.assertRaises(ValueError):
            del lst[::2]

    def test_methods(self) -> None:
        lst = self.connect().list([3, 1, 2])
        lst.append(1)
        lst.extend((5, 6))
        lst.insert(0, 0)
        lst.insert(-1, "x")
        self.assertEqual(lst[:], [0, 3, 1, 2, 1, 5, "x", 6])
        self.assertEqual(lst.pop(), 6)
        self.assertEqual(lst.pop(0), 0)
        lst.remove("x")
        with self.assertRaises(ValueError):
            lst.remove("x")
        self.assertEqual(lst.index(1), 1)
        self.assertEqual(lst.index(1, 2), 3)
        with self.assertRaises(ValueError):
            lst.index(1, 0, 1)
        self.assertEqual(lst.count(1), 2)
        self.assertIn(5, lst)
        self.assertNotIn(7, lst)
        lst.reverse()
        self.assertEqual(lst[:], [5, 1, 2, 1, 3])
        lst.sort()
        self.assertEqual(lst[:], [1, 1, 2, 3, 5])
        lst.sort(reverse=True)
        self.assertEqual(lst[:], [5, 3, 2, 1, 1])
        self.assertEqual(list(reversed(lst)), [1, 1, 2, 3, 5])
        self.assertEqual(list(lst), [5, 3, 2, 1, 1])
        self.assertEqual(lst.copy(), [5, 3, 2, 1, 1])
        self.assertEqual(lst._getvalue(), [5, 3, 2, 1, 1])
        lst.clear()
        with self.assertRaises(IndexError):
            lst.pop()

    def test_sort_with_a_key_is_a_clear_type_error(self) -> None:
        lst = self.connect().list([2, 1])
        with self.assertRaises(TypeError) as cm:
            lst.sort(key=abs)
        self.assertIn("key", str(cm.exception))
        self.assertEqual(lst[:], [2, 1])
        lst.append("x")
        with self.assertRaises(TypeError):  # unorderable: unchanged
            lst.sort()
        self.assertEqual(lst[:], [2, 1, "x"])

    def test_operators(self) -> None:
        s = self.connect()
        lst = s.list([1, 2])
        same = lst
        lst += [3]
        lst += s.list([4])
        self.assertIs(lst, same)
        self.assertEqual(lst[:], [1, 2, 3, 4])
        lst *= 2
        self.assertIs(lst, same)
        self.assertEqual(lst[:], [1, 2, 3, 4, 1, 2, 3, 4])
        self.assertEqual(lst + [9], [1, 2, 3, 4, 1, 2, 3, 4, 9])
        small = s.list(["a"])
        self.assertEqual(small * 3, ["a", "a", "a"])
        self.assertEqual(2 * small, ["a", "a"])
        small *= 0
        self.assertEqual(len(small), 0)
        self.assertEqual(str(lst), str([1, 2, 3, 4, 1, 2, 3, 4]))


class NamespaceTest(ServerTestCase):

    def test_attributes(self) -> None:
        ns = self.connect().Namespace(a=1)
        self.assertIsInstance(ns, mp_client.NamespaceProxy)
        self.assertEqual(ns.a, 1)
        ns.x = [1, "two"]
        ns.id = "an attribute, not the proxy's id"
        self.assertEqual(ns.x, [1, "two"])
        self.assertEqual(ns.id, "an attribute, not the proxy's id")
        self.assertTrue(hasattr(ns, "x"))
        self.assertFalse(hasattr(ns, "missing"))
        with self.assertRaises(AttributeError):
            ns.missing
        del ns.x
        with self.assertRaises(AttributeError):
            ns.x
        with self.assertRaises(AttributeError):
            del ns.x
        self.assertEqual(
            ns._getvalue(),
            types.SimpleNamespace(a=1, id="an attribute, not the proxy's id"))
        self.assertEqual(str(ns),
                         "Namespace(a=1, id=\"an attribute, not the proxy's "
                         "id\")")


class ValueTest(ServerTestCase):

    def test_value(self) -> None:
        s = self.connect()
        v = s.Value("i", 0)
        self.assertIsInstance(v, mp_client.ValueProxy)
        self.assertEqual(v.value, 0)
        v.value = 41
        v.value += 1
        self.assertEqual(v.get(), 42)
        v.set(7)
        self.assertEqual(v.value, 7)
        self.assertEqual(v.typecode, "i")
        self.assertEqual(str(v), "7")
        self.assertEqual(v._getvalue(), 7)
        self.assertEqual(v.fetch_add(3), 7)
        self.assertEqual(v.value, 10)
        self.assertTrue(v.compare_exchange(10, 11))
        self.assertFalse(v.compare_exchange(10, 12))
        self.assertEqual(v.value, 11)
        with self.assertRaises(ValueError):  # out of range for 'i'
            v.value = 2**31
        with self.assertRaises(TypeError):
            v.value = "text"
        self.assertEqual(v.value, 11)

    def test_typecodes(self) -> None:
        s = self.connect()
        d = s.Value("d", 1.5)
        d.value += 1
        self.assertEqual(d.value, 2.5)
        self.assertEqual(s.Value("q").value, 0)  # no value: zero
        self.assertEqual(s.Value("B", 255).value, 255)
        self.assertEqual(s.Value("c", b"x").value, b"x")
        self.assertEqual(s.Value("c").value, b"\x00")
        self.assertAlmostEqual(s.Value("f", 0.1).value, 0.1, places=6)
        with self.assertRaises(ValueError):
            s.Value("B", 256)
        with self.assertRaises(ValueError):
            s.Value("z", 1)


class ArrayTest(ServerTestCase):

    def test_array(self) -> None:
        s = self.connect()
        a = s.Array("d", [0.0] * 10)
        self.assertIsInstance(a, mp_client.ArrayProxy)
        self.assertEqual(len(a), 10)
        self.assertEqual(a.typecode, "d")
        a[0] = 1.5
        a[-1] = 2
        self.assertEqual(a[0], 1.5)
        self.assertEqual(a[9], 2.0)
        self.assertEqual(a[:3], [1.5, 0.0, 0.0])
        a[2:5] = [2.0, 3.0, 4.0]
        self.assertEqual(a[1:6], [0.0, 2.0, 3.0, 4.0, 0.0])
        a[::3] = [7.0, 8.0, 9.0, 10.0]
        self.assertEqual(a[::3], [7.0, 8.0, 9.0, 10.0])
        self.assertEqual(a[:], [7.0, 0.0, 2.0, 8.0, 4.0, 0.0, 9.0, 0.0, 0.0,
                                10.0])
        self.assertEqual(list(a), a[:])
        self.assertEqual(a._getvalue(), a[:])
        self.assertEqual(str(a), str(a[:]))
        with self.assertRaises(IndexError):
            a[10]
        with self.assertRaises(IndexError):
            a[10] = 1.0
        with self.assertRaises(ValueError):  # arrays never change size
            a[0:2] = [1.0]
        with self.assertRaises(TypeError):
            a[0:1] = ["x"]
        with self.assertRaises(TypeError):
            a[0] = "x"

    def test_integer_and_char_arrays(self) -> None:
        s = self.connect()
        a = s.Array("i", 4)  # 4 zeros
        self.assertEqual(a[:], [0, 0, 0, 0])
        a[:] = [1, -2, 2**31 - 1, -2**31]
        self.assertEqual(a[:], [1, -2, 2**31 - 1, -2**31])
        with self.assertRaises(ValueError):
            a[0:1] = [2**31]
        with self.assertRaises(ValueError):
            a[0] = 2**31
        self.assertEqual(a[0], 1)
        h = s.Array("H", range(3))
        self.assertEqual(h[:], [0, 1, 2])
        c = s.Array("c", b"abc")
        self.assertEqual(c[:], [b"a", b"b", b"c"])
        c[1] = b"z"
        c[2:3] = [b"!"]
        self.assertEqual(b"".join(c[:]), b"az!")
        f = s.Array("f", [0.5, 0.0])
        f[1:2] = [1e300]  # packed here: rounds to infinity, as in C
        self.assertEqual(f[:], [0.5, float("inf")])
        with self.assertRaises(ValueError):
            s.Array("x", [1])


if __name__ == "__main__":
    unittest.main()
