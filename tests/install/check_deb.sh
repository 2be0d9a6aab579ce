#!/usr/bin/env bash
# The .deb as a user gets it: unpacks it with dpkg -x into a scratch root
# (no system change), checks it holds what it promises, then builds this
# directory's consumer against it twice - find_package(mp) and pkg-config -
# and runs both. Neither run sets MP_MANAGER_PATH: libmp_client.so finds the
# unpacked mp-manager next to itself (<libdir>/../bin), and mp-manager finds
# its libraries through its $ORIGIN RUNPATH.
# Usage: check_deb.sh mp_<version>_<arch>.deb WORK_DIR    (CXX: the compiler)
set -euo pipefail
deb="$(realpath "$1")"
work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cxx="${CXX:-c++}"
rm -rf "$work"
mkdir -p "$work"
root="$work/root"
dpkg-deb -x "$deb" "$root"
prefix="$root/usr"
libdir="$prefix/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)"

echo "== $(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
missing=0
expect() {
  for f in "$@"; do
    if [[ ! -e $f ]]; then echo "missing from the package: ${f#"$root"}"; missing=1; fi
  done
}
expect "$prefix/bin/mp-manager" "$prefix/include/mp/mp.h" "$prefix/include/mp/server.h" \
  "$libdir/cmake/mp/mpConfig.cmake" "$libdir/cmake/mp/mpTargets.cmake" \
  "$libdir/pkgconfig/mp.pc" "$libdir/pkgconfig/mp-server.pc" \
  "$prefix/share/mp/proto/mp/v1/ops.proto" \
  "$prefix/lib/python3/dist-packages/mp_client/__init__.py"
for lib in mp_proto mp_common mp_shared mp_client mp_process mp_server; do
  soname="$(objdump -p "$libdir/lib$lib.so" | awk '$1 == "SONAME" {print $2}')"
  [[ $soname == lib$lib.so.* ]] || { echo "lib$lib.so: SONAME '$soname'"; missing=1; }
  expect "$libdir/$soname"
done
((missing == 0))
dpkg-deb -f "$deb" Depends | grep -q 'libgrpc++1' ||
  { echo "Depends lacks the gRPC runtime"; exit 1; }

echo "== consumer: find_package(mp)"
cmake -S "$here" -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" > "$work/cmake.log"
cmake --build "$work/cmake" > "$work/build.log"
env -u MP_MANAGER_PATH "$work/cmake/consumer"

echo "== consumer: pkg-config mp mp-server"
# The .pc files name /usr; --define-variable points them at the unpacked root.
pc=(env PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config
    --define-variable=prefix="$prefix" mp mp-server)
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
"$cxx" -std=c++20 -O1 "$here/consumer.cc" -o "$work/consumer_pc" \
  $("${pc[@]}" --cflags) $("${pc[@]}" --libs) -Wl,-rpath,"$libdir"
env -u MP_MANAGER_PATH "$work/consumer_pc"

echo "== the Python client imports from the package"
PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 -c \
  'import mp_client; print("mp_client from", mp_client.__file__)'
