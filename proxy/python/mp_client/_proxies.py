"""Proxies for every object type, shaped like ``multiprocessing.managers``.

Method names and signatures follow Python's own manager proxies (and the
types they stand for: dict, list, threading.Lock, queue.Queue, ...), so
code written against a ``SyncManager`` reads the same. Every method is one
call to the server (a few documented ones two), atomic there.
"""

from __future__ import annotations

import collections
import operator
import sys
import time
import types
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from . import _base
from ._base import (DEFAULT_CALL_TIMEOUT, Proxy, reply_wait, set_timeout,
                    thread_token, to_mapping, to_sequence, to_value)
from ._proto import ops_pb2, value_pb2

# Items an iterator fetches per round trip.
_ITER_BATCH = 64


def _index(i: Any, what: str) -> int:
    try:
        return operator.index(i)
    except TypeError:
        raise TypeError(f"{what} indices must be integers or slices, not "
                        f"{type(i).__name__}") from None


def _set_optional(field: ops_pb2.OptionalIndex, value: Any,
                  what: str) -> None:
    """Sets an OptionalIndex when ``value`` is not None (Python's slice)."""
    if value is not None:
        field.value = _index(value, what)


def _queue_timeout(block: bool, timeout: Optional[float]) -> Optional[float]:
    """queue.Queue's rules for a get/put timeout."""
    if block and timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return timeout if block else None


# ---- containers -----------------------------------------------------------


class IteratorProxy(Proxy):
    """A live iterator over a dict or list on the server (``iter(d)``).

    Fetches a few items per round trip; like Python's dict iterators, it
    raises RuntimeError when the dict changed size meanwhile.
    """

    _op_field = "iterator"

    def __init__(self, *args: Any):
        super().__init__(*args)
        self._buffer: collections.deque = collections.deque()
        self._done = False

    def __iter__(self) -> "IteratorProxy":
        return self

    def __next__(self) -> Any:
        if not self._buffer and not self._done:
            def fill(op: ops_pb2.IteratorOp) -> None:
                op.next.max_items = _ITER_BATCH
            batch = self._op(fill)
            self._buffer.extend(batch)
            self._done = len(batch) < _ITER_BATCH
        if not self._buffer:
            raise StopIteration
        return self._buffer.popleft()


class DictProxy(Proxy):
    """A shared dict, as ``multiprocessing.managers.DictProxy``."""

    _op_field = "dict"

    def _key(self, key: Any, out: value_pb2.Value) -> None:
        to_value(key, out, self._session)

    def __getitem__(self, key: Any) -> Any:
        return self._op(lambda op: self._key(key, op.get.key))

    def __setitem__(self, key: Any, value: Any) -> None:
        def fill(op: ops_pb2.DictOp) -> None:
            self._key(key, op.set.key)
            to_value(value, op.set.value, self._session)
        self._op(fill)

    def __delitem__(self, key: Any) -> None:
        self._op(lambda op: self._key(key, getattr(op, "del").key))

    def __contains__(self, key: Any) -> bool:
        return self._op(lambda op: self._key(key, op.contains.key))

    def __len__(self) -> int:
        return self._op(lambda op: op.len.SetInParent())

    def __iter__(self) -> Iterator[Any]:
        """A live iterator over the keys (server-side)."""
        def fill(op: ops_pb2.DictOp) -> None:
            op.iter.kind = ops_pb2.DictOp.Iter.KEYS
        return self._op(fill)

    def get(self, key: Any, default: Any = None) -> Any:
        def fill(op: ops_pb2.DictOp) -> None:
            self._key(key, op.get.key)
            if default is None:
                op.get.or_none = True
            else:
                to_value(default, op.get.default_value, self._session)
        return self._op(fill)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        def fill(op: ops_pb2.DictOp) -> None:
            self._key(key, op.setdefault.key)
            to_value(default, op.setdefault.default_value, self._session)
        return self._op(fill)

    def pop(self, key: Any, *default: Any) -> Any:
        """d.pop(key[, default]); KeyError when absent without default."""
        if len(default) > 1:
            raise TypeError(
                f"pop expected at most 2 arguments, got {1 + len(default)}")

        def fill(op: ops_pb2.DictOp) -> None:
            self._key(key, op.pop.key)
            if default:
                to_value(default[0], op.pop.default_value, self._session)
        return self._op(fill)

    def popitem(self) -> tuple:
        """Removes and returns the last (key, value); KeyError if empty."""
        return tuple(self._op(lambda op: op.popitem.SetInParent()))

    def update(self, other: Mapping[Any, Any] | Iterable[tuple] = (),
               /, **kwargs: Any) -> None:
        """d.update(other, **kwargs), as one call."""
        if isinstance(other, DictProxy):
            other = other.copy()
        entries = dict(other)
        entries.update(kwargs)
        self._op(lambda op: to_mapping(entries, op.update.entries,
                                       self._session))

    def __ior__(self, other: Mapping[Any, Any]) -> "DictProxy":
        self.update(other)
        return self

    def keys(self) -> list:
        """The keys, in insertion order (a list, as Python's proxy)."""
        return self._op(lambda op: op.keys.SetInParent())

    def values(self) -> list:
        """The values, in insertion order (a list)."""
        return self._op(lambda op: op.values.SetInParent())

    def items(self) -> list:
        """(key, value) tuples, in insertion order (a list)."""
        return [tuple(kv) for kv in
                self._op(lambda op: op.items.SetInParent())]

    def copy(self) -> dict:
        """A plain dict with the current contents."""
        return self._op(lambda op: op.copy.SetInParent())

    def clear(self) -> None:
        self._op(lambda op: op.clear.SetInParent())

    _getvalue = copy

    def __str__(self) -> str:
        return str(self.copy())


