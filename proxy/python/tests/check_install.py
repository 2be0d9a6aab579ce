"""Installs mp_client into a scratch place and uses it from elsewhere.

    check_install.py cmake|pip --build-dir B --source-dir S --python-dir D
                     --work W --protoc P --plugin G

cmake: ``cmake --install B --prefix W/prefix`` (components python and
proto); checks the .proto files under share/mp/proto and the package (with
its generated stubs) under W/prefix/D, then imports it from W with
PYTHONPATH=W/prefix/D and runs a session against mp-manager.

pip: ``pip install --no-build-isolation --no-index`` from a copy of the
source tree (proxy/python and proto/; a copy, so that the build leaves
nothing in the real tree) into a venv with --system-site-packages (Debian's
grpcio and protobuf), using Debian's setuptools and no network; then the
same session from W with the venv's interpreter. Exits 77 (skipped) without
the venv, pip, setuptools or wheel modules.

mp-manager comes from $MP_MANAGER_PATH (ctest sets it).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import select
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
TIMEOUT = 120  # seconds for any one step

# Run by the installed package's interpreter, from a directory that holds
# no mp_client: imports it, prints where from, and uses a few types.
SMOKE = r"""
import os, sys, mp_client
print(mp_client.__file__)
authkey = bytes.fromhex(os.environ["MP_AUTHKEY"])
with mp_client.connect(sys.argv[1], authkey) as s:
    lk = s.Lock(); v = s.Value("i", 0); q = s.named("jobs").JoinableQueue()
    with lk:
        v.value += 41
    q.put(v.value + 1)
    n = q.get(timeout=10); q.task_done()
    assert q.join(timeout=10) and n == 42, n
print("smoke ok")
"""

PROTOS = ("admin", "ops", "process", "session", "sync", "value")


def run(*cmd: str, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(a if "\n" not in a else "<script>" for a in cmd),
          flush=True)
    result = subprocess.run(cmd, timeout=TIMEOUT, text=True,
                            capture_output=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n"
                 f"{result.stdout}\n{result.stderr}")
    return result


class Manager:
    """An mp-manager on a unix socket in ``directory``."""

    def __init__(self, directory: str):
        binary = os.environ["MP_MANAGER_PATH"]
        self.authkey = os.urandom(32)
        key_file = os.path.join(directory, "key")
        with open(key_file, "wb") as f:
            f.write(self.authkey)
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [binary, "--listen", f"unix:{directory}/sock", "--authkey-file",
             key_file, "--ready-fd", str(write_fd)],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(write_fd)
        ready, _, _ = select.select([read_fd], [], [], 10)
        line = os.read(read_fd, 4096).decode() if ready else ""
        os.close(read_fd)
        if not line.endswith("\n"):
            self.stop()
            sys.exit("mp-manager did not report its address")
        self.address = line.strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def smoke(python: str, env: dict, work: str, expect_under: str) -> None:
    """Imports mp_client with ``python`` from ``work`` and uses it."""
    with tempfile.TemporaryDirectory(dir=work) as d:
        manager = Manager(d)
        try:
            # The authkey in the environment, never on a command line.
            env = dict(env, MP_AUTHKEY=manager.authkey.hex())
            out = run(python, "-c", SMOKE, manager.address, cwd=work,
                      env=env).stdout
        finally:
            manager.stop()
    where, status = out.splitlines()[-2:]
    print(f"imported from {where}")
    if not os.path.realpath(where).startswith(os.path.realpath(expect_under)):
        sys.exit(f"mp_client came from {where}, not from {expect_under}")
    if status != "smoke ok":
        sys.exit(f"unexpected output:\n{out}")


def check_package(root: str) -> None:
    """The package at root/mp_client has its sources and stubs."""
    pkg = os.path.join(root, "mp_client")
    for name in ("__init__.py", "_session.py", "_proto/__init__.py",
                 *(f"_proto/{p}_pb2.py" for p in PROTOS),
                 "_proto/session_pb2_grpc.py"):
        if not os.path.isfile(os.path.join(pkg, name)):
            sys.exit(f"missing {os.path.join(pkg, name)}")


def clean_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_cmake(args: argparse.Namespace) -> int:
    prefix = os.path.join(args.work, "prefix")
    for component in ("python", "proto"):
        run("cmake", "--install", args.build_dir, "--prefix", prefix,
            "--component", component)
    for p in PROTOS:
        proto = os.path.join(prefix, "share", "mp", "proto", "mp", "v1",
                             f"{p}.proto")
        if not os.path.isfile(proto):
            sys.exit(f"missing {proto}")
    site = os.path.join(prefix, args.python_dir)
    check_package(site)
    if glob.glob(os.path.join(site, "mp_client", "**", "__pycache__"),
                 recursive=True):
        sys.exit("__pycache__ installed")
    env = clean_env()
    env["PYTHONPATH"] = site
    smoke(sys.executable, env, args.work, site)
    # Where the default prefixes put it, for this interpreter.
    for default in ("/usr/local", "/usr"):
        if os.path.join(default, args.python_dir) in sys.path:
            print(f"{default}/{args.python_dir} is on {sys.executable}'s "
                  "sys.path")
    return 0


def check_pip(args: argparse.Namespace) -> int:
    missing = [m for m in ("venv", "pip", "setuptools", "wheel")
               if importlib.util.find_spec(m) is None]
    if missing:
        print(f"skipped: {sys.executable} lacks {', '.join(missing)} "
              "(Debian: python3-venv python3-pip python3-setuptools)")
        return SKIP
    src = os.path.join(args.work, "src")
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(os.path.join(args.source_dir, "proxy", "python"),
                    os.path.join(src, "proxy", "python"), ignore=ignore)
    shutil.copytree(os.path.join(args.source_dir, "proto"),
                    os.path.join(src, "proto"), ignore=ignore)
    venv = os.path.join(args.work, "venv")
    # Without its own pip: the system's, visible through the system site
    # packages, installs into the venv.
    run(sys.executable, "-m", "venv", "--system-site-packages",
        "--without-pip", venv)
    python = os.path.join(venv, "bin", "python")
    env = clean_env()
    env.update(PROTOC=args.protoc, GRPC_PYTHON_PLUGIN=args.plugin,
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    run(python, "-m", "pip", "install", "--no-build-isolation", "--no-index",
        os.path.join(src, "proxy", "python"), env=env)
    site = run(python, "-c",
               "import sysconfig; print(sysconfig.get_path('purelib'))",
               env=env).stdout.strip()
    check_package(site)
    smoke(python, env, args.work, venv)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("how", choices=("cmake", "pip"))
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--python-dir", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--protoc", required=True)
    parser.add_argument("--plugin", required=True)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    code = check_cmake(args) if args.how == "cmake" else check_pip(args)
    if code == 0:
        shutil.rmtree(args.work, ignore_errors=True)
        print("OK")
    return code


if __name__ == "__main__":
    sys.exit(main())
