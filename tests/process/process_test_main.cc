// main() for the process and pool test binaries; see process_test_main.h.
#include "tests/process/process_test_main.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace mp::testing {
namespace {

Manager* g_manager = nullptr;

// Children of this process still present, zombies included (the forkserver
// and the resource tracker excepted: they live as long as the program).
std::vector<pid_t> LeftoverChildren() {
  std::vector<pid_t> out;
  for (const ChildProcess& child : ChildProcesses()) {
    if (child.argv0 != "mp-forkserver" &&
        child.argv0 != "mp-resource-tracker") {
      out.push_back(child.pid);
    }
  }
  return out;
}

}  // namespace

Manager& SharedManager() { return *g_manager; }

std::vector<ChildProcess> ChildProcesses() {
  std::vector<ChildProcess> out;
  std::ifstream children("/proc/self/task/" + std::to_string(getpid()) +
                         "/children");
  for (pid_t pid; children >> pid;) {
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(cmdline, argv0, '\0');
    out.push_back({pid, std::move(argv0)});
  }
  return out;
}

std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace mp::testing

int main(int argc, char** argv) {
  mp::init(argc, argv);  // a spawned child runs its task here and exits
  ::testing::InitGoogleTest(&argc, argv);
  int rc;
  {
    mp::Manager manager;
    mp::testing::g_manager = &manager;
    rc = RUN_ALL_TESTS();
    mp::testing::g_manager = nullptr;
  }
  // No zombies, no orphans: every child the tests started has been reaped
  // (CPython's suite checks this after each test class).
  auto left = mp::testing::LeftoverChildren();
  if (!left.empty()) {
    std::fprintf(stderr,
                 "FAILED: %zu child processes left behind:", left.size());
    for (pid_t pid : left) std::fprintf(stderr, " %d", pid);
    std::fprintf(stderr, "\n");
    return 1;
  }
  return rc;
}
