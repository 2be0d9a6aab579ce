"""The proxy base class, Python values <-> ``mp.v1.Value``, and timeouts."""

from __future__ import annotations

import itertools
import math
import struct
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from ._proto import session_pb2, value_pb2

if TYPE_CHECKING:  # pragma: no cover
    from ._session import Session

# How long a call that does not block on the server may take before the
# client gives up with TimeoutError (the C++ client's default, 5 minutes).
DEFAULT_CALL_TIMEOUT = 300.0
# A blocking call with a timeout is answered by the server at that timeout;
# the client waits this much longer for the reply to cross the wire. A
# blocking call without a timeout waits as long as it takes (a dead server
# or a lost connection still ends it, with ConnectionError, through gRPC
# keepalive).
BLOCKING_MARGIN = 30.0

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


# ---- timeouts -----------------------------------------------------------


def set_timeout(op: Any, timeout: Optional[float]) -> None:
    """Fills a blocking op's wire ``Timeout`` (None: absent, no timeout)."""
    if timeout is not None:
        op.timeout.micros = int(min(max(timeout, 0.0) * 1e6, 9e18))


def reply_wait(timeout: Optional[float]) -> Optional[float]:
    """How long to wait for a blocking call's reply: timeout + margin."""
    if timeout is None:
        return None
    return max(timeout, 0.0) + BLOCKING_MARGIN


# ---- thread identity ----------------------------------------------------

_thread_tokens = itertools.count(1)
_thread_local = threading.local()


def thread_token() -> int:
    """Identifies the calling thread to the server (RLock and Condition
    ownership is per thread). Unique for the life of the process, unlike
    threading.get_ident(), which a new thread may reuse."""
    token = getattr(_thread_local, "token", None)
    if token is None:
        token = _thread_local.token = next(_thread_tokens)
    return token


# ---- proxies ------------------------------------------------------------


class Proxy:
    """A reference to an object held by the manager server.

    Holds one server-side reference, given back when the proxy is garbage
    collected, by :func:`mp_client.release`, or when the session ends.
    Every attribute of the base class starts with an underscore, so that
    NamespaceProxy can forward all other names to the server.
    """

    # The Call oneof field of this type's ops ("dict", "queue", ...).
    _op_field = ""

    def __init__(self, session: "Session", object_id: int, object_type: int,
                 type_name: str = ""):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", object_id)
        object.__setattr__(self, "_type", object_type)
        # A custom object's registered type name ("Maths"), as the server
        # sent it in the ProxyRef; "" for the built-in types.
        object.__setattr__(self, "_type_name", type_name)
        finalizer = weakref.finalize(self, session._release, object_id)
        finalizer.atexit = False  # the session's end frees it anyway
        object.__setattr__(self, "_finalizer", finalizer)

    def _check_alive(self) -> None:
        if not self._finalizer.alive:
            raise ValueError("the proxy was released")

    def _op(self, fill: Callable[[Any], None],
            timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Any:
        """Runs one typed op on this object: ``fill`` sets its fields."""
        self._check_alive()
        call = session_pb2.Call(object_id=self._id)
        fill(getattr(call, self._op_field))
        return self._session._call(call, timeout)

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it belongs to one "
            "session; share the object by name (session.named(...)) instead")

    def __repr__(self) -> str:
        type_name = value_pb2.ObjectType.Name(self._type)
        if self._type_name:
            type_name += " " + self._type_name
        state = "" if self._finalizer.alive else " released"
        return (f"<{type(self).__name__} {type_name} "
                f"id=0x{self._id:016x}{state}>")


# ---- values -------------------------------------------------------------


# How deep a value sent to the server may nest (containers in containers;
# [[1]] nests 2): common/wire_codec.h's kMaxNestingDepth, which keeps every
# message within protobuf's default parser limits. Deeper is a ValueError
# here, before anything is sent, as in the C++ client.
MAX_NESTING_DEPTH = 32


def to_value(obj: Any, out: value_pb2.Value, session: "Session",
             _depth: int = 0) -> None:
    """Fills ``out`` with the wire form of a Python value.

    None, bool, int (64-bit), float, str, bytes, list, tuple, dict and
    proxies of the same session; anything else is a TypeError. A value
    nested more than MAX_NESTING_DEPTH deep is a ValueError.
    """
    if isinstance(obj, (list, tuple, dict)) and _depth >= MAX_NESTING_DEPTH:
        raise ValueError(f"value nested more than {MAX_NESTING_DEPTH} levels "
                         "deep (the limit of what a manager accepts)")
    if obj is None:
        out.none.SetInParent()
    elif isinstance(obj, bool):  # before int: bool is an int
        out.bool_value = obj
    elif isinstance(obj, int):
        if not _INT64_MIN <= obj <= _INT64_MAX:
            raise OverflowError(f"{obj} does not fit in 64 bits")
        out.int_value = obj
    elif isinstance(obj, float):
        out.float_value = obj
    elif isinstance(obj, str):
        out.str_value = obj
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        out.bytes_value = bytes(obj)
    elif isinstance(obj, list):
        seq = out.list_value
        seq.SetInParent()  # an empty list is still a list
        for item in obj:
            to_value(item, seq.items.add(), session, _depth + 1)
    elif isinstance(obj, tuple):
        seq = out.tuple_value
        seq.SetInParent()
        for item in obj:
            to_value(item, seq.items.add(), session, _depth + 1)
    elif isinstance(obj, dict):
        to_mapping(obj, out.dict_value, session, _depth + 1)
    elif isinstance(obj, Proxy):
        obj._check_alive()
        if obj._session is not session:
            raise ValueError(
                f"{obj!r} belongs to another session; get the object in "
                "this one (by name) to send it here")
        out.proxy.id = obj._id
        out.proxy.type = obj._type
    else:
        raise TypeError(
            f"cannot send a {type(obj).__name__} to the manager (None, "
            "bool, int, float, str, bytes, list, tuple, dict or a proxy)")


