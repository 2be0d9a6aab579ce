// Linked into every GoogleTest binary (mp_test in tests/CMakeLists.txt):
// points MP_MANAGER_PATH at the build tree's mp-manager before main(), so
// the tests use the server they were built with. It is set here rather
// than in the tests' ENVIRONMENT property because gtest_discover_tests
// (CMake 3.25) splits a list-valued property: with two variables there,
// the second was silently dropped - the "/grpc" runs were running on the
// local transport.
#include <cstdlib>

namespace {

const bool kManagerPathSet = [] {
  setenv("MP_MANAGER_PATH", MP_MANAGER_BINARY, /*overwrite=*/0);
  return true;
}();

}  // namespace
