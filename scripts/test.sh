#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest),
# including the install + find_package(mp) consumer check.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_missing_packages
configure_and_build
echo "== ctest"
cd "$BUILD"
ctest --output-on-failure --timeout 300 -j "$(nproc)"