def to_mapping(items: Mapping[Any, Any], out: value_pb2.Mapping,
               session: "Session", _depth: int = 1) -> None:
    out.SetInParent()  # an empty dict is still a dict
    for key, val in items.items():
        to_value(key, out.keys.add(), session, _depth)
        to_value(val, out.values.add(), session, _depth)


def to_sequence(items: Any, out: value_pb2.Sequence,
                session: "Session") -> None:
    out.SetInParent()
    for item in items:
        to_value(item, out.items.add(), session)


def from_value(value: value_pb2.Value, session: "Session") -> Any:
    """The Python value of a wire Value; ProxyRefs become live proxies."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "none":
        return None
    if kind in ("bool_value", "int_value", "float_value", "str_value",
                "bytes_value"):
        return getattr(value, kind)
    if kind == "list_value":
        return [from_value(v, session) for v in value.list_value.items]
    if kind == "tuple_value":
        return tuple(from_value(v, session) for v in value.tuple_value.items)
    if kind == "dict_value":
        m = value.dict_value
        return {
            from_value(k, session): from_value(v, session)
            for k, v in zip(m.keys, m.values)
        }
    if kind == "proxy":
        return session._wrap(value.proxy)
    raise TypeError(f"unknown Value kind {kind!r}")


# ---- typecodes (Value, Array) ---------------------------------------------


class _TypeCode:
    __slots__ = ("code", "fmt", "kind", "low", "high")

    def __init__(self, code: str, fmt: str, kind: str, low: int = 0,
                 high: int = 0):
        self.code, self.fmt, self.kind = code, fmt, kind
        self.low, self.high = low, high


def _ints(code: str, fmt: str, bits: int, signed: bool) -> _TypeCode:
    if signed:
        return _TypeCode(code, fmt, "int", -(2**(bits - 1)),
                         2**(bits - 1) - 1)
    # Unsigned 64-bit elements are limited to int64's range, as on the
    # server (its integers are int64).
    return _TypeCode(code, fmt, "int", 0, min(2**bits - 1, _INT64_MAX))


# The array module's typecodes the server knows (proxy/typecode.cc), with
# the little-endian standard-size struct format of their packed form
# ('l'/'L' are 8 bytes, as on the server's LP64 platforms).
TYPECODES: dict[str, _TypeCode] = {
    "b": _ints("b", "b", 8, True), "B": _ints("B", "B", 8, False),
    "h": _ints("h", "h", 16, True), "H": _ints("H", "H", 16, False),
    "i": _ints("i", "i", 32, True), "I": _ints("I", "I", 32, False),
    "l": _ints("l", "q", 64, True), "L": _ints("L", "Q", 64, False),
    "q": _ints("q", "q", 64, True), "Q": _ints("Q", "Q", 64, False),
    "f": _TypeCode("f", "f", "float"), "d": _TypeCode("d", "d", "float"),
    "c": _TypeCode("c", "c", "char"),
}


def typecode(code: str) -> _TypeCode:
    tc = TYPECODES.get(code) if isinstance(code, str) else None
    if tc is None:
        raise ValueError(f"bad typecode {code!r} (must be one of "
                         f"{''.join(TYPECODES)})")
    return tc


def pack_elements(tc: _TypeCode, values: list) -> bytes:
    """Packs values in an Array's layout, checked as the server checks."""
    out = bytearray()
    for v in values:
        if tc.kind == "int":
            if not isinstance(v, int):
                raise TypeError("an integer is required (got type "
                                f"{type(v).__name__})")
            if not tc.low <= v <= tc.high:
                raise ValueError(f"value {v} out of range for typecode "
                                 f"'{tc.code}' ({tc.low} .. {tc.high})")
            out += struct.pack("<" + tc.fmt, v)
        elif tc.kind == "float":
            if not isinstance(v, (int, float)):
                raise TypeError(
                    f"must be real number, not {type(v).__name__}")
            try:
                out += struct.pack("<" + tc.fmt, v)
            except OverflowError:  # float32: rounds to infinity, as in C
                out += struct.pack("<" + tc.fmt, math.copysign(math.inf, v))
        else:
            if not isinstance(v, (bytes, bytearray)) or len(v) != 1:
                raise TypeError("typecode 'c' needs a bytes object of "
                                f"length 1, not {v!r}")
            out += bytes(v)
    return bytes(out)


def unpack_elements(data: value_pb2.ArrayData) -> list:
    """The elements of packed ArrayData, as a list."""
    tc = typecode(data.typecode)
    size = struct.calcsize("<" + tc.fmt)
    n = len(data.data) // size
    return list(struct.unpack(f"<{n}{tc.fmt}", data.data[:n * size]))
