// The main() shared by the process and pool test binaries
// (process_test_main.cc): mp::init runs first (a spawned child runs its task
// there and exits), one manager serves the whole binary, and the binary
// fails if any child process is left behind after the suite. Also the
// helpers those tests share.
#ifndef MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
#define MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mp/mp.h"

namespace mp::testing {

// The binary's manager (a real mp-manager process), alive while tests run.
Manager& SharedManager();

// This process's children, zombies included, with their argv[0].
struct ChildProcess {
  pid_t pid;
  std::string argv0;
};
std::vector<ChildProcess> ChildProcesses();

// 0, 1, ..., n-1: the usual pool inputs.
std::vector<int64_t> Range(int64_t n);

// Pool tests parameterised by start method ("fork", "spawn", "forkserver").
class StartMethodPoolTest : public ::testing::TestWithParam<std::string> {
 protected:
  PoolOptions Options(int processes = 2) const {
    PoolOptions o;
    o.processes = processes;
    o.context = GetParam();
    return o;
  }
};

}  // namespace mp::testing

#endif  // MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