class ListProxy(Proxy):
    """A shared list, as ``multiprocessing.managers.ListProxy``.

    Slices with a step can be read; assigning or deleting them raises
    ValueError (the server's slice ops have no step). ``sort`` takes no
    ``key`` (no code runs on the server).
    """

    _op_field = "list"

    def _value(self, value: Any, out: value_pb2.Value) -> None:
        to_value(value, out, self._session)

    @staticmethod
    def _plain_slice(s: slice, what: str) -> None:
        if s.step is not None and _index(s.step, "list") != 1:
            raise ValueError(f"{what} a slice with a step is not supported "
                             "(the server's slices have no step)")

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            def fill(op: ops_pb2.ListOp) -> None:
                g = op.getslice
                g.SetInParent()
                _set_optional(g.start, i.start, "slice")
                _set_optional(g.stop, i.stop, "slice")
                _set_optional(g.step, i.step, "slice")
            return self._op(fill)
        index = _index(i, "list")
        return self._op(lambda op: setattr(op.getitem, "index", index))

    def __setitem__(self, i: Any, value: Any) -> None:
        if isinstance(i, slice):
            self._plain_slice(i, "assigning to")
            values = value[:] if isinstance(value, ListProxy) else list(value)

            def fill(op: ops_pb2.ListOp) -> None:
                s = op.setslice
                s.SetInParent()
                _set_optional(s.start, i.start, "slice")
                _set_optional(s.stop, i.stop, "slice")
                to_sequence(values, s.values, self._session)
            self._op(fill)
            return
        index = _index(i, "list")

        def fill_item(op: ops_pb2.ListOp) -> None:
            op.setitem.index = index
            self._value(value, op.setitem.value)
        self._op(fill_item)

    def __delitem__(self, i: Any) -> None:
        if isinstance(i, slice):
            self._plain_slice(i, "deleting")

            def fill(op: ops_pb2.ListOp) -> None:
                d = op.delslice
                d.SetInParent()
                _set_optional(d.start, i.start, "slice")
                _set_optional(d.stop, i.stop, "slice")
            self._op(fill)
            return
        index = _index(i, "list")
        self._op(lambda op: setattr(op.delitem, "index", index))

    def __len__(self) -> int:
        return self._op(lambda op: op.len.SetInParent())

    def __contains__(self, value: Any) -> bool:
        return self._op(lambda op: self._value(value, op.contains.value))

    def __iter__(self) -> Iterator[Any]:
        """A live iterator (server-side)."""
        return self._op(lambda op: op.iter.SetInParent())

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self.copy())

    def append(self, value: Any) -> None:
        self._op(lambda op: self._value(value, op.append.value))

    def extend(self, values: Iterable[Any]) -> None:
        items = values[:] if isinstance(values, ListProxy) else list(values)
        self._op(lambda op: to_sequence(items, op.extend.values,
                                        self._session))

    def insert(self, index: Any, value: Any) -> None:
        i = _index(index, "list")

        def fill(op: ops_pb2.ListOp) -> None:
            op.insert.index = i
            self._value(value, op.insert.value)
        self._op(fill)

    def pop(self, index: Any = -1) -> Any:
        i = _index(index, "list")
        return self._op(lambda op: setattr(op.pop.index, "value", i))

    def remove(self, value: Any) -> None:
        """Removes the first occurrence; ValueError if absent."""
        self._op(lambda op: self._value(value, op.remove.value))

    def index(self, value: Any, start: Any = 0,
              stop: Any = sys.maxsize) -> int:
        """The first index of value in [start, stop); ValueError if absent."""
        def fill(op: ops_pb2.ListOp) -> None:
            self._value(value, op.index.value)
            op.index.start.value = _index(start, "list")
            op.index.stop.value = min(_index(stop, "list"), 2**63 - 1)
        return self._op(fill)

    def count(self, value: Any) -> int:
        return self._op(lambda op: self._value(value, op.count.value))

    def reverse(self) -> None:
        self._op(lambda op: op.reverse.SetInParent())

    def sort(self, *, key: Optional[Callable[[Any], Any]] = None,
             reverse: bool = False) -> None:
        """Sorts in place on the server (stable); TypeError for a ``key``
        (no code runs on the server) and for unorderable items (the list
        is then unchanged)."""
        if key is not None:
            raise TypeError(
                "sort(key=...) is not supported: the list is sorted on the "
                "server, which runs no Python code; sort a copy instead "
                "(l[:] = sorted(l[:], key=...))")
        self._op(lambda op: setattr(op.sort, "reverse", bool(reverse)))

    def clear(self) -> None:
        self._op(lambda op: op.clear.SetInParent())

    def copy(self) -> list:
        """A plain list with the current contents."""
        return self._op(lambda op: op.copy.SetInParent())

    _getvalue = copy

    def __iadd__(self, values: Iterable[Any]) -> "ListProxy":
        self.extend(values)
        return self

    def __imul__(self, times: Any) -> "ListProxy":
        n = _index(times, "repeat")
        self._op(lambda op: setattr(op.inplace_repeat, "times", n))
        return self

    def __add__(self, other: list) -> list:
        return self.copy() + other

    def __mul__(self, times: int) -> list:
        return self.copy() * times

    __rmul__ = __mul__

    def __str__(self) -> str:
        return str(self.copy())


