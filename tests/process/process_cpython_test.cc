// Ports of CPython's Lib/test/_test_multiprocessing.py _TestProcess and
// TestStartMethod, one test per CPython case, under each start method where
// CPython runs the case per start method. Each test is named after the
// CPython test. Cases already covered by tests/process/process_test.cc carry
// the CPython name in a comment there:
//   _TestProcess.test_parent_process_attributes -> ChildKnowsItsNameAndParent
//   _TestProcess.test_sentinel                  ->
//   SentinelBecomesReadableOnExit _TestProcess.test_cpu_count,
//   TestStartMethod.test_get_all
//                                               -> StartMethod.Names
//   TestNoForkBomb.test_noforkbomb              -> ctest process_no_fork_bomb
//
// Not ported (no C++ counterpart):
//   test_set_executable     - no set_executable(): spawn re-executes
//                             /proc/self/exe, the program itself.
//   test_parent_process     - ProcessInfo (parent_process()) is a name and
//                             pid only: no is_alive()/join() on the parent.
//   test_process_mainthread_native_id - Python's threading.main_thread()
//                             bookkeeping after fork; C++ has none.
//   test_lose_target_ref    - Python garbage collection of the target.
//   test_wait_for_threads   - Python joins non-daemon threads at exit; C++
//                             has no such registry (a task joins its own
//                             std::threads).
//   test_error_on_stdio_flush_1/_2 - sys.stdout/sys.stderr replacement.
//   TestStartMethod.test_context_check_module_types,
//   test_preload_resources  - forkserver module preloading (Python imports).
//   TestStartMethod.test_mixed_startmethod - fork-created SemLocks: mp's
//                             synchronisation objects are manager proxies,
//                             usable from every start method (covered by
//                             ProcessTest.RunsAPlainFunctionWithProxyArguments).
//   The ctx.set_start_method() part of test_context: a Context has no
//                             set_start_method.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/process/process_test_main.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

// Things that should happen get this long; things that must not happen
// are checked at once (or with short waits).
constexpr auto kLong = 30s;

Manager& m() { return testing::SharedManager(); }

bool Contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

// --- child functions (plain functions: they run under every method) ---

void PutArg(QueueProxy q, Object arg) { q.put(arg); }

void ReportProcess(QueueProxy q, int64_t a, int64_t b) {
  q.put(Object::list({a, b}));
  q.put(current_process().name());
  q.put(static_cast<int64_t>(getpid()));
}

void SleepForever() {
  for (;;) pause();
}

void WaitForEvent(EventProxy e) { e.wait(kLong); }

void WaitForItem(QueueProxy q) { q.get(true, kLong); }

void SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void Recurse(QueueProxy q, Object id, std::string method) {
  q.put(id);
  if (id.as_list().size() < 2) {
    for (int64_t i = 0; i < 2; ++i) {
      Object::List next = id.as_list();
      next.push_back(i);
      ProcessOptions o;
      o.start_method = method;
      Process p(o, Recurse, q, Object::list(std::move(next)), method);
      p.start();
      p.join();
    }
  }
}

void PutFdCountThenWait(QueueProxy q, EventProxy e) {
  int64_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  q.put(n);
  e.wait(kLong);
}

void WaitThenSet(EventProxy go, EventProxy done) {
  if (go.wait(kLong)) done.set();
}

void PutStartMethod(QueueProxy q) { q.put(get_start_method()); }

void PutOne(QueueProxy q) { q.put(1); }

void PutTwoAndNestOnce(QueueProxy q) {
  q.put(2);
  Process p(PutOne, q);  // the default start method: the one that started us
  p.start();
  p.join();
}

class ProcessCPythonTest : public ::testing::TestWithParam<std::string> {
 protected:
  ProcessOptions Options(bool daemon = false) {
    ProcessOptions o;
    o.start_method = GetParam();
    o.daemon = daemon;
    return o;
  }
};

// CPython _TestProcess.test_current (is_alive/daemon/authkey/exitcode of
// the current process have no counterpart in ProcessInfo).
TEST(ProcessCPython, test_current) {
  ProcessInfo current = current_process();
  EXPECT_EQ(current.pid(), getpid());
  EXPECT_EQ(current.name(), "MainProcess");
}

