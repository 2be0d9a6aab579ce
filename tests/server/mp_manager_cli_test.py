"""The mp-manager binary as an operator meets it: flags, refusals, signals,
the standard gRPC health and reflection services, and `inspect`.

Runs real mp-manager processes on loopback / unix sockets. Needs
MP_MANAGER_PATH and a Python with grpc (ctest passes both) and, for the TLS
case, tests/tls/make_certs.sh (openssl).
"""

import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import grpc

import mp_client  # the Python client (proxy/python; ctest sets PYTHONPATH)

MANAGER = os.environ["MP_MANAGER_PATH"]
CERTS_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "tls",
                            "make_certs.sh")
KEY = b"cli-test-key"


class Manager:
    """An mp-manager process; the address it prints on stderr is read."""

    def __init__(self, *args, env_key=True):
        env = dict(os.environ)
        if env_key:
            env["MP_AUTHKEY"] = KEY.decode()
        self.proc = subprocess.Popen([MANAGER, *args], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        first = self.lines.get(timeout=20)
        if "serving on" not in first:
            raise RuntimeError(f"mp-manager did not start: {first}")
        self.banner = first
        self.address = first.split("serving on ")[1].split(" ")[0]

    def _pump(self):
        for line in self.proc.stderr:
            self.lines.put(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)
        self.proc.stderr.close()


def run(*args, env_key=True, timeout=30):
    env = dict(os.environ)
    if env_key:
        env["MP_AUTHKEY"] = KEY.decode()
    return subprocess.run([MANAGER, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


class UsageTest(unittest.TestCase):

    def test_help_documents_every_flag_and_exit_codes(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--listen", "--authkey-file", "--tls-cert", "--tls-key",
                     "--tls-client-ca", "--insecure", "--max-message-bytes",
                     "--max-objects-per-session", "--max-reply-backlog-bytes",
                     "--max-stored-bytes-per-session", "--max-object-bytes",
                     "--allow-client-shutdown",
                     "--log-level", "inspect",
                     "Exit status"):
            self.assertIn(flag, r.stdout)

    def test_plaintext_on_a_network_address_is_refused(self):
        r = run("--listen", "0.0.0.0:0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("refusing plaintext on 0.0.0.0:0", r.stderr)
        self.assertIn("--insecure", r.stderr)

    def test_insecure_allows_it_explicitly(self):
        m = Manager("--listen", "127.0.0.1:0", "--listen", "0.0.0.0:0",
                    "--insecure")
        try:
            self.assertIn("(plaintext)", m.banner)
        finally:
            m.stop()

    def test_bad_values_are_named(self):
        cases = [
            (("--listen", "127.0.0.1:0", "--log-level", "loud"), "--log-level"),
            (("--listen", "127.0.0.1:0", "--max-objects-per-session", "x"),
             "--max-objects-per-session"),
            (("--listen", "127.0.0.1:0", "--max-reply-backlog-bytes", "100"),
             "--max-reply-backlog-bytes"),
            (("--listen", "127.0.0.1:0", "--max-stored-bytes-per-session",
              "-1"), "--max-stored-bytes-per-session"),
            (("--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem"),
             "--tls-cert and --tls-key go together"),
            (("--listen", "127.0.0.1:0", "--authkey-file", "/nonexistent"),
             "/nonexistent"),
            (("--frobnicate",), "unknown argument '--frobnicate'"),
            ((), "--listen ADDRESS is required"),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(expected, r.stderr)

    def test_missing_authkey_is_a_usage_error(self):
        r = run("--listen", "127.0.0.1:0", env_key=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("MP_AUTHKEY", r.stderr)

    def test_unusable_tls_files_fail_start_with_exit_1(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.pem")
            with open(bad, "w") as f:
                f.write("not a certificate\n")
            r = run("--listen", "127.0.0.1:0", "--tls-cert", bad,
                    "--tls-key", bad)
            self.assertEqual(r.returncode, 1)
            self.assertIn("server certificate holds no PEM certificate",
                          r.stderr)


class RunningServerTest(unittest.TestCase):

    def setUp(self):
        self.manager = Manager("--listen", "127.0.0.1:0", "--log-level",
                               "info")
        self.addCleanup(self.manager.stop)

    def test_health_service_reports_serving(self):
        with grpc.insecure_channel(self.manager.address) as channel:
            check = channel.unary_unary("/grpc.health.v1.Health/Check")
            # HealthCheckResponse{status: SERVING (1)}: field 1, varint 1.
            self.assertEqual(check(b"", timeout=10), b"\x08\x01")

    def test_reflection_lists_the_manager_service(self):
        with grpc.insecure_channel(self.manager.address) as channel:
            info = channel.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/"
                "ServerReflectionInfo")
            # ServerReflectionRequest{list_services: "*"} (field 7).
            replies = list(info(iter([b"\x3a\x01*"]), timeout=10))
        self.assertEqual(len(replies), 1)
        self.assertIn(b"mp.v1.Manager", replies[0])
        self.assertIn(b"grpc.health.v1.Health", replies[0])

    def test_inspect_prints_objects_holders_and_sessions(self):
        with mp_client.connect(self.manager.address, KEY) as session:
            jobs = session.named("jobs").Queue()
            jobs.put("first")
            jobs.put("second")
            results = session.named("results").dict()
            results["a"] = 1
            r = run("inspect", self.manager.address)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout
            self.assertIn("objects (2):", out)
            jobs_line = next(line for line in out.splitlines()
                             if " jobs " in line)
            self.assertIn("Queue", jobs_line)
            self.assertRegex(jobs_line, r"\b2\s+\d+\s+maxsize 0")
            results_line = next(line for line in out.splitlines()
                                if " results " in line)
            self.assertRegex(results_line, r"dict\s+results\s+1\b")
            # This client's session and inspect's own.
            self.assertIn("sessions (2):", out)
            self.assertIn(f" {os.getpid()} ", out)

    def test_inspect_with_a_wrong_key_fails_with_exit_1(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"wrong")
            f.flush()
            r = run("inspect", self.manager.address, "--authkey-file", f.name)
        self.assertEqual(r.returncode, 1)
        self.assertIn("AuthenticationError", r.stderr)

    def test_sigterm_answers_blocked_calls_and_exits_0(self):
        session = mp_client.connect(self.manager.address, KEY)
        self.addCleanup(session.close)
        q = session.Queue()
        outcome = queue.Queue()

        def blocked_get():
            try:
                q.get(timeout=60)
                outcome.put("got an item")
            except Exception as e:  # noqa: BLE001 - reported below
                outcome.put(f"{type(e).__name__}: {e}")

        threading.Thread(target=blocked_get, daemon=True).start()
        # Wait until the get is parked on the server.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = run("inspect", self.manager.address)
            if "1 getting" in r.stdout:
                break
            time.sleep(0.05)
        self.assertIn("1 getting", r.stdout)
        self.manager.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.manager.proc.wait(timeout=20), 0)
        result = outcome.get(timeout=20)
        self.assertIn("shutting down", result)
        log = "".join(iter_lines(self.manager.lines))
        self.assertIn("SIGTERM: shutting down", log)
        self.assertIn("opened by", log)


def iter_lines(q):
    while True:
        try:
            yield q.get(timeout=2)
        except queue.Empty:
            return


@unittest.skipUnless(shutil.which("openssl"), "needs openssl")
class TlsServerTest(unittest.TestCase):

    def test_tls_listener_on_any_address_and_inspect_over_mutual_tls(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([CERTS_SCRIPT, d], check=True)
            m = Manager("--listen", "0.0.0.0:0",
                        "--tls-cert", f"{d}/server.pem",
                        "--tls-key", f"{d}/server.key",
                        "--tls-client-ca", f"{d}/ca.pem")
            try:
                self.assertIn("(mutual TLS)", m.banner)
                port = m.address.rsplit(":", 1)[1]
                address = f"127.0.0.1:{port}"
                r = run("inspect", address, "--tls-ca", f"{d}/ca.pem",
                        "--tls-cert", f"{d}/client.pem",
                        "--tls-key", f"{d}/client.key")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("sessions (1):", r.stdout)
                # Without a client certificate the handshake is refused.
                r = run("inspect", address, "--tls-ca", f"{d}/ca.pem")
                self.assertEqual(r.returncode, 1)
                self.assertIn("ConnectionError", r.stderr)
                # Plaintext against the TLS port fails too.
                r = run("inspect", address)
                self.assertEqual(r.returncode, 1)
                # The Python client over mutual TLS, same contract.
                pem = {n: open(f"{d}/{n}", "rb").read()
                       for n in ("ca.pem", "client.pem", "client.key")}
                with mp_client.connect(address, KEY, tls_ca=pem["ca.pem"],
                                       tls_cert=pem["client.pem"],
                                       tls_key=pem["client.key"]) as s:
                    d_ = s.named("over-tls").dict()
                    d_["k"] = [1, "two", 3.0]
                    self.assertEqual(d_["k"], [1, "two", 3.0])
                with self.assertRaises(ConnectionError):
                    mp_client.connect(address, KEY, tls_ca=pem["ca.pem"])
            finally:
                m.stop()


if __name__ == "__main__":
    unittest.main()