class NamespaceProxy(Proxy):
    """A shared namespace: ``ns.x = 1``, ``ns.x``, ``del ns.x``.

    Names starting with an underscore are the proxy's own (as in Python's
    NamespaceProxy); every other attribute lives on the server.
    """

    _op_field = "namespace"

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the proxy's own attributes
        # all start with an underscore, everything else is remote.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._op(lambda op: setattr(op.getattr, "name", name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return

        def fill(op: ops_pb2.NamespaceOp) -> None:
            op.setattr.name = name
            to_value(value, op.setattr.value, self._session)
        self._op(fill)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        self._op(lambda op: setattr(op.delattr, "name", name))

    def _getvalue(self) -> types.SimpleNamespace:
        """A local copy of the attributes."""
        return types.SimpleNamespace(
            **self._op(lambda op: op.copy.SetInParent()))

    def __str__(self) -> str:
        attrs = self._op(lambda op: op.copy.SetInParent())
        inner = ", ".join(f"{k}={v!r}" for k, v in attrs.items())
        return f"Namespace({inner})"


class ValueProxy(Proxy):
    """A shared typed scalar, as ``multiprocessing.managers.ValueProxy``.

    ``v.value += 1`` is a get and a set (not atomic, as in Python); use
    ``fetch_add`` for an atomic update.
    """

    _op_field = "value"

    def get(self) -> Any:
        return self._op(lambda op: op.get.SetInParent())

    def set(self, value: Any) -> None:
        """TypeError/ValueError when value does not fit the typecode."""
        self._op(lambda op: to_value(value, op.set.value, self._session))

    value = property(get, set, doc="The current value.")

    def fetch_add(self, delta: Any) -> Any:
        """Atomically adds delta; returns the value before."""
        return self._op(
            lambda op: to_value(delta, op.fetch_add.delta, self._session))

    def compare_exchange(self, expected: Any, desired: Any) -> bool:
        """Atomically sets desired if the value equals expected."""
        def fill(op: ops_pb2.ValueOp) -> None:
            to_value(expected, op.compare_exchange.expected, self._session)
            to_value(desired, op.compare_exchange.desired, self._session)
        return self._op(fill)[0]

    @property
    def typecode(self) -> str:
        return self._op(lambda op: op.typecode.SetInParent())

    _getvalue = get

    def __str__(self) -> str:
        return str(self.get())


