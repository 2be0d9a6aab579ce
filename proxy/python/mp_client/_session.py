"""The session: one authenticated gRPC stream with a manager server.

Protocol in short (proto/mp/v1/session.proto; examples/python/README.md
has the long form):

1. Handshake: client ``Hello{client_nonce}``, server
   ``Challenge{server_nonce, server_proof}``, client ``AuthProof``, server
   ``Welcome``. Both proofs are HMAC-SHA256 over the authkey, so each side
   proves it knows the key and the key never crosses the wire.
2. Calls: ``ClientMessage.calls`` carry ``Call{call_id, object_id, op}``;
   replies arrive in ``ServerMessage.replies`` in any order, matched by
   ``call_id``. ``call_id`` 0 means "no reply wanted" (Release, Ack).
3. ``Create`` (with ``name``: get-or-create) returns a ``ProxyRef``; each
   ProxyRef received is one reference, given back with ``Release``.
4. A reply with ``ack_required`` (an item taken from a queue) is confirmed
   with ``Ack``, or the server puts the item back when the session ends.

Threads: any number of threads may share a Session and its proxies. Each
call registers a pending slot under a lock, its message goes through one
outbox (a ``queue.SimpleQueue``, which is reentrant, so proxies' finalizers
may release from any thread at any time), and one reader thread routes
replies to their callers.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import itertools
import os
import queue
import threading
import time
from multiprocessing import AuthenticationError
from typing import Any, Iterable, Iterator, Optional

import grpc

from ._base import (DEFAULT_CALL_TIMEOUT, Proxy, from_value, to_value)
from ._errors import error_from_wire
from ._proto import session_pb2, session_pb2_grpc, value_pb2
from ._proxies import (PROXY_TYPES, ArrayProxy, BarrierProxy,
                       BoundedSemaphoreProxy, ConditionProxy, CustomProxy,
                       DictProxy,
                       EventProxy, JoinableQueueProxy, ListProxy, LockProxy,
                       NamespaceProxy, QueueProxy, RLockProxy,
                       SemaphoreProxy, ValueProxy)

PROTOCOL_VERSION = 1
NONCE_BYTES = 32
HANDSHAKE_TIMEOUT = 10.0  # seconds


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


class _Factories:
    """SyncManager's factories, shared by Session (new objects) and
    NamedObjects (get-or-create by name): every factory exists on both."""

    def _make(self, object_type: int, init: Any = None, *,
              typecode: str = "", size: int = 0,
              barrier_timeout: Optional[float] = None,
              type_name: str = "", args: tuple = ()) -> Any:
        raise NotImplementedError

    def create(self, type_name: str, /, *args: Any) -> "CustomProxy":
        """An instance of the C++ type registered as ``type_name``
        (``mp::register_type``), built by its constructor taking ``args``:
        Python's ``manager.Maths(10)``. AttributeError when the server does
        not know the type, TypeError for arguments no constructor takes."""
        return self._make(value_pb2.CUSTOM, type_name=type_name, args=args)

    def dict(self, mapping: Any = (), /, **kwargs: Any) -> DictProxy:
        """A shared dict, with initial contents as dict(mapping, **kwargs)."""
        if isinstance(mapping, DictProxy):
            mapping = mapping.copy()
        return self._make(value_pb2.DICT, builtins.dict(mapping, **kwargs))

    def list(self, sequence: Iterable[Any] = ()) -> ListProxy:
        """A shared list, with initial contents."""
        if isinstance(sequence, ListProxy):
            sequence = sequence[:]
        return self._make(value_pb2.LIST, builtins.list(sequence))

    def Namespace(self, **attrs: Any) -> NamespaceProxy:  # noqa: N802
        """A shared namespace with initial attributes."""
        return self._make(value_pb2.NAMESPACE, attrs)

    def Lock(self) -> LockProxy:  # noqa: N802 - as multiprocessing
        return self._make(value_pb2.LOCK)

    def RLock(self) -> RLockProxy:  # noqa: N802
        return self._make(value_pb2.RLOCK)

    def Semaphore(self, value: int = 1) -> SemaphoreProxy:  # noqa: N802
        return self._make(value_pb2.SEMAPHORE, size=value)

    def BoundedSemaphore(self,  # noqa: N802
                         value: int = 1) -> BoundedSemaphoreProxy:
        return self._make(value_pb2.BOUNDED_SEMAPHORE, size=value)

    def Condition(self,  # noqa: N802
                  lock: Optional[LockProxy | RLockProxy] = None
                  ) -> ConditionProxy:
        """A Condition on ``lock`` (a Lock or RLock proxy of this session),
        or on a new RLock of its own."""
        return self._make(value_pb2.CONDITION, lock)

    def Event(self) -> EventProxy:  # noqa: N802
        return self._make(value_pb2.EVENT)

    def Barrier(self, parties: int, action: Any = None,  # noqa: N802
                timeout: Optional[float] = None) -> BarrierProxy:
        """A Barrier for ``parties``; ``timeout`` is wait()'s default.
        ``action`` is not supported (no code runs on the server)."""
        if action is not None:
            raise TypeError("Barrier(action=...) is not supported: the "
                            "barrier lives on the server, which runs no "
                            "Python code")
        return self._make(value_pb2.BARRIER, size=parties,
                          barrier_timeout=timeout)

    def Queue(self, maxsize: int = 0) -> QueueProxy:  # noqa: N802
        """A shared queue (maxsize <= 0: unbounded)."""
        return self._make(value_pb2.QUEUE, size=maxsize)

    def JoinableQueue(self,  # noqa: N802
                      maxsize: int = 0) -> JoinableQueueProxy:
        """A shared queue with task_done() and join()."""
        return self._make(value_pb2.JOINABLE_QUEUE, size=maxsize)

    def Value(self, typecode: str, value: Any = None,  # noqa: N802
              lock: bool = True) -> ValueProxy:
        """A shared scalar of the array module's ``typecode`` ('i', 'd',
        'q', 'c', ...; value None: zero). ``lock`` is accepted for
        compatibility: every operation is atomic on the server."""
        del lock
        return self._make(value_pb2.VALUE, value, typecode=typecode)

    def Array(self, typecode: str, sequence: Any,  # noqa: N802
              lock: bool = True) -> ArrayProxy:
        """A shared fixed-size array of ``typecode``: initial values, or an
        int for that many zeros (as multiprocessing.Array)."""
        del lock
        if isinstance(sequence, int) and not isinstance(sequence, bool):
            return self._make(value_pb2.ARRAY, typecode=typecode,
                              size=sequence)
        if typecode == "c" and isinstance(sequence, (bytes, bytearray)):
            values = [bytes([b]) for b in sequence]
        else:
            values = builtins.list(sequence)
        return self._make(value_pb2.ARRAY, values, typecode=typecode)


class NamedObjects(_Factories):
    """Objects registered under one name, as C++'s ``Manager::named(name)``.

    Every factory of the session: the first call creates the object (with
    the arguments given), later ones - from any process, C++ or Python -
    get the same object (their arguments are ignored). A name bound to
    another type is a TypeError.
    """

    def __init__(self, session: "Session", name: str):
        self._session = session
        self._name = name

    def _make(self, object_type: int, init: Any = None, **kwargs: Any) -> Any:
        return self._session._create(object_type, init, name=self._name,
                                     **kwargs)

    def remove(self) -> bool:
        """Forgets the name (the object lives on while referenced); False
        if the name was unknown."""
        call = session_pb2.Call()
        call.delete_name.name = self._name
        return bool(self._session._call(call))


class _Pending:
    """A call waiting for its reply."""

    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: Optional[session_pb2.Reply] = None


class Session(_Factories):
    """One authenticated session (one gRPC stream) with a manager server.

    Open one with :func:`mp_client.connect`. Closing it (``close()`` or
    leaving a ``with`` block) ends the stream; the server then drops every
    reference the session held and releases the locks it held.
    """

    def __init__(self, address: str, authkey: bytes,
                 tls: Optional[grpc.ChannelCredentials] = None):
        if not address:
            raise ValueError("manager address is empty")
        self.address = address
        self._authkey = bytes(authkey)
        self._lock = threading.Lock()
        self._pending: builtins.dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._broken: Optional[BaseException] = None
        self._closed = False
        self._welcomed = False
        self._handshake: "queue.Queue[Any]" = queue.Queue()
        # SimpleQueue: put() is reentrant, safe from finalizers.
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
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
            # over. Queued before the callers wake, so an Ack always
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
            pending = builtins.list(self._pending.values())
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
        # Looked up in the package at call time, so tests can substitute
        # a wrong proof.
        from . import client_proof as make_client_proof
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        client_nonce = os.urandom(NONCE_BYTES)
        hello = session_pb2.ClientMessage()
        hello.hello.client_nonce = client_nonce
        hello.hello.protocol_version = PROTOCOL_VERSION
        hello.hello.pid = os.getpid()
        hello.hello.client_name = "mp_client (Python)"
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
        proof.auth.client_proof = make_client_proof(
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

    def _call(self, call: session_pb2.Call,
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
            e = reply.error
            raise error_from_wire(e.type, e.message, e.traceback)
        if result == "value":
            return from_value(reply.value, self)
        if result == "array":
            return reply.array
        return None

    def _send(self, call: session_pb2.Call) -> None:
        """Sends a Call that wants no reply (call_id 0)."""
        call.call_id = 0
        # No lock: proxies' finalizers call this, and the garbage collector
        # may run them in a thread that holds self._lock. The outbox is
        # reentrant; a message queued after close() is never sent.
        if self._broken is not None or self._closed:
            return
        self._outbox.put(session_pb2.ClientMessage(calls=[call]))

    def _release(self, object_id: int) -> None:
        call = session_pb2.Call()
        call.release.ids.append(object_id)
        self._send(call)

    def _wrap(self, ref: value_pb2.ProxyRef) -> Proxy:
        cls = PROXY_TYPES.get(ref.type, Proxy)
        return cls(self, ref.id, ref.type, ref.type_name)

    def _create(self, object_type: int, init: Any = None, *, name: str = "",
                typecode: str = "", size: int = 0,
                barrier_timeout: Optional[float] = None,
                type_name: str = "", args: tuple = ()) -> Any:
        """``Create``: a new object, or with ``name`` get-or-create."""
        call = session_pb2.Call()
        create = call.create
        create.type = object_type
        if init is not None:
            to_value(init, create.init, self)
        create.typecode = typecode
        create.size = size
        if barrier_timeout is not None:
            create.barrier_timeout_micros = max(
                1, int(min(barrier_timeout * 1e6, 9e18)))
        create.name = name
        if object_type == value_pb2.CUSTOM:
            create.type_name = type_name
            for arg in args:
                to_value(arg, create.args.add(), self)
        proxy = self._call(call)
        if not isinstance(proxy, Proxy):
            raise TypeError(f"Create returned {proxy!r}, not a proxy")
        return proxy

    def _make(self, object_type: int, init: Any = None, **kwargs: Any) -> Any:
        return self._create(object_type, init, **kwargs)

    # -- names, server --

    def named(self, name: str) -> NamedObjects:
        """The factories for objects registered under ``name``
        (get-or-create): ``s.named("jobs").JoinableQueue()``."""
        if not isinstance(name, str) or not name:
            raise ValueError("the name must be a non-empty str")
        return NamedObjects(self, name)

    def stats(self) -> builtins.dict:
        """Server statistics: objects, sessions, named, pid, ..."""
        call = session_pb2.Call()
        call.stats.SetInParent()
        return self._call(call)

    def shutdown(self) -> None:
        """Asks the server to stop (every session then ends)."""
        call = session_pb2.Call()
        call.shutdown.SetInParent()
        self._call(call)

    # -- lifetime --

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Ends the session (idempotent)."""
        if self._closed:
            return
        self._shutdown_transport()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else (
            "broken" if self._broken is not None else "open")
        return (f"<mp_client.Session {self.address} "
                f"session=0x{self.session_id:016x} {state}>")


def connect(address: str, authkey: bytes, tls_ca: Optional[bytes] = None,
            tls_cert: Optional[bytes] = None,
            tls_key: Optional[bytes] = None) -> Session:
    """Opens an authenticated session with the manager at ``address``.

    ``address`` is "host:port" or "unix:/path". With ``tls_ca`` (PEM bytes
    of the CA that signed the server's certificate) the session runs over
    TLS; add ``tls_cert``/``tls_key`` (PEM bytes) for a server that
    requires client certificates (mp-manager --tls-client-ca). Raises
    AuthenticationError (``multiprocessing.AuthenticationError``) for a
    wrong key and ConnectionError when nothing answers or the TLS
    handshake fails. The session is a context manager.
    """
    if isinstance(authkey, str):
        raise TypeError("authkey must be bytes, not str")
    tls = None
    if tls_ca is not None:
        tls = grpc.ssl_channel_credentials(root_certificates=tls_ca,
                                           private_key=tls_key,
                                           certificate_chain=tls_cert)
    elif tls_cert is not None or tls_key is not None:
        raise ValueError("tls_cert/tls_key need tls_ca")
    return Session(address, authkey, tls)
