"""setuptools build of mp_client (metadata in pyproject.toml).

    pip install --no-build-isolation --no-index proxy/python

Works offline with Debian's python3-setuptools: build_py also generates the
gRPC/protobuf stubs from the repository's proto/ directory (or
$MP_PROTO_DIR) into the built package's mp_client/_proto, with gen_stubs.py
(protoc and grpc_python_plugin from PATH, or $PROTOC and
$GRPC_PYTHON_PLUGIN; grpcio-tools is not needed). The source tree is left
without stubs.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithStubs(build_py):
    """build_py, then the stubs generated into the built package."""

    def run(self) -> None:
        super().run()
        sys.path.insert(0, HERE)
        import gen_stubs  # noqa: E402 - next to this file

        proto_dir = os.environ.get("MP_PROTO_DIR") or os.path.join(
            HERE, os.pardir, os.pardir, "proto")
        gen_stubs.generate(proto_dir,
                           os.path.join(self.build_lib, "mp_client", "_proto"))


setup(cmdclass={"build_py": BuildPyWithStubs})