class ArrayProxy(Proxy):
    """A shared fixed-size typed array, as ``multiprocessing.Array``.

    ``a[i]``, ``a[i] = x``, ``a[i:j]`` (a list), ``a[i:j] = values`` (the
    same number of values: arrays never change size; one atomic write),
    ``len(a)``, iteration (a snapshot). Slices with a step are read in one
    call and assigned element by element.
    """

    _op_field = "array"

    def __init__(self, *args: Any):
        super().__init__(*args)
        self._len: Optional[int] = None
        self._tc: Optional[_base._TypeCode] = None

    def __len__(self) -> int:
        if self._len is None:  # arrays never change size
            self._len = self._op(lambda op: op.len.SetInParent())
        return self._len

    def _typecode(self) -> _base._TypeCode:
        if self._tc is None:  # nor their typecode
            self._tc = _base.typecode(
                self._op(lambda op: op.typecode.SetInParent()))
        return self._tc

    @property
    def typecode(self) -> str:
        return self._typecode().code

    def _read(self, start: Optional[int], stop: Optional[int]) -> list:
        def fill(op: ops_pb2.ArrayOp) -> None:
            op.read.SetInParent()
            _set_optional(op.read.start, start, "slice")
            _set_optional(op.read.stop, stop, "slice")
        return _base.unpack_elements(self._op(fill))

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            if i.step is None or _index(i.step, "array") == 1:
                return self._read(i.start, i.stop)
            return self._read(None, None)[i]
        index = _index(i, "array")
        return self._op(lambda op: setattr(op.getitem, "index", index))

    def __setitem__(self, i: Any, value: Any) -> None:
        if not isinstance(i, slice):
            index = _index(i, "array")

            def fill_item(op: ops_pb2.ArrayOp) -> None:
                op.setitem.index = index
                to_value(value, op.setitem.value, self._session)
            self._op(fill_item)
            return
        values = list(value)
        targets = range(*i.indices(len(self)))
        if len(values) != len(targets):
            raise ValueError(
                f"cannot assign {len(values)} values to a slice of "
                f"{len(targets)} elements (arrays never change size)")
        if targets.step != 1:
            for index, v in zip(targets, values):
                self[index] = v
            return
        tc = self._typecode()
        data = _base.pack_elements(tc, values)

        def fill(op: ops_pb2.ArrayOp) -> None:
            op.write.start = targets.start
            op.write.data.typecode = tc.code
            op.write.data.data = data
        self._op(fill)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._read(None, None))

    def _getvalue(self) -> list:
        return self._read(None, None)

    def __str__(self) -> str:
        return str(self._read(None, None))


# ---- synchronisation --------------------------------------------------------


def _acquire_wait(blocking: bool,
                  timeout: Optional[float]) -> Optional[float]:
    """threading.Lock.acquire's rules: the server timeout, None for none."""
    if timeout is None or timeout == -1:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    return timeout


