"""A small Python client for an mp manager server, generated from proto/.

mp's wire contract (``proto/mp/v1/*.proto``) is one bidirectional gRPC
stream per client, ``mp.v1.Manager/Session``.  This module speaks it with
plain synchronous gRPC, so a Python process can share dicts and queues with
C++ processes through the same typed contract::

    import mp_client

    with mp_client.connect("unix:/tmp/mp.sock", authkey) as session:
        results = session.named("results").dict()   # get-or-create by name
        jobs = session.named("jobs").Queue()
        jobs.put(3)
        results["pi"] = 3.14159
        print(results.get("pi"), len(results), jobs.qsize())

The stubs (``mp/v1/*_pb2.py``, ``*_pb2_grpc.py``) are generated at build
time (``examples/python/CMakeLists.txt``); their directory must be on
``sys.path``.

Protocol in short (see README.md next to this file):

1. Handshake: client ``Hello{client_nonce}``, server
   ``Challenge{server_nonce, server_proof}``, client ``AuthProof``, server
   ``Welcome``.  Both proofs are HMAC-SHA256 over the authkey, so each side
   proves it knows the key and the key never crosses the wire.
2. Calls: ``ClientMessage.calls`` carry ``Call{call_id, object_id, op}``;
   replies arrive in ``ServerMessage.replies`` in any order, matched by
   ``call_id``.  ``call_id`` 0 means "no reply wanted" (Release, Ack).
3. ``Create`` (with ``name``: get-or-create) returns a ``ProxyRef``; each
   ProxyRef received is one reference, given back with ``Release``.
4. A reply with ``ack_required`` (an item taken from a queue) must be
   confirmed with ``Ack``, or the server puts the item back when the
   session ends.

Thread safety: a Session and its proxies may be used from several threads.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import itertools
import os
import queue
import threading
import time
import weakref
from multiprocessing import AuthenticationError, ProcessError
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import grpc

from mp.v1 import ops_pb2, session_pb2, session_pb2_grpc, sync_pb2, value_pb2

__all__ = [
    "AuthenticationError",
    "DictProxy",
    "NamedObjects",
    "Proxy",
    "QueueProxy",
    "RemoteError",
    "Session",
    "connect",
]

PROTOCOL_VERSION = 1
NONCE_BYTES = 32
HANDSHAKE_TIMEOUT = 10.0  # seconds
# How long a call that does not block on the server may take.
DEFAULT_CALL_TIMEOUT = 60.0
# Margin on top of a blocking call's own timeout for the round trip.
BLOCKING_MARGIN = 30.0

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class RemoteError(Exception):
    """A server error whose type has no Python equivalent here."""

    def __init__(self, type_name: str, message: str, traceback: str = ""):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback


# The server's error type names (Python's names) and the Python exceptions
# they become.
_ERROR_TYPES: dict[str, Callable[[str], BaseException]] = {
    "KeyError": KeyError,
    "IndexError": IndexError,
    "TypeError": TypeError,
    "ValueError": ValueError,
    "RuntimeError": RuntimeError,
    "TimeoutError": TimeoutError,
    "AttributeError": AttributeError,
    "EOFError": EOFError,
    "ReferenceError": ReferenceError,
    "ConnectionError": ConnectionError,
    "Empty": queue.Empty,
    "Full": queue.Full,
    "BrokenBarrierError": threading.BrokenBarrierError,
    "AuthenticationError": AuthenticationError,
    "ProcessError": ProcessError,
}


def error_from_wire(error: session_pb2.Error) -> BaseException:
    """The Python exception for a server ``Error{type, message}``."""
    make = _ERROR_TYPES.get(error.type)
    if make is None:
        return RemoteError(error.type, error.message, error.traceback)
    if error.type == "KeyError":
        # The message is the key's repr, as Python's KeyError carries the
        # key itself: recover it where it is a literal.
        try:
            return KeyError(ast.literal_eval(error.message))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return make(error.message)


def server_proof(authkey: bytes, client_nonce: bytes,
                 server_nonce: bytes) -> bytes:
    """HMAC-SHA256(authkey, "mp-server" | client_nonce | server_nonce)."""
    return hmac.new(authkey, b"mp-server" + client_nonce + server_nonce,
                    hashlib.sha256).digest()


def client_proof(authkey: bytes, server_nonce: bytes,
                 client_nonce: bytes) -> bytes:
    """HMAC-SHA256(authkey, "mp-client" | server_nonce | client_nonce)."""
    return hmac.new(authkey, b"mp-client" + server_nonce + client_nonce,
                    hashlib.sha256).digest()


# ---- values -------------------------------------------------------------


def to_value(obj: Any, out: value_pb2.Value) -> None:
    """Fills ``out`` with the wire form of a Python value.

    None, bool, int (64-bit), float, str, bytes, list, tuple, dict and
    proxies of the same server; anything else is a TypeError.
    """
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
            to_value(item, seq.items.add())
    elif isinstance(obj, tuple):
        seq = out.tuple_value
        seq.SetInParent()
        for item in obj:
            to_value(item, seq.items.add())
    elif isinstance(obj, dict):
        _to_mapping(obj, out.dict_value)
    elif isinstance(obj, Proxy):
        obj._check_alive()
        out.proxy.id = obj.id
        out.proxy.type = obj.type
    else:
        raise TypeError(
            f"cannot send a {type(obj).__name__} to the manager (None, "
            "bool, int, float, str, bytes, list, tuple, dict or a proxy)")


def _to_mapping(items: Mapping[Any, Any], out: value_pb2.Mapping) -> None:
    out.SetInParent()  # an empty dict is still a dict
    for key, val in items.items():
        to_value(key, out.keys.add())
        to_value(val, out.values.add())


def _from_value(value: value_pb2.Value, session: "Session") -> Any:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "none":
        return None
    if kind in ("bool_value", "int_value", "float_value", "str_value",
                "bytes_value"):
        return getattr(value, kind)
    if kind == "list_value":
        return [_from_value(v, session) for v in value.list_value.items]
    if kind == "tuple_value":
        return tuple(_from_value(v, session) for v in value.tuple_value.items)
    if kind == "dict_value":
        m = value.dict_value
        return {
            _from_value(k, session): _from_value(v, session)
            for k, v in zip(m.keys, m.values)
        }
    if kind == "proxy":
        return session._wrap(value.proxy)
    raise TypeError(f"unknown Value kind {kind!r}")


# ---- the session --------------------------------------------------------


class _Pending:
    """A call waiting for its reply."""

    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: Optional[session_pb2.Reply] = None


class Session:
    """One authenticated session (one gRPC stream) with a manager server.

    Use :func:`connect` to open one.  Closing the session (``close()`` or
    leaving a ``with`` block) ends the stream; the server then drops every
    reference the session held.
    """

    def __init__(self, address: str, authkey: bytes,
                 tls: Optional[grpc.ChannelCredentials] = None):
        if not address:
            raise ValueError("manager address is empty")
        self.address = address
        self._authkey = bytes(authkey)
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._broken: Optional[BaseException] = None
        self._closed = False
        self._welcomed = False
        self._handshake: "queue.Queue[Any]" = queue.Queue()
        self._outbox: "queue.Queue[Optional[session_pb2.ClientMessage]]" = (
            queue.Queue())
        self.server_id = 0
        self.session_id = 0
        self.max_message_bytes = 0
        options = [
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
            ("grpc.enable_retries", 0),
            ("grpc.keepalive_time_ms", 10000),
            ("grpc.keepalive_timeout_ms", 5000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            # Own transport: sessions never share fate.
            ("grpc.use_local_subchannel_pool", 1),
        ]
        self._channel = (grpc.secure_channel(address, tls, options=options)
                         if tls is not None else
                         grpc.insecure_channel(address, options=options))
        stub = session_pb2_grpc.ManagerStub(self._channel)
        self._rpc = stub.Session(self._requests())
        self._reader = threading.Thread(target=self._read_loop,
                                        name="mp-session-reader", daemon=True)
        self._reader.start()
        try:
            self._do_handshake()
        except BaseException:
            self._rpc.cancel()  # the server may never answer
            self._shutdown_transport()
            raise

    # -- transport --

    def _requests(self) -> Iterator[session_pb2.ClientMessage]:
        """The request stream: messages from the outbox until None."""
        while True:
            message = self._outbox.get()
            if message is None:
                return
            yield message

    def _read_loop(self) -> None:
        """Routes replies to their callers and acknowledges handed items."""
        try:
            for message in self._rpc:
                if not self._welcomed:
                    self._handshake.put(message)
                    continue
                self._dispatch(message)
            failure: BaseException = ConnectionError(
                f"the manager at {self.address} ended the session")
        except grpc.RpcError as e:
            failure = self._rpc_failure(e)
        except BaseException as e:  # noqa: BLE001 - handed to the callers
            failure = ConnectionError(f"session reader failed: {e!r}")
        self._mark_broken(failure)
        self._handshake.put(failure)

    def _dispatch(self, message: session_pb2.ServerMessage) -> None:
        acks = []
        ready = []
        with self._lock:
            for reply in message.replies:
                pending = self._pending.pop(reply.call_id, None)
                # Its caller gave up waiting: leave what the reply handed
                # over unacknowledged, so the server takes it back when the
                # session ends rather than it being lost here.
                if pending is None:
                    continue
                if reply.ack_required:
                    acks.append(reply.call_id)
                pending.reply = reply
                ready.append(pending)
            # Received: the server may forget what these replies handed
            # over.  Queued before the callers wake, so an Ack always
            # precedes a close that follows.
            if acks and self._broken is None and not self._closed:
                call = session_pb2.Call(call_id=0)
                call.ack.call_ids.extend(acks)
                self._outbox.put(session_pb2.ClientMessage(calls=[call]))
        for pending in ready:
            pending.done.set()

    def _rpc_failure(self, e: grpc.RpcError) -> BaseException:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        if code == grpc.StatusCode.UNAUTHENTICATED:
            prefix = "AuthenticationError: "
            if details and details.startswith(prefix):
                details = details[len(prefix):]
            return AuthenticationError(details)
        if code == grpc.StatusCode.CANCELLED and self._closed:
            return ConnectionError("session closed")
        return ConnectionError(
            f"connection to the manager at {self.address} lost: "
            f"{code.name if code else ''} {details}")

    def _mark_broken(self, failure: BaseException) -> None:
        with self._lock:
            if self._broken is None:
                self._broken = failure
            pending = list(self._pending.values())
            self._pending.clear()
        for p in pending:
            p.done.set()  # reply None: the waiter raises self._broken

    def _await_handshake(self, deadline: float,
                         want: str) -> session_pb2.ServerMessage:
        timeout = max(0.0, deadline - time.monotonic())
        try:
            message = self._handshake.get(timeout=timeout)
        except queue.Empty:
            raise ConnectionError(
                f"timed out connecting to the manager at {self.address}"
            ) from None
        if isinstance(message, BaseException):
            raise message
        if not message.HasField(want):
            raise ConnectionError(
                f"handshake: expected {want} from {self.address}")
        return message

    def _do_handshake(self) -> None:
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        client_nonce = os.urandom(NONCE_BYTES)
        hello = session_pb2.ClientMessage()
        hello.hello.client_nonce = client_nonce
        hello.hello.protocol_version = PROTOCOL_VERSION
        hello.hello.pid = os.getpid()
        hello.hello.client_name = "mp_client.py"
        self._outbox.put(hello)

        challenge = self._await_handshake(deadline, "challenge").challenge
        expected = server_proof(self._authkey, client_nonce,
                                challenge.server_nonce)
        if not hmac.compare_digest(challenge.server_proof, expected):
            raise AuthenticationError(
                f"the server at {self.address} could not prove it knows the "
                "authkey (wrong key, or not an mp manager)")
        # Welcome is the next message; set before sending the proof so the
        # reader, which hands over pre-Welcome messages, cannot miss it.
        proof = session_pb2.ClientMessage()
        proof.auth.client_proof = client_proof(
            self._authkey, challenge.server_nonce, client_nonce)
        self._outbox.put(proof)
        welcome = self._await_handshake(deadline, "welcome").welcome
        self.session_id = welcome.session_id
        self.server_id = welcome.server_id
        self.max_message_bytes = welcome.max_message_bytes
        # The reader puts messages on _handshake until this is set; the
        # server sends nothing after Welcome before our first call.
        self._welcomed = True

    def _shutdown_transport(self) -> None:
        self._closed = True
        self._outbox.put(None)  # half-close: the server ends the session
        self._reader.join(timeout=HANDSHAKE_TIMEOUT)
        if self._reader.is_alive():
            self._rpc.cancel()
            self._reader.join(timeout=HANDSHAKE_TIMEOUT)
        self._channel.close()

    # -- calls --

    def call(self, call: session_pb2.Call,
             timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Any:
        """Sends one Call and returns its decoded result.

        Raises the Python form of a server error, ConnectionError when the
        session is gone, TimeoutError when no reply arrives in ``timeout``
        seconds (None: wait as long as it takes).
        """
        pending = _Pending()
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._closed:
                raise ConnectionError("session closed")
            call_id = next(self._ids)
            call.call_id = call_id
            size = call.ByteSize()
            if self.max_message_bytes and size + 1024 > self.max_message_bytes:
                raise ValueError(
                    f"message of {size} bytes exceeds the manager's limit of "
                    f"{self.max_message_bytes} bytes")
            self._pending[call_id] = pending
            self._outbox.put(session_pb2.ClientMessage(calls=[call]))
        if not pending.done.wait(timeout):
            with self._lock:
                gave_up = self._pending.pop(call_id, None) is not None
            if gave_up:
                raise TimeoutError(
                    f"no reply from the manager at {self.address} within "
                    f"{timeout} s")
            # The reply (already acknowledged) or the session's end came in
            # meanwhile: take it rather than lose a queue item.
            pending.done.wait()
        reply = pending.reply
        if reply is None:
            raise self._broken or ConnectionError("session closed")
        result = reply.WhichOneof("result")
        if result == "error":
            raise error_from_wire(reply.error)
        if result == "value":
            return _from_value(reply.value, self)
        if result == "array":
            return reply.array
        return None

    def send(self, call: session_pb2.Call) -> None:
        """Sends a Call that wants no reply (call_id 0)."""
        call.call_id = 0
        # No lock: proxies' finalizers call this, and the garbage collector
        # may run them in a thread that holds self._lock.  The outbox is
        # thread-safe; a message queued after close() is never sent.
        if self._broken is not None or self._closed:
            return
        self._outbox.put(session_pb2.ClientMessage(calls=[call]))

    def _release(self, object_id: int) -> None:
        call = session_pb2.Call()
        call.release.ids.append(object_id)
        self.send(call)

    def _wrap(self, ref: value_pb2.ProxyRef) -> "Proxy":
        cls = _PROXY_TYPES.get(ref.type, Proxy)
        return cls(self, ref.id, ref.type)

    # -- factories --

    def create(self, object_type: int, init: Any = None, *, name: str = "",
               size: int = 0) -> "Proxy":
        """``Create``: a new object, or with ``name`` get-or-create."""
        call = session_pb2.Call()
        create = call.create
        create.type = object_type
        if init is not None:
            to_value(init, create.init)
        create.size = size
        create.name = name
        proxy = self.call(call)
        if not isinstance(proxy, Proxy):
            raise TypeError(f"Create returned {proxy!r}, not a proxy")
        return proxy

    def dict(self, init: Optional[Mapping[Any, Any]] = None) -> "DictProxy":
        """A new shared dict (optionally with initial contents)."""
        return self.create(value_pb2.DICT,
                           dict(init) if init is not None else None)

    def Queue(self, maxsize: int = 0) -> "QueueProxy":  # noqa: N802 - as mp
        """A new shared queue (maxsize <= 0: unbounded)."""
        return self.create(value_pb2.QUEUE, size=maxsize)

    def named(self, name: str) -> "NamedObjects":
        """Factory of objects registered under ``name`` (get-or-create)."""
        if not name:
            raise ValueError("the name is empty")
        return NamedObjects(self, name)

    def delete_name(self, name: str) -> bool:
        """Forgets a name; the object lives on while referenced."""
        call = session_pb2.Call()
        call.delete_name.name = name
        return bool(self.call(call))

    def stats(self) -> dict:
        """Server statistics: objects, sessions, named, pid, ..."""
        call = session_pb2.Call()
        call.stats.SetInParent()
        return self.call(call)

    # -- lifetime --

    def close(self) -> None:
        """Ends the session (idempotent)."""
        if self._closed:
            return
        self._shutdown_transport()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(address: str, authkey: bytes, *, tls_ca: Optional[bytes] = None,
            tls_cert: Optional[bytes] = None,
            tls_key: Optional[bytes] = None) -> Session:
    """Opens an authenticated session with the manager at ``address``.

    ``address`` is "host:port" or "unix:/path".  With ``tls_ca`` (PEM bytes
    of the CA that signed the server's certificate) the session runs over
    TLS; add ``tls_cert``/``tls_key`` for a server that requires client
    certificates (mp-manager --tls-client-ca).  Raises AuthenticationError
    (``multiprocessing.AuthenticationError``) for a wrong key and
    ConnectionError when nothing answers or the TLS handshake fails.
    """
    tls = None
    if tls_ca is not None:
        tls = grpc.ssl_channel_credentials(root_certificates=tls_ca,
                                           private_key=tls_key,
                                           certificate_chain=tls_cert)
    elif tls_cert is not None or tls_key is not None:
        raise ValueError("tls_cert/tls_key need tls_ca")
    return Session(address, authkey, tls)


class NamedObjects:
    """Objects registered under one name, as ``Manager::named(name)``.

    The first call creates the object, later ones (from any process, C++ or
    Python) get the same object; a name bound to another type is a
    TypeError.
    """

    def __init__(self, session: Session, name: str):
        self._session = session
        self._name = name

    def dict(self) -> "DictProxy":
        """The dict named so (created empty if absent)."""
        return self._session.create(value_pb2.DICT, name=self._name)

    def Queue(self, maxsize: int = 0) -> "QueueProxy":  # noqa: N802 - as mp
        """The Queue named so (created with ``maxsize`` if absent)."""
        return self._session.create(value_pb2.QUEUE, name=self._name,
                                    size=maxsize)

    def remove(self) -> bool:
        """Forgets the name; False if it was unknown."""
        return self._session.delete_name(self._name)


# ---- proxies ------------------------------------------------------------


class Proxy:
    """A reference to an object on the server.

    Holds one server-side reference, given back by :meth:`release` or when
    the proxy is garbage collected (or when the session ends).
    """

    def __init__(self, session: Session, object_id: int, object_type: int):
        self._session = session
        self.id = object_id
        self.type = object_type
        self._finalizer = weakref.finalize(self, session._release, object_id)
        self._finalizer.atexit = False  # the session's end frees it anyway

    def release(self) -> None:
        """Gives the reference back now; the proxy is unusable afterwards."""
        self._finalizer()

    def _check_alive(self) -> None:
        """ValueError if the proxy was released."""
        if not self._finalizer.alive:
            raise ValueError("the proxy was released")

    def _call(self, op_field: str, fill: Callable[[Any], None],
              timeout: Optional[float] = DEFAULT_CALL_TIMEOUT) -> Any:
        if not self._finalizer.alive:
            raise ValueError("the proxy was released")
        call = session_pb2.Call(object_id=self.id)
        fill(getattr(call, op_field))
        return self._session.call(call, timeout)

    def __repr__(self) -> str:
        type_name = value_pb2.ObjectType.Name(self.type)
        return f"<{type(self).__name__} {type_name} id=0x{self.id:x}>"


class DictProxy(Proxy):
    """A shared dict, as ``multiprocessing.managers.DictProxy``."""

    def _dict(self, fill: Callable[[ops_pb2.DictOp], None]) -> Any:
        return self._call("dict", fill)

    def __getitem__(self, key: Any) -> Any:
        return self._dict(lambda op: to_value(key, op.get.key))

    def __setitem__(self, key: Any, value: Any) -> None:
        def fill(op: ops_pb2.DictOp) -> None:
            to_value(key, op.set.key)
            to_value(value, op.set.value)
        self._dict(fill)

    def __delitem__(self, key: Any) -> None:
        self._dict(lambda op: to_value(key, getattr(op, "del").key))

    def __contains__(self, key: Any) -> bool:
        return self._dict(lambda op: to_value(key, op.contains.key))

    def __len__(self) -> int:
        return self._dict(lambda op: op.len.SetInParent())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def get(self, key: Any, default: Any = None) -> Any:
        """d.get(key, default)."""
        def fill(op: ops_pb2.DictOp) -> None:
            to_value(key, op.get.key)
            if default is None:
                op.get.or_none = True
            else:
                to_value(default, op.get.default_value)
        return self._dict(fill)

    def keys(self) -> list:
        """The keys, in insertion order (a snapshot list)."""
        return self._dict(lambda op: op.keys.SetInParent())

    def values(self) -> list:
        """The values, in insertion order (a snapshot list)."""
        return self._dict(lambda op: op.values.SetInParent())

    def items(self) -> list:
        """(key, value) tuples, in insertion order (a snapshot list)."""
        return [tuple(kv) for kv in
                self._dict(lambda op: op.items.SetInParent())]

    def copy(self) -> dict:
        """A plain dict with the current contents."""
        return self._dict(lambda op: op.copy.SetInParent())

    def update(self, other: Mapping[Any, Any] | Iterable[tuple] = (),
               **kwargs: Any) -> None:
        """d.update(other, **kwargs), as one call."""
        entries = dict(other)
        entries.update(kwargs)
        self._dict(lambda op: _to_mapping(entries, op.update.entries))

    def pop(self, key: Any, *default: Any) -> Any:
        """d.pop(key[, default]); KeyError when absent without default."""
        if len(default) > 1:
            raise TypeError("pop expected at most 2 arguments")

        def fill(op: ops_pb2.DictOp) -> None:
            to_value(key, op.pop.key)
            if default:
                to_value(default[0], op.pop.default_value)
        return self._dict(fill)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """d.setdefault(key, default)."""
        def fill(op: ops_pb2.DictOp) -> None:
            to_value(key, op.setdefault.key)
            to_value(default, op.setdefault.default_value)
        return self._dict(fill)

    def clear(self) -> None:
        """Removes every item."""
        self._dict(lambda op: op.clear.SetInParent())


class QueueProxy(Proxy):
    """A shared queue, as ``multiprocessing.Manager().Queue()``.

    Blocking calls park on the server (no polling): ``get`` returns as
    soon as an item arrives or raises ``queue.Empty`` at the timeout.
    """

    def put(self, item: Any, block: bool = True,
            timeout: Optional[float] = None) -> None:
        """Puts ``item``; queue.Full when bounded and full."""
        def fill(op: sync_pb2.QueueOp) -> None:
            to_value(item, op.put.value)
            op.put.block = block
            _set_timeout(op.put, timeout)
        self._call("queue", fill, _client_wait(timeout))

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Takes the next item; queue.Empty when none arrives in time."""
        def fill(op: sync_pb2.QueueOp) -> None:
            op.get.block = block
            _set_timeout(op.get, timeout)
        return self._call("queue", fill, _client_wait(timeout))

    def put_nowait(self, item: Any) -> None:
        """put(item, block=False)."""
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        """get(block=False)."""
        return self.get(block=False)

    def qsize(self) -> int:
        """Number of items in the queue."""
        return self._call("queue", lambda op: op.qsize.SetInParent())

    def empty(self) -> bool:
        """True if the queue holds no item."""
        return self._call("queue", lambda op: op.empty.SetInParent())

    def full(self) -> bool:
        """True if a bounded queue is at its maxsize."""
        return self._call("queue", lambda op: op.full.SetInParent())


_PROXY_TYPES: dict[int, type] = {
    value_pb2.DICT: DictProxy,
    value_pb2.QUEUE: QueueProxy,
    value_pb2.JOINABLE_QUEUE: QueueProxy,
}


def _set_timeout(op: Any, timeout: Optional[float]) -> None:
    """Fills a blocking op's wire Timeout (absent: wait indefinitely)."""
    if timeout is not None:
        op.timeout.micros = int(min(max(timeout, 0.0) * 1e6, 9e18))


def _client_wait(timeout: Optional[float]) -> Optional[float]:
    """How long to wait for a parked call's reply: its timeout + margin."""
    if timeout is None:
        return None
    return max(timeout, 0.0) + BLOCKING_MARGIN
