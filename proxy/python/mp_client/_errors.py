"""Server errors -> Python exceptions: the one table of the package.

The server reports failures as ``Error{type, message}`` with Python's
exception names (server/*_object.cc, include/mp/errors.h); each becomes the
Python exception a ``multiprocessing.managers`` user would catch.
"""

from __future__ import annotations

import ast
import builtins
import queue
import threading
from multiprocessing import AuthenticationError, ProcessError
from typing import Callable

from ._proto import session_pb2


class RemoteError(Exception):
    """A server error whose type has no Python equivalent in ERROR_TYPES."""

    def __init__(self, type_name: str, message: str, traceback: str = ""):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback


# The server's error names are the enum Error.Type in proto/mp/v1/session.proto
# (the one list C++ and this package share). Most are Python builtins of
# the same name; these live elsewhere in Python.
_NOT_BUILTINS: dict[str, Callable[[str], BaseException]] = {
    "Empty": queue.Empty,
    "Full": queue.Full,
    "BrokenBarrierError": threading.BrokenBarrierError,
    "AuthenticationError": AuthenticationError,
    "ProcessError": ProcessError,
}


def _error_types() -> dict[str, Callable[[str], BaseException]]:
    types: dict[str, Callable[[str], BaseException]] = {}
    for name in session_pb2.Error.Type.keys():
        if name == "TYPE_UNSPECIFIED":
            continue
        make = _NOT_BUILTINS.get(name) or getattr(builtins, name, None)
        if make is None:
            raise ImportError(f"mp_client: no Python exception for the "
                              f"server's error type {name!r}")
        types[name] = make
    return types


# The server's error type name -> the Python exception raised for it.
# Names outside the enum (a custom type's own exceptions) become RemoteError.
ERROR_TYPES: dict[str, Callable[[str], BaseException]] = _error_types()


def error_from_wire(type_name: str, message: str,
                    traceback: str = "") -> BaseException:
    """The Python exception for a server ``Error{type, message}``."""
    make = ERROR_TYPES.get(type_name)
    if make is None:
        return RemoteError(type_name, message, traceback)
    if make is KeyError:
        # The message is the key's repr, as Python's KeyError carries the
        # key itself: recover it where it is a literal.
        try:
            return KeyError(ast.literal_eval(message))
        except (ValueError, SyntaxError, TypeError, MemoryError,
                RecursionError):
            pass
    if make is threading.BrokenBarrierError and not message:
        return threading.BrokenBarrierError()
    return make(message)