class _Acquirer(Proxy):
    """acquire/release/with on the op field's Acquire and Release."""

    def _acquire(self, blocking: bool = True,
                 timeout: Optional[float] = None) -> bool:
        t = _acquire_wait(blocking, timeout)

        def fill(op: Any) -> None:
            op.acquire.blocking = bool(blocking)
            op.acquire.owner = thread_token()
            set_timeout(op.acquire, t)
        wait = reply_wait(t) if blocking else DEFAULT_CALL_TIMEOUT
        # (acquired, previous_owner_died, fencing_token); older servers
        # send the first two only.
        return self._op(fill, wait)[0]

    def release(self) -> None:
        """RuntimeError: releasing an unheld Lock or another thread's RLock;
        ValueError: a BoundedSemaphore released above its initial value."""
        self._op(lambda op: setattr(op.release, "owner", thread_token()))

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class AcquirerProxy(_Acquirer):
    """Lock, RLock, Semaphore and BoundedSemaphore
    (``multiprocessing.managers.AcquirerProxy``). A lock whose holder's
    process dies is released by the server for the next acquirer."""

    _op_field = "acquirer"

    def acquire(self, blocking: bool = True,
                timeout: Optional[float] = None) -> bool:
        """True once acquired; False when not blocking and unavailable,
        or at the timeout (seconds)."""
        return self._acquire(blocking, timeout)


class LockProxy(AcquirerProxy):
    """A shared Lock (any thread or process may release it)."""


class RLockProxy(AcquirerProxy):
    """A shared reentrant lock, owned by the acquiring thread."""


class SemaphoreProxy(AcquirerProxy):
    """A shared Semaphore."""


class BoundedSemaphoreProxy(AcquirerProxy):
    """A shared BoundedSemaphore (ValueError when released too often)."""


class ConditionProxy(_Acquirer):
    """A shared Condition (``multiprocessing.managers.ConditionProxy``)."""

    _op_field = "condition"

    def acquire(self, blocking: bool = True,
                timeout: Optional[float] = None) -> bool:
        return self._acquire(blocking, timeout)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Releases the lock, waits for a notify or the timeout, reacquires
        the lock. False on timeout; RuntimeError without the lock."""
        def fill(op: ops_pb2.ConditionOp) -> None:
            op.wait.owner = thread_token()
            set_timeout(op.wait, timeout)
        # No client deadline: after the notify or the timeout the server
        # reacquires the lock, which another holder may keep for long (as
        # in the C++ client).
        return self._op(fill, None)

    def wait_for(self, predicate: Callable[[], Any],
                 timeout: Optional[float] = None) -> Any:
        """Waits until predicate() is true (or the timeout); returns its
        last value, as threading.Condition.wait_for."""
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = time.monotonic() + waittime
                else:
                    waittime = endtime - time.monotonic()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        self._op(lambda op: setattr(op.notify, "n", n))

    def notify_all(self) -> None:
        self._op(lambda op: op.notify_all.SetInParent())


class EventProxy(Proxy):
    """A shared Event (``multiprocessing.managers.EventProxy``)."""

    _op_field = "event"

    def is_set(self) -> bool:
        return self._op(lambda op: op.is_set.SetInParent())

    def set(self) -> None:
        self._op(lambda op: op.set.SetInParent())

    def clear(self) -> None:
        self._op(lambda op: op.clear.SetInParent())

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once set; False at the timeout (seconds)."""
        def fill(op: ops_pb2.EventOp) -> None:
            op.wait.SetInParent()
            set_timeout(op.wait, timeout)
        return self._op(fill, reply_wait(timeout))


class BarrierProxy(Proxy):
    """A shared Barrier (``multiprocessing.managers.BarrierProxy``)."""

    _op_field = "barrier"

    def wait(self, timeout: Optional[float] = None) -> int:
        """An index in 0..parties-1; threading.BrokenBarrierError if the
        barrier is or becomes broken (abort, a timeout, a waiting party's
        process died)."""
        def fill(op: ops_pb2.BarrierOp) -> None:
            op.wait.SetInParent()
            set_timeout(op.wait, timeout)
        # Without a timeout the barrier's default (unknown here) applies:
        # no client deadline then.
        return self._op(fill, reply_wait(timeout))

    def abort(self) -> None:
        self._op(lambda op: op.abort.SetInParent())

    def reset(self) -> None:
        self._op(lambda op: op.reset.SetInParent())

    @property
    def parties(self) -> int:
        return self._op(lambda op: op.parties.SetInParent())

    @property
    def n_waiting(self) -> int:
        return self._op(lambda op: op.n_waiting.SetInParent())

    @property
    def broken(self) -> bool:
        return self._op(lambda op: op.broken.SetInParent())


