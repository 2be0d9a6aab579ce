"""mp_client: Python's multiprocessing.managers, against an mp manager server.

An mp manager (``mp-manager``, or a C++ program's ``mp::Server``) holds
shared objects; C++ and Python processes use them through one typed
contract (proto/mp/v1). This package is the Python side::

    import mp_client

    with mp_client.connect("unix:/run/mp.sock", authkey) as s:
        d = s.dict(); l = s.list([1, 2]); ns = s.Namespace()
        lk = s.Lock(); ev = s.Event(); v = s.Value('i', 0)
        jobs = s.named("jobs").JoinableQueue()   # get-or-create by name
        with lk:
            v.value += 1
        jobs.put({"n": 7}); print(jobs.get(timeout=5)); jobs.task_done()

The session's factories are SyncManager's (dict, list, Namespace, Lock,
RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier, Queue,
JoinableQueue, Value, Array), also on ``s.named(name)``. Proxies carry the
method names and signatures of ``multiprocessing.managers``' proxies;
server errors arrive as the matching Python exceptions (KeyError,
queue.Empty, threading.BrokenBarrierError, ... see ``_errors.ERROR_TYPES``);
a lost session is a ConnectionError, a wrong key an AuthenticationError.

Values: None, bool, int (64-bit), float, str, bytes, list, tuple, dict and
proxies (stored in containers, they come back as live proxies). A session
and its proxies may be used from several threads.
"""

from multiprocessing import AuthenticationError

from ._base import BLOCKING_MARGIN, DEFAULT_CALL_TIMEOUT, Proxy
from ._errors import ERROR_TYPES, RemoteError
from ._proxies import (ArrayProxy, BarrierProxy, BoundedSemaphoreProxy,
                       ConditionProxy, CustomProxy, DictProxy, EventProxy,
                       IteratorProxy,
                       JoinableQueueProxy, ListProxy, LockProxy,
                       NamespaceProxy, QueueProxy, RLockProxy, SemaphoreProxy,
                       ValueProxy)
from ._session import (NamedObjects, Session, client_proof, connect,
                       server_proof)

__version__ = "0.1.0"

__all__ = [
    "ArrayProxy", "AuthenticationError", "BarrierProxy",
    "BoundedSemaphoreProxy", "ConditionProxy", "CustomProxy", "DictProxy",
    "ERROR_TYPES",
    "EventProxy", "IteratorProxy", "JoinableQueueProxy", "ListProxy",
    "LockProxy", "NamedObjects", "NamespaceProxy", "Proxy", "QueueProxy",
    "RLockProxy", "RemoteError", "SemaphoreProxy", "Session", "ValueProxy",
    "connect", "release", "BLOCKING_MARGIN", "DEFAULT_CALL_TIMEOUT",
    # The handshake's proofs, for other implementations and tests.
    "client_proof", "server_proof",
]


def release(proxy: Proxy) -> None:
    """Gives the proxy's server reference back now (otherwise that happens
    when it is garbage collected or the session ends); the proxy is
    unusable afterwards."""
    proxy._finalizer()
