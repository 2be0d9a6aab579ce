"""An mp-manager process for the tests, on a unix socket in a temp dir.

The binary comes from $MP_MANAGER_PATH (ctest sets it); without it the
tests are skipped.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
import unittest

import mp_client

START_TIMEOUT = 10.0  # seconds for the server to come up or go down
# Bound on every wait of the tests for something that happens at once.
WAIT = 10.0


class ManagerServer:
    """An mp-manager process on a unix socket in a private directory."""

    def __init__(self, *extra_args: str) -> None:
        binary = os.environ.get("MP_MANAGER_PATH", "")
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("MP_MANAGER_PATH does not name mp-manager")
        self.dir = tempfile.mkdtemp(prefix="mp-py-test-")
        self.authkey = os.urandom(32)
        key_file = os.path.join(self.dir, "key")
        with open(key_file, "wb") as f:
            f.write(self.authkey)
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [binary, "--listen", f"unix:{self.dir}/sock",
                 "--authkey-file", key_file, "--ready-fd", str(write_fd), *extra_args],
                pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            os.close(write_fd)
            # The server writes its address and a newline once serving.
            ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT)
            line = os.read(read_fd, 4096).decode() if ready else ""
        finally:
            os.close(read_fd)
        if not line.endswith("\n"):
            self.stop()
            raise RuntimeError("mp-manager did not report its address")
        self.address = line.strip()

    def connect(self) -> mp_client.Session:
        return mp_client.connect(self.address, self.authkey)

    def kill(self) -> None:
        """SIGKILL: the server vanishes without ending its sessions."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def stop(self) -> None:
        """Terminates the server and removes its directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=START_TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerTestCase(unittest.TestCase):
    """One server per test class; ``self.connect()`` opens a session that
    is closed after the test."""

    server: ManagerServer

    @classmethod
    def server_args(cls) -> tuple[str, ...]:
        """Extra mp-manager flags for this class's server."""
        return ()

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ManagerServer(*cls.server_args())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def connect(self) -> mp_client.Session:
        session = self.server.connect()
        self.addCleanup(session.close)
        return session

    def wait_until(self, condition, what: str) -> None:
        """Polls ``condition`` (a state the server reports) until it holds,
        for at most WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while not condition():
            self.assertLess(time.monotonic(), deadline, f"never: {what}")
            time.sleep(0.01)

    def wait_for_sessions(self, session: mp_client.Session, n: int) -> None:
        """Until the server counts n open sessions."""
        self.wait_until(lambda: session.stats()["sessions"] == n,
                        f"{n} sessions")


def waiters(proxy: mp_client.Proxy) -> dict:
    """The calls parked on a Queue ({"getters", "putters", "joiners"}) or a
    lock ({"value", "waiters"}) right now: ops the server has for
    monitoring, which Python's proxies do not have."""
    if isinstance(proxy, mp_client.QueueProxy):
        return proxy._op(lambda op: op.waiters.SetInParent())
    return proxy._op(lambda op: op.state.SetInParent())