class QueueProxy(Proxy):
    """A shared queue (``queue.Queue`` through a manager).

    Blocking calls park on the server (no polling): ``get`` returns as soon
    as an item arrives or raises ``queue.Empty`` at the timeout. An item is
    confirmed (Ack) as soon as it arrives, so it is never lost: if this
    process dies first, the server puts it back at the head of the queue.
    ``task_done`` and ``join`` need a JoinableQueue (TypeError otherwise).
    """

    _op_field = "queue"

    def put(self, obj: Any, block: bool = True,
            timeout: Optional[float] = None) -> None:
        """queue.Full when bounded and still full at the timeout."""
        t = _queue_timeout(block, timeout)

        def fill(op: ops_pb2.QueueOp) -> None:
            to_value(obj, op.put.value, self._session)
            op.put.block = bool(block)
            set_timeout(op.put, t)
        self._op(fill, reply_wait(t) if block else DEFAULT_CALL_TIMEOUT)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """The next item; queue.Empty when none arrives in time."""
        t = _queue_timeout(block, timeout)

        def fill(op: ops_pb2.QueueOp) -> None:
            op.get.block = bool(block)
            set_timeout(op.get, t)
        return self._op(fill,
                        reply_wait(t) if block else DEFAULT_CALL_TIMEOUT)

    def put_nowait(self, obj: Any) -> None:
        self.put(obj, block=False)

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def qsize(self) -> int:
        return self._op(lambda op: op.qsize.SetInParent())

    def empty(self) -> bool:
        return self._op(lambda op: op.empty.SetInParent())

    def full(self) -> bool:
        return self._op(lambda op: op.full.SetInParent())

    def task_done(self) -> None:
        """ValueError when called more times than items were put."""
        self._op(lambda op: op.task_done.SetInParent())

    def join(self, timeout: Optional[float] = None) -> bool:
        """Waits until every item put has been marked done. True then;
        False at the timeout (seconds; Python's join has none)."""
        def fill(op: ops_pb2.QueueOp) -> None:
            op.join.SetInParent()
            set_timeout(op.join, timeout)
        return self._op(fill, reply_wait(timeout))


class JoinableQueueProxy(QueueProxy):
    """A shared JoinableQueue: ``task_done`` and ``join`` work."""


class CustomProxy(Proxy):
    """An instance of a C++ type registered with ``mp::register_type``:
    ``proxy.call("add", 4, 3)``, or ``proxy.add(4, 3)`` (Python's
    ``_callmethod`` and the generated proxy methods). Only the type's
    registered methods exist: AttributeError otherwise, naming it."""

    _op_field = "custom"

    def call(self, method: str, *args: Any,
             timeout: Optional[float] = None) -> Any:
        """Runs ``method`` on the server's pool and returns its result.
        Without ``timeout`` waits as long as the method takes; with one
        (seconds) raises TimeoutError then, and the server drops the
        result."""
        def fill(op: ops_pb2.CustomOp) -> None:
            op.method = method
            for arg in args:
                to_value(arg, op.args.add(), self._session)
            if timeout is not None:
                op.timeout_micros = max(1, int(min(timeout * 1e6, 9e18)))
        return self._op(fill, reply_wait(timeout))

    _callmethod = call

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.call(name, *args)


# The proxy class for each object type the server sends.
PROXY_TYPES: dict[int, type] = {
    value_pb2.DICT: DictProxy,
    value_pb2.LIST: ListProxy,
    value_pb2.NAMESPACE: NamespaceProxy,
    value_pb2.VALUE: ValueProxy,
    value_pb2.ARRAY: ArrayProxy,
    value_pb2.ITERATOR: IteratorProxy,
    value_pb2.LOCK: LockProxy,
    value_pb2.RLOCK: RLockProxy,
    value_pb2.SEMAPHORE: SemaphoreProxy,
    value_pb2.BOUNDED_SEMAPHORE: BoundedSemaphoreProxy,
    value_pb2.CONDITION: ConditionProxy,
    value_pb2.EVENT: EventProxy,
    value_pb2.BARRIER: BarrierProxy,
    value_pb2.QUEUE: QueueProxy,
    value_pb2.JOINABLE_QUEUE: JoinableQueueProxy,
    value_pb2.CUSTOM: CustomProxy,
}
