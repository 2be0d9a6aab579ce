# Shared by demo.sh and test.sh: install what is missing, configure, build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MP_BUILD_DIR:-$ROOT/build}"

PACKAGES=(g++ cmake ninja-build pkg-config git ca-certificates
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
          libabsl-dev libgtest-dev libssl-dev openssl python3-grpcio python3-protobuf
          docker-compose iproute2 procps
          # proxy/python: pip install from the source tree (python_install_pip)
          python3-setuptools python3-venv python3-pip
          # ci_checks.sh package: cpack -G DEB's Depends (dpkg-shlibdeps, file)
          dpkg-dev file
          # scripts/ci_checks.sh: clang's thread-safety analysis, sanitizers
          # and libFuzzer (clang-14 pulls in its sanitizer runtimes)
          clang-14 libfuzzer-14-dev llvm-14)

install_missing_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# Arguments: extra cmake cache settings (ci_checks.sh package: the /usr prefix).
configure_and_build() {
  echo "== building in $BUILD"
  local launcher=()
  # A developer's rebuilds are mostly cache hits; CI's fresh machine has no ccache.
  if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@"
  cmake --build "$BUILD" --parallel "$(nproc)"
}