// CPython _TestProcess.test_args_argument: arguments of each kind arrive
// unchanged.
TEST_P(ProcessCPythonTest, test_args_argument) {
  QueueProxy q = m().Queue(1);
  for (const Object& arg :
       {Object(1), Object("str"), Object::list({1}), Object::tuple({1})}) {
    Process p(Options(true), PutArg, q, arg);
    p.start();
    EXPECT_EQ(q.get(true, kLong), arg);
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

// CPython _TestProcess.test_daemon_argument
TEST(ProcessCPython, test_daemon_argument) {
  Process proc0(SleepForever);   // never started
  EXPECT_FALSE(proc0.daemon());  // the current process is not a daemon
  ProcessOptions o;
  o.daemon = true;
  Process proc1(o, SleepForever);
  EXPECT_TRUE(proc1.daemon());
  o.daemon = false;
  Process proc2(o, SleepForever);
  EXPECT_FALSE(proc2.daemon());
}

// CPython _TestProcess.test_process
TEST_P(ProcessCPythonTest, test_process) {
  QueueProxy q = m().Queue(1);  // the child blocks until we read
  ProcessOptions o = Options(true);
  o.name = "SomeProcess";
  Process p(o, ReportProcess, q, 1, 2);
  EXPECT_FALSE(p.is_alive());
  EXPECT_TRUE(p.daemon());
  EXPECT_EQ(p.exitcode(), std::nullopt);

  p.start();
  EXPECT_EQ(p.exitcode(), std::nullopt);
  EXPECT_TRUE(p.is_alive());
  EXPECT_TRUE(Contains(active_children(), p.pid()));

  EXPECT_EQ(q.get(true, kLong), Object::list({1, 2}));
  EXPECT_EQ(q.get(true, kLong), Object("SomeProcess"));
  EXPECT_EQ(q.get(true, kLong), Object(static_cast<int64_t>(p.pid())));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(p.is_alive());
  EXPECT_FALSE(Contains(active_children(), p.pid()));
}

// CPython _TestProcess._kill_process, shared by test_terminate/test_kill.
int KillProcess(ProcessOptions options, void (Process::*meth)()) {
  Process p(options, SleepForever);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_TRUE(Contains(active_children(), p.pid()));
  EXPECT_EQ(p.exitcode(), std::nullopt);
  EXPECT_FALSE(p.join(0s));
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.join(-1s));
  EXPECT_TRUE(p.is_alive());
  (p.*meth)();
  EXPECT_TRUE(p.join(kLong));
  EXPECT_FALSE(p.is_alive());
  EXPECT_FALSE(Contains(active_children(), p.pid()));
  p.join();
  return p.exitcode().value_or(0);
}

// CPython _TestProcess.test_terminate
TEST_P(ProcessCPythonTest, test_terminate) {
  EXPECT_EQ(KillProcess(Options(true), &Process::terminate), -SIGTERM);
}

// CPython _TestProcess.test_kill
TEST_P(ProcessCPythonTest, test_kill) {
  EXPECT_EQ(KillProcess(Options(true), &Process::kill), -SIGKILL);
}

// CPython _TestProcess.test_active_children
TEST_P(ProcessCPythonTest, test_active_children) {
  EventProxy e = m().Event();
  Process p(Options(true), WaitForEvent, e);
  EXPECT_FALSE(Contains(active_children(), p.pid()));
  p.start();
  EXPECT_TRUE(Contains(active_children(), p.pid()));
  e.set();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(Contains(active_children(), p.pid()));
}

// CPython _TestProcess.test_recursion: children start grandchildren (with
// the same method); a queue stands in for the pipe, whose ends only reach
// fork children.
TEST_P(ProcessCPythonTest, test_recursion) {
  QueueProxy q = m().Queue();
  Recurse(q, Object::list({}), GetParam());
  std::vector<Object> result;
  for (int i = 0; i < 7; ++i) result.push_back(q.get(true, kLong));
  EXPECT_TRUE(q.empty());
  std::vector<Object> expected = {Object::list({}),     Object::list({0}),
                                  Object::list({0, 0}), Object::list({0, 1}),
                                  Object::list({1}),    Object::list({1, 0}),
                                  Object::list({1, 1})};
  EXPECT_EQ(result, expected);
}

// CPython _TestProcess.test_close
TEST_P(ProcessCPythonTest, test_close) {
  QueueProxy q = m().Queue();
  Process p(Options(true), WaitForItem, q);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_THROW(p.close(), ValueError);  // still running
  q.put(nullptr);
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
  p.close();
  EXPECT_THROW(p.is_alive(), ValueError);
  EXPECT_THROW(p.join(), ValueError);
  EXPECT_THROW(p.join(1s), ValueError);
  EXPECT_THROW(p.terminate(), ValueError);
  EXPECT_THROW(p.kill(), ValueError);
  EXPECT_THROW(p.start(), ValueError);
  p.close();  // again: fine
}

// CPython _TestProcess.test_many_processes (CPython: 100 processes, 5 under
// spawn; 40 here, for a loaded 2-core machine).
TEST_P(ProcessCPythonTest, test_many_processes) {
  const int n = GetParam() == "spawn" ? 5 : 40;
  std::vector<Process> procs;
  for (int i = 0; i < n; ++i) procs.emplace_back(Options(), SleepMs, 10);
  for (auto& p : procs) p.start();
  for (auto& p : procs) EXPECT_TRUE(p.join(kLong));
  for (auto& p : procs) EXPECT_EQ(p.exitcode(), 0);

  procs.clear();
  for (int i = 0; i < n; ++i) procs.emplace_back(Options(), SleepForever);
  for (auto& p : procs) p.start();
  for (auto& p : procs) p.terminate();  // right away, while starting
  for (auto& p : procs) EXPECT_TRUE(p.join(kLong));
  for (auto& p : procs) EXPECT_EQ(p.exitcode(), -SIGTERM);
}

// CPython _TestProcess.test_child_fd_inflation: the number of fds in a
// child does not grow with the number of running children.
TEST_P(ProcessCPythonTest, test_child_fd_inflation) {
  if (GetParam() == "fork") {
    GTEST_SKIP() << "fork children inherit every fd of the parent by design";
  }
  constexpr int kN = 5;
  EventProxy e = m().Event();
  QueueProxy q = m().Queue();
  std::vector<Process> procs;
  for (int i = 0; i < kN; ++i) {
    procs.emplace_back(Options(), PutFdCountThenWait, q, e);
  }
  for (auto& p : procs) p.start();
  std::set<int64_t> counts;
  std::vector<int64_t> all;
  for (int i = 0; i < kN; ++i) {
    all.push_back(q.get(true, kLong).as_int());
    counts.insert(all.back());
  }
  e.set();
  for (auto& p : procs) p.join();
  EXPECT_EQ(counts.size(), 1u) << ::testing::PrintToString(all);
}

// The forkserver among this process's children.
pid_t ForkserverPid() {
  for (const testing::ChildProcess& child : testing::ChildProcesses()) {
    if (child.argv0 == "mp-forkserver") return child.pid;
  }
  return 0;
}

// CPython _TestProcess.check_forkserver_death: after the forkserver dies,
// new processes still start (a new server), and a child started before
// still runs to its end.
void CheckForkserverDeath(int signum) {
  ProcessOptions o;
  o.start_method = "forkserver";
  EventProxy go = m().Event();
  EventProxy evt = m().Event();
  Process proc(o, WaitThenSet, go, evt);
  proc.start();

  const pid_t server = ForkserverPid();
  ASSERT_GT(server, 0);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, server, 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(::kill(server, signum), 0);
  pollfd pfd{pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 30000), 1);  // it is gone
  ::close(pidfd);

  EventProxy evt2 = m().Event();
  EventProxy go2 = m().Event();
  go2.set();
  Process proc2(o, WaitThenSet, go2, evt2);
  proc2.start();
  proc2.join();
  EXPECT_TRUE(evt2.is_set());
  EXPECT_EQ(proc2.exitcode(), 0);

  go.set();
  EXPECT_TRUE(evt.wait(kLong));  // the orphan finished its work
  proc.join();
  // Its status died with the server (CPython reports 255 then).
  EXPECT_TRUE(proc.exitcode() == 0 || proc.exitcode() == -SIGKILL)
      << proc.exitcode().value_or(999);
}

