"""Generates mp_client's gRPC/protobuf stubs from proto/mp/v1/*.proto.

Used by the CMake build (proxy/python/CMakeLists.txt) and by setup.py (pip),
so both produce the same package. The stubs are never committed.

    gen_stubs.py --proto-dir PROTO --out PKG/_proto [--protoc P] [--plugin G]

protoc writes ``mp/v1/x_pb2.py`` files that import each other absolutely
(``from mp.v1 import value_pb2``), which only works with the output
directory itself on sys.path and would claim the top-level name ``mp`` for
every program that imports the client. Instead the files are written flat
into the package directory ``mp_client/_proto/`` and those imports are
rewritten to relative ones (``from . import value_pb2``): the installed
package is self-contained and needs no sys.path changes. (The descriptors
keep their proto names, "mp/v1/value.proto", so the wire format and
reflection are unchanged.)

Needs ``protoc`` and ``grpc_python_plugin`` (Debian: protobuf-compiler,
protobuf-compiler-grpc); grpcio-tools is not needed.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

# `from mp.v1 import value_pb2 as mp_dot_v1_dot_value__pb2`
_ABSOLUTE_IMPORT = re.compile(r"^from mp\.v1 import (\w+)", re.MULTILINE)
# Any import of the `mp` package left after the rewrite is an error.
_LEFTOVER = re.compile(r"^\s*(from|import)\s+mp(\.|\s)", re.MULTILINE)

_INIT = ('"""Generated from proto/mp/v1/*.proto by gen_stubs.py; '
         'do not edit."""\n')


def find_tool(name: str, env: str) -> str:
    """The tool from $env, else from PATH; SystemExit if absent."""
    path = os.environ.get(env) or shutil.which(name)
    if not path:
        package = ("protobuf-compiler-grpc" if "grpc" in name
                   else "protobuf-compiler")
        raise SystemExit(
            f"gen_stubs: {name} not found (set {env}; Debian: {package})")
    return path


def rewrite_imports(source: str, name: str) -> str:
    """Makes the stubs' imports of each other relative (see above)."""
    out = _ABSOLUTE_IMPORT.sub(r"from . import \1", source)
    if _LEFTOVER.search(out):
        raise SystemExit(f"gen_stubs: {name}: an import of 'mp' is left "
                         "after the rewrite (protoc output changed?)")
    return out


def generate(proto_dir: str, out_dir: str, protoc: str | None = None,
             plugin: str | None = None) -> list[str]:
    """Runs protoc on proto_dir/mp/v1/*.proto; writes the package out_dir.

    Returns the files written. Stale stubs in out_dir are removed.
    """
    protoc = protoc or find_tool("protoc", "PROTOC")
    plugin = plugin or find_tool("grpc_python_plugin", "GRPC_PYTHON_PLUGIN")
    proto_dir = os.path.abspath(proto_dir)
    protos = sorted(glob.glob(os.path.join(proto_dir, "mp", "v1", "*.proto")))
    if not protos:
        raise SystemExit(f"gen_stubs: no mp/v1/*.proto under {proto_dir}")
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mp-stubs-") as tmp:
        subprocess.run(
            [protoc, f"--proto_path={proto_dir}", f"--python_out={tmp}",
             f"--grpc_out={tmp}", f"--plugin=protoc-gen-grpc={plugin}",
             *protos],
            check=True)
        generated = sorted(glob.glob(os.path.join(tmp, "mp", "v1", "*.py")))
        for stale in glob.glob(os.path.join(out_dir, "*_pb2*.py")):
            os.remove(stale)
        written = []
        for path in generated:
            name = os.path.basename(path)
            with open(path, encoding="utf-8") as f:
                text = rewrite_imports(f.read(), name)
            target = os.path.join(out_dir, name)
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            written.append(target)
    init = os.path.join(out_dir, "__init__.py")
    with open(init, "w", encoding="utf-8") as f:
        f.write(_INIT)
    return [init, *written]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto-dir", required=True,
                        help="the directory holding mp/v1/*.proto")
    parser.add_argument("--out", required=True,
                        help="the package directory to write "
                        "(mp_client/_proto)")
    parser.add_argument("--protoc", help="protoc (default: $PROTOC or PATH)")
    parser.add_argument("--plugin", help="grpc_python_plugin (default: "
                        "$GRPC_PYTHON_PLUGIN or PATH)")
    args = parser.parse_args(argv[1:])
    generate(args.proto_dir, args.out, args.protoc, args.plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
