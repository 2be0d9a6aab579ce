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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"

extern char** environ;

namespace {

using std::chrono::duration;
using Clock = std::chrono::steady_clock;

constexpr char kHelperEnv[] = "MP_TRACKER_HELPER";  // the base name
// Set: after "ready", the helper waits for a "go" line on stdin, creates
// <base>_after, prints "after", then waits to be killed.
constexpr char kAfterEnv[] = "MP_TRACKER_HELPER_AFTER";

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
    children.emplace_back(options, CreateAndWait, base + "_" + method, created);
    children.back().start();
    if (!created.wait(duration<double>(60))) return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::optional<mp::SharedMemory> after;
  if (std::getenv(kAfterEnv) != nullptr) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    char line[16] = {};
    if (poll(&pfd, 1, 120'000) != 1 || read(STDIN_FILENO, line, 3) != 3 ||
        std::string(line, 3) != "go\n") {
      return 1;
    }
    after = mp::SharedMemory::create(4096, base + "_after");
    std::printf("after\n");
    std::fflush(stdout);
  }
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

// The helper process tree (Helper above), spawned in a process group of its
// own so that it can be killed whole, with pipes to its stdin, stdout and
// stderr. With `after`, it creates <base>_after when told "go".
struct Tree {
  pid_t helper = 0;
  int in = -1;   // its stdin
  int out = -1;  // its stdout
  int err = -1;  // its stderr, which its tracker holds too

  ~Tree() {
    if (helper > 0) {
      kill(-helper, SIGKILL);
      waitpid(helper, nullptr, 0);
    }
    for (int fd : {in, out, err}) {
      if (fd >= 0) close(fd);
    }
  }
};

void StartTree(const std::string& base, Tree& tree, bool after) {
  int in[2], out[2], err[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // a group of its own: killed whole
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kHelperEnv) + "=" + base);
  if (after) env.push_back(std::string(kAfterEnv) + "=1");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>("resource_tracker_helper"), nullptr};
  const int rc = posix_spawn(&tree.helper, "/proc/self/exe", &actions, &attr,
                             argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  tree.in = in[1];
  tree.out = out[0];
  tree.err = err[0];
  ASSERT_EQ(rc, 0);
}

// Waits (bounded) until every name is gone from /dev/shm.
bool AllGone(const std::vector<std::string>& names) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    bool left = false;
    for (const std::string& name : names) left = left || Exists(name);
    if (!left) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling
  }
}

// CPython TestResourceTracker.test_resource_tracker: segments a killed
// process leaves behind are unlinked by the tracker.
TEST(ResourceTrackerTest, UnlinksWhatAKilledTreeLeftBehind) {
  const std::string base = "mp_rt_test_" + std::to_string(getpid());
  // The tree attaches this one; it is ours and must survive the tree.
  mp::SharedMemory attached =
      mp::SharedMemory::create(4096, base + "_attached");
  Tree tree;
  StartTree(base, tree, /*after=*/false);
  if (HasFatalFailure()) return;

  const std::string ready = ReadFor(tree.out, "ready\n", 60);
  ASSERT_NE(ready.find("ready\n"), std::string::npos) << "the helper failed";
  const std::vector<std::string> leaked = {
      base + "_leak", base + "_fork", base + "_spawn", base + "_forkserver"};
  for (const std::string& name : leaked) EXPECT_TRUE(Exists(name)) << name;
  EXPECT_FALSE(Exists(base + "_unlinked"));
  // The name the helper unlinked, now someone else's: its tracker must
  // not remove it.
  mp::SharedMemory reused = mp::SharedMemory::create(4096, base + "_unlinked");

  ASSERT_EQ(kill(-tree.helper, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(tree.helper, &status, 0), tree.helper);
  tree.helper = 0;
  EXPECT_TRUE(WIFSIGNALED(status));
  // The tracker holds the helper's stderr until it is done: EOF means it
  // finished (the whole tree is gone; it never dies with it).
  const std::string warning = ReadFor(tree.err, "", 60);
  // And the segments are gone (a bounded poll, should the filesystem lag).
  AllGone(leaked);
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

// The children of `pid` (of its main thread, which starts them here).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" +
                         std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t child; children >> child;) out.push_back(child);
  return out;
}

// The tracker of `pid`: its child named mp-resource-tracker, or 0. A child
// just started may show an empty command line for a moment (exec has let
// its parent go on, the new argv is not in place yet), hence the bounded
// polling.
pid_t TrackerOf(pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  do {
    bool unnamed = false;
    for (pid_t child : ChildrenOf(pid)) {
      std::ifstream cmdline("/proc/" + std::to_string(child) + "/cmdline");
      std::string argv0;
      std::getline(cmdline, argv0, '\0');
      if (argv0 == "mp-resource-tracker") return child;
      unnamed = unnamed || argv0.empty();
    }
    if (!unnamed) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling
  } while (Clock::now() < deadline);
  return 0;
}