// CPython _TestProcess.test_forkserver_sigint
TEST(ProcessCPython, test_forkserver_sigint) { CheckForkserverDeath(SIGINT); }

// CPython _TestProcess.test_forkserver_sigkill
TEST(ProcessCPython, test_forkserver_sigkill) { CheckForkserverDeath(SIGKILL); }

// CPython TestStartMethod.check_context: a child reports the start method
// it was started with.
void CheckContext(const Context& ctx) {
  QueueProxy q = m().Queue();
  Process p = ctx.Process(PutStartMethod, q);
  p.start();
  Object child_method = q.get(true, kLong);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(child_method, Object(ctx.start_method()));
}

// CPython TestStartMethod.test_context
TEST(StartMethodCPython, test_context) {
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    Context ctx = get_context(method);
    EXPECT_EQ(ctx.start_method(), method);
    CheckContext(ctx);
  }
}

// CPython TestStartMethod.test_set_get
TEST(StartMethodCPython, test_set_get) {
  const std::string old_method = get_start_method();
  int count = 0;
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    set_start_method(method);
    EXPECT_EQ(get_start_method(), method);
    Context ctx = get_context();
    EXPECT_EQ(ctx.start_method(), method);
    // A Process with no method given uses the process-wide one.
    QueueProxy q = m().Queue();
    Process p(PutStartMethod, q);
    p.start();
    EXPECT_EQ(q.get(true, kLong), Object(method));
    p.join();
    ++count;
  }
  set_start_method(old_method);
  EXPECT_EQ(count, 3);
}

// CPython TestStartMethod.test_nested_startmethod (gh-108520): a child
// passes its own arguments on to a grandchild.
TEST_P(ProcessCPythonTest, test_nested_startmethod) {
  QueueProxy q = m().Queue();
  Process p(Options(), PutTwoAndNestOnce, q);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  std::set<int64_t> results;
  for (int i = 0; i < 2; ++i) results.insert(q.get(true, kLong).as_int());
  EXPECT_EQ(results, (std::set<int64_t>{1, 2}));
  EXPECT_TRUE(q.empty());
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessCPythonTest,
                         ::testing::Values("fork", "spawn", "forkserver"));

}  // namespace
}  // namespace mp
