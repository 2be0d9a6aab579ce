// The resource tracker (common/resource_tracker.h): named SharedMemory
// segments a process tree created and left behind are unlinked once the
// whole tree is gone, even SIGKILLed; segments the user unlinked, and
// segments the tree only attached, are left alone.
//
// The tree under test is this binary again, started in helper mode
// (MP_TRACKER_HELPER) in a process group of its own, so that the test can
// SIGKILL all of it at once; its tracker runs in a session of its own and
// survives that, as it must.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"

extern char** environ;

namespace {

using std::chrono::duration;
using Clock = std::chrono::steady_clock;

constexpr char kHelperEnv[] = "MP_TRACKER_HELPER";  // the base name

bool Exists(const std::string& name) {
  struct stat st {};
  return stat(("/dev/shm/" + name).c_str(), &st) == 0;
}

// ---- the helper tree ----

void CreateAndWait(std::string name, mp::Event created) {
  mp::SharedMemory shm = mp::SharedMemory::create(4096, name);
  created.set();
  mp::Event().wait(duration<double>(120));  // until SIGKILLed
}

// Creates <base>_leak and leaves it; creates <base>_unlinked and unlinks
// it; attaches <base>_attached (the test's); children under each start
// method create <base>_<method> and leave them. Prints "ready", then waits
// to be killed.
int Helper(const std::string& base) {
  mp::SharedMemory leak = mp::SharedMemory::create(4096, base + "_leak");
  mp::SharedMemory unlinked =
      mp::SharedMemory::create(4096, base + "_unlinked");
  unlinked.unlink();
  mp::SharedMemory attached = mp::SharedMemory::attach(base + "_attached");
  std::vector<mp::Process> children;
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    mp::Event created;
    mp::ProcessOptions options;
    options.start_method = method;
    children.emplace_back(options, CreateAndWait, base + "_" + method,
                          created);
    children.back().start();
    if (!created.wait(duration<double>(60))) return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  mp::Event().wait(duration<double>(120));  // until SIGKILLed
  return 0;
}

// ---- the test ----

// Reads `fd` until `until` appears (or EOF, with `until` empty), for at most
// `timeout`. Returns what was read.
std::string ReadFor(int fd, const std::string& until, double timeout) {
  std::string got;
  const auto deadline = Clock::now() + duration<double>(timeout);
  while (Clock::now() < deadline) {
    if (!until.empty() && got.find(until) != std::string::npos) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EOF: every holder of the write end is gone
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// CPython TestResourceTracker.test_resource_tracker: segments a killed
// process leaves behind are unlinked by the tracker.
TEST(ResourceTrackerTest, UnlinksWhatAKilledTreeLeftBehind) {
  const std::string base = "mp_rt_test_" + std::to_string(getpid());
  // The tree attaches this one; it is ours and must survive the tree.
  mp::SharedMemory attached =
      mp::SharedMemory::create(4096, base + "_attached");

  int out[2], err[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // a group of its own: killed whole
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kHelperEnv) + "=" + base);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>("resource_tracker_helper"), nullptr};
  pid_t helper = 0;
  ASSERT_EQ(posix_spawn(&helper, "/proc/self/exe", &actions, &attr, argv,
                        envp.data()),
            0);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);

  const std::string ready = ReadFor(out[0], "ready\n", 60);
  ASSERT_NE(ready.find("ready\n"), std::string::npos) << "the helper failed";
  const std::vector<std::string> leaked = {base + "_leak", base + "_fork",
                                           base + "_spawn",
                                           base + "_forkserver"};
  for (const std::string& name : leaked) EXPECT_TRUE(Exists(name)) << name;
  EXPECT_FALSE(Exists(base + "_unlinked"));
  // The name the helper unlinked, now someone else's: its tracker must
  // not remove it.
  mp::SharedMemory reused = mp::SharedMemory::create(4096, base + "_unlinked");

  ASSERT_EQ(kill(-helper, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(helper, &status, 0), helper);
  EXPECT_TRUE(WIFSIGNALED(status));
  // The tracker holds the helper's stderr until it is done: EOF means it
  // finished (the whole tree is gone; it never dies with it).
  const std::string warning = ReadFor(err[0], "", 60);
  close(out[0]);
  close(err[0]);
  // And the segments are gone (a bounded poll, should the filesystem lag).
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  auto any_left = [&] {
    for (const std::string& name : leaked) {
      if (Exists(name)) return true;
    }
    return false;
  };
  while (any_left() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling
  }
  for (const std::string& name : leaked) EXPECT_FALSE(Exists(name)) << name;
  EXPECT_NE(warning.find("resource_tracker: There appear to be 4 leaked "
                         "shared_memory objects to clean up at shutdown"),
            std::string::npos)
      << warning;
  EXPECT_TRUE(Exists(base + "_unlinked"));  // the user unlinked its own
  EXPECT_TRUE(Exists(base + "_attached"));  // only attached by the tree
  reused.unlink();
  attached.unlink();
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  if (const char* base = std::getenv(kHelperEnv)) return Helper(base);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