// Sends `signum` to the tree's tracker, has the tree create <base>_after,
// then SIGKILLs the tree; returns the tree's stderr up to EOF (the end of
// every tracker).
std::string SignalTrackerThenKillTree(const std::string& base, int signum,
                                      Tree& tree) {
  StartTree(base, tree, /*after=*/true);
  if (::testing::Test::HasFatalFailure()) return "";
  EXPECT_NE(ReadFor(tree.out, "ready\n", 60).find("ready\n"), std::string::npos)
      << "the helper failed";
  const pid_t tracker = TrackerOf(tree.helper);
  EXPECT_GT(tracker, 0) << "no tracker";
  if (tracker <= 0) return "";
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tracker, 0));
  EXPECT_GE(pidfd, 0);
  EXPECT_EQ(kill(tracker, signum), 0);
  if (signum == SIGKILL) {
    // Gone before the tree uses it again.
    pollfd pfd{pidfd, POLLIN, 0};
    EXPECT_EQ(poll(&pfd, 1, 30'000), 1) << "the tracker did not die";
  }
  close(pidfd);
  EXPECT_EQ(write(tree.in, "go\n", 3), 3);
  EXPECT_NE(ReadFor(tree.out, "after\n", 60).find("after\n"), std::string::npos)
      << "the helper did not create " << base << "_after";
  EXPECT_EQ(kill(-tree.helper, SIGKILL), 0);
  EXPECT_EQ(waitpid(tree.helper, nullptr, 0), tree.helper);
  tree.helper = 0;
  return ReadFor(tree.err, "", 60);
}

void CheckTrackerIgnores(int signum) {
  const std::string base =
      "mp_rt_sig" + std::to_string(signum) + "_" + std::to_string(getpid());
  mp::SharedMemory attached =
      mp::SharedMemory::create(4096, base + "_attached");
  Tree tree;
  const std::string warning = SignalTrackerThenKillTree(base, signum, tree);
  const std::vector<std::string> leaked = {
      base + "_leak", base + "_fork", base + "_spawn", base + "_forkserver",
      base + "_after"};
  EXPECT_TRUE(AllGone(leaked));
  EXPECT_NE(warning.find("resource_tracker: There appear to be 5 leaked "
                         "shared_memory objects to clean up at shutdown"),
            std::string::npos)
      << warning;
  for (const std::string& name : leaked) shm_unlink(("/" + name).c_str());
  attached.unlink();
}

// CPython TestResourceTracker.test_resource_tracker_sigint: the tracker
// ignores SIGINT and goes on tracking (what was registered before and
// after).
TEST(ResourceTrackerTest, test_resource_tracker_sigint) {
  CheckTrackerIgnores(SIGINT);
}

// CPython TestResourceTracker.test_resource_tracker_sigterm: the same for
// SIGTERM.
TEST(ResourceTrackerTest, test_resource_tracker_sigterm) {
  CheckTrackerIgnores(SIGTERM);
}

// CPython TestResourceTracker.test_resource_tracker_sigkill: a tracker
// that was SIGKILLed is started again for what is created after, with a
// warning. (mp used to keep sending to the dead one, so a segment created
// after was left in /dev/shm when the tree died.)
TEST(ResourceTrackerTest, test_resource_tracker_sigkill) {
  const std::string base = "mp_rt_sigkill_" + std::to_string(getpid());
  mp::SharedMemory attached =
      mp::SharedMemory::create(4096, base + "_attached");
  Tree tree;
  SignalTrackerThenKillTree(base, SIGKILL, tree);
  // What the killed tracker knew is lost (in CPython too); the segment
  // made after must be cleaned up.
  EXPECT_TRUE(AllGone({base + "_after"}));
  for (const char* suffix :
       {"_leak", "_fork", "_spawn", "_forkserver", "_after"}) {
    shm_unlink(("/" + base + suffix).c_str());
  }
  attached.unlink();
}

// A child's part of test_resource_tracker_reused: creates a named segment
// (registering it) and sends back how many children it has: a tracker of
// its own would be one (it starts no other process).
void CreateAndReport(std::string name, mp::Connection conn) {
  mp::SharedMemory shm = mp::SharedMemory::create(4096, name);
  conn.send(static_cast<int64_t>(ChildrenOf(getpid()).size()));
  shm.unlink();
}

// CPython TestResourceTracker.test_resource_tracker_reused: a child uses
// its parent's tracker (it starts none of its own), under every start
// method.
TEST(ResourceTrackerTest, test_resource_tracker_reused) {
  const std::string base = "mp_rt_reused_" + std::to_string(getpid());
  mp::SharedMemory mine = mp::SharedMemory::create(4096, base);
  const pid_t tracker = TrackerOf(getpid());
  ASSERT_GT(tracker, 0) << "the first create() started no tracker";
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    auto [conn, child_conn] = mp::Pipe();
    mp::ProcessOptions o;
    o.start_method = method;
    mp::Process p(o, CreateAndReport, base + "_" + method, child_conn);
    p.start();
    child_conn.close();
    ASSERT_TRUE(conn.poll(duration<double>(60))) << method;
    EXPECT_EQ(conn.recv(), mp::Object(0)) << method << " started a tracker";
    ASSERT_TRUE(p.join(duration<double>(60))) << method;
    EXPECT_EQ(p.exitcode(), 0) << method;
  }
  EXPECT_EQ(TrackerOf(getpid()), tracker);  // the same one, still there
  mine.unlink();
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  if (const char* base = std::getenv(kHelperEnv)) return Helper(base);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
