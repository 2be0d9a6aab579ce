// Ports of the remaining test classes of CPython's
// Lib/test/_test_multiprocessing.py, one test per CPython case, named after
// it, under each start method where CPython runs the case per start method.
//
// Covered elsewhere (the CPython name is in a comment on the test):
//   TestResourceTracker.test_resource_tracker ->
//       ResourceTrackerTest.UnlinksWhatAKilledTreeLeftBehind
//   TestResourceTracker.test_too_long_name_resource ->
//       SharedMemoryTest.BadArguments
//   TestResourceTracker.test_resource_tracker_sigint/_sigterm/_sigkill/
//       _reused -> ported in tests/shared/resource_tracker_test.cc, which
//       has the helper process tree they need (_sigkill disabled: a bug).
//
// Not ported (no C++ counterpart):
//   TestFlags                  - Python interpreter flags (-E -S -O) passed
//                                on to grandchildren; a C++ program has none.
//   TestForkAwareThreadLock    - util.ForkAwareThreadLock and its after-fork
//                                registry are Python internals; mp's atfork
//                                handlers are not public API.
//   TestIgnoreEINTR.test_ignore_listener - no Listener.
//   TestInitializers.test_manager_initializer - ManagerOptions has no
//                                initializer (the server is mp-manager, not
//                                a fork of the program).
//   The TypeError parts of TestInitializers (initializer=1) - a
//                                non-callable initializer does not compile.
//   TestInternalDecorators     - a decorator of CPython's test suite.
//   TestInvalidFamily          - no Listener/Client address families.
//   TestNamedResource          - mp's Semaphore (like every server-less
//                                object) is an unnamed descriptor freed with
//                                its last holder: a spawned child running the
//                                program's globals again has no named
//                                semaphore to leak.
//   TestStdinBadfiledescriptor.test_flushing - a Python file-like object.
//   TestTimeouts               - socket.setdefaulttimeout and Listener; a
//                                Connection has no timeout of its own.
//   TestWait                   - no multiprocessing.connection.wait.
//   _TestFinalize              - no util.Finalize.
//   _TestHeap                  - no heap (shared objects are segments of
//                                their own).
//   _TestImportStar            - Python module imports.
//   _TestListener, _TestListenerClient - no Listener/Client.
//   _TestLogging               - no logging module.
//   _TestPicklingConnections.test_pickling - Listener/Client connections
//                                and sockets; only Pipe ends travel.
//   _TestRemoteManager's put(time.sleep) - an unconvertible value does not
//                                compile.
//   _TestSharedCTypes.test_copy - no sharedctypes.copy(); a Value made from
//                                another's get() is the C++ spelling.
//   _TestSubclassingProcess.test_subclassing - mp::Process has no run() to
//                                override: the target is a function.
//   The non-integer reasons of _TestSubclassingProcess.test_sys_exit -
//                                sys.exit('text') has no C++ counterpart.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/process/process_test_main.h"

namespace mp {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration;

// Things that should happen get this long.
constexpr auto kLong = 30s;

Manager& m() { return testing::SharedManager(); }

class MiscCPythonTest : public ::testing::TestWithParam<std::string> {
 protected:
  ProcessOptions Options() const {
    ProcessOptions o;
    o.start_method = GetParam();
    return o;
  }
};

void JoinOk(Process& p) {
  ASSERT_TRUE(p.join(kLong)) << "the child did not finish";
  EXPECT_EQ(p.exitcode(), 0);
}

// recv() has no timeout: every recv in these tests comes after a poll that
// bounds the wait.
Object RecvWithin(const Connection& conn) {
  if (!conn.poll(kLong)) throw TimeoutError("nothing arrived");
  return conn.recv();
}
std::string RecvBytesWithin(const Connection& conn) {
  if (!conn.poll(kLong)) throw TimeoutError("nothing arrived");
  return conn.recv_bytes();
}

std::string RandomHex() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out += "0123456789abcdef"[rd() % 16];
  }
  return out;
}

// The state letter (R, S, D, ...) of a process's main thread.
char MainThreadState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" +
                   std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return '?';
  return stat[close + 2];
}

// Waits until the main thread of `pid` sleeps in a system call. There is
// no event for "blocked in recv()/send()/poll()", so the /proc state is
// polled (bounded in time); the signal tests need the target blocked for
// the signal to interrupt a call.
bool WaitUntilBlocked(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (std::chrono::steady_clock::now() < deadline) {
    if (MainThreadState(pid) == 'S') return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Signals counted by a SIGUSR1 handler, in memory shared with children so
// that a child can see that the handler ran. The handler only does a
// lock-free atomic add: async-signal-safe.
int32_t* g_signal_count = nullptr;

void CountSignal(int) {
  if (g_signal_count != nullptr) {
    std::atomic_ref<int32_t>(*g_signal_count).fetch_add(1);
  }
}

// Installs CountSignal for SIGUSR1 without SA_RESTART, so that a blocking
// call the signal interrupts fails with EINTR (what Python's handlers do:
// PEP 475 retries in the library, not in the kernel).
struct sigaction InstallCounter(int32_t* count) {
  g_signal_count = count;
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = CountSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, &old);
  return old;
}

// A signal handler may only do async-signal-safe things (it cannot set an
// Event), so its counter is polled, bounded in time.
bool WaitForCount(const Value<int32_t>& count, int32_t want) {
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count.get() >= want) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Signals the main thread only (kill() could pick any thread).
void SignalMainThread(pid_t pid) { syscall(SYS_tgkill, pid, pid, SIGUSR1); }

// ---------------------------------------------------------------------------
// _TestSubclassingProcess

void FailWithStderrIn(std::string path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw ValueError("cannot create " + path);
  dup2(fd, STDERR_FILENO);
  close(fd);
  throw ValueError("1/0 # MARKER");
}

// CPython _TestSubclassingProcess.test_stderr_flush: the child's report of
// its uncaught exception reaches its stderr in full before it exits.
TEST_P(MiscCPythonTest, test_stderr_flush) {
  const std::string path = ::testing::TempDir() + "mp_stderr_flush_" +
                           std::to_string(getpid()) + "_" + GetParam();
  std::filesystem::remove(path);
  Process p(Options(), FailWithStderrIn, path);
  p.start();
  ASSERT_TRUE(p.join(kLong));
  EXPECT_EQ(p.exitcode(), 1);
  std::ifstream in(path);
  std::string err((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  EXPECT_NE(err.find("Traceback"), std::string::npos) << err;
  EXPECT_NE(err.find("ValueError"), std::string::npos) << err;
  EXPECT_NE(err.find("1/0 # MARKER"), std::string::npos) << err;
  EXPECT_NE(err.find(p.name()), std::string::npos) << err;
}

void ExitWith(int code) { std::exit(code); }

// CPython _TestSubclassingProcess.test_sys_exit (integer reasons): the
// child's exit status is its exitcode (sys.exit(True) is 1, sys.exit(None)
// and sys.exit() are 0).
TEST_P(MiscCPythonTest, test_sys_exit) {
  for (int code : {1, 0, 8}) {
    ProcessOptions o = Options();
    o.daemon = true;
    Process p(o, ExitWith, code);
    p.start();
    ASSERT_TRUE(p.join(kLong)) << code;
    EXPECT_EQ(p.exitcode(), code);
  }
}

// ---------------------------------------------------------------------------
// _TestRemoteManager, _TestManagerRestart

Object RemoteValues() {
  return Object::tuple({"hello world", nullptr, true, 2.25,
                        "hall\xc3\xa5 v\xc3\xa4rlden",
                        "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd1\x96\xd1\x82 "
                        "\xd1\x81\xd0\xb2\xd1\x96\xd1\x82",
                        Object::bytes("hall\xe5 v\xe4rlden")});
}

void PutRemoteValues(std::string address, std::string authkey) {
  Manager manager = Manager::connect(address, authkey);
  manager.named("queue").Queue().put(RemoteValues());
}

// CPython _TestRemoteManager.test_remote: a process that knows only the
// address and the authkey reaches the server's queue; another connection
// gets what it put, every value intact.
void CheckRemote(ProcessOptions o) {
  const std::string authkey = RandomHex();
  Manager manager(ManagerOptions{.address = "127.0.0.1:0", .authkey = authkey});
  o.daemon = true;
  Process p(o, PutRemoteValues, manager.address(), authkey);
  p.start();
  Manager manager2 = Manager::connect(manager.address(), authkey);
  QueueProxy queue = manager2.named("queue").Queue();
  EXPECT_EQ(queue.get(kLong), RemoteValues());
  JoinOk(p);
}

// The fork start method has its own (disabled) test below: a gRPC limit.
constexpr char kForkTcpBug[] =
    "gRPC 1.51 limitation: a fork child cannot connect to a TCP manager, "
    "see ManagerCPython.DISABLED_*_fork";

TEST_P(MiscCPythonTest, test_remote) {
  if (GetParam() == "fork") GTEST_SKIP() << kForkTcpBug;
  CheckRemote(Options());
}

ProcessOptions ForkOptions() {
  ProcessOptions o;
  o.start_method = "fork";
  return o;
}

// A fork child that cannot reach a TCP manager (the limitation below) is
// told why and what to do instead, in the error itself.
void ConnectAndReport(std::string address, std::string authkey,
                      Connection report) {
  try {
    Manager manager = Manager::connect(address, authkey);
    report.send("connected");
  } catch (const Error& e) {
    report.send(e.what());
  }
}

TEST(ManagerCPython, ForkChildThatCannotReachATcpManagerSaysWhy) {
  const std::string authkey = RandomHex();
  Manager manager(ManagerOptions{.address = "127.0.0.1:0", .authkey = authkey});
  auto [reader, writer] = Pipe();
  Process p(ForkOptions(), ConnectAndReport, manager.address(), authkey,
            writer);
  p.start();
  writer.close();
  const Object said = RecvWithin(reader);
  JoinOk(p);
  if (said == Object("connected")) return;  // gRPC got it right after all
  const std::string text = said.as_str();
  EXPECT_NE(text.find("timed out connecting"), std::string::npos) << text;
  EXPECT_NE(text.find("fork()ed from one that had used gRPC"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("'spawn' or 'forkserver'"), std::string::npos) << text;
}

// CPython _TestRemoteManager.test_remote under fork.
// DISABLED (a gRPC 1.51 limitation, not fixed in mp): in a child started
// with fork, Manager::connect("127.0.0.1:PORT",
// authkey) (gRPC, the only transport for a TCP address) fails after its
// connect timeout with ConnectionError "timed out connecting to the manager
// at 127.0.0.1:PORT", while the parent, which holds a connection to that
// server, and spawn/forkserver children connect at once. A fork child's
// Manager::connect over gRPC to a unix: address works. CPython's fork
// children connect to a remote manager like any process.
TEST(ManagerCPython, DISABLED_test_remote_fork) { CheckRemote(ForkOptions()); }

void PutHello(std::string address, std::string authkey) {
  Manager manager = Manager::connect(address, authkey);
  manager.named("queue").Queue().put("hello world");
}

// CPython _TestManagerRestart.test_rapid_restart: a manager shut down, a
// new one started at once on the same TCP address.
void CheckRapidRestart(const ProcessOptions& o) {
  const std::string authkey = RandomHex();
  std::string address;
  {
    Manager manager(
        ManagerOptions{.address = "127.0.0.1:0", .authkey = authkey});
    address = manager.address();
    Process p(o, PutHello, address, authkey);
    p.start();
    JoinOk(p);
    EXPECT_EQ(manager.named("queue").Queue().get(kLong), Object("hello world"));
    manager.shutdown();
  }
  Manager manager(ManagerOptions{.address = address, .authkey = authkey});
  EXPECT_EQ(manager.address(), address);
  Process p(o, PutHello, address, authkey);
  p.start();
  JoinOk(p);
  QueueProxy queue = manager.named("queue").Queue();
  EXPECT_EQ(queue.get(kLong), Object("hello world"));
  EXPECT_TRUE(queue.empty());  // a new server: nothing left from the first
}

TEST_P(MiscCPythonTest, test_rapid_restart) {
  if (GetParam() == "fork") GTEST_SKIP() << kForkTcpBug;
  CheckRapidRestart(Options());
}

// CPython _TestManagerRestart.test_rapid_restart under fork.
// DISABLED: the gRPC limitation of DISABLED_test_remote_fork (the fork
// child's Manager::connect to the TCP address times out).
TEST(ManagerCPython, DISABLED_test_rapid_restart_fork) {
  CheckRapidRestart(ForkOptions());
}

// ---------------------------------------------------------------------------
// _TestPoll

// CPython _TestPoll.test_empty_string: an empty message is a message.
TEST(PollCPython, test_empty_string) {
  auto [a, b] = Pipe();
  EXPECT_FALSE(a.poll());
  b.send_bytes("");
  EXPECT_TRUE(a.poll());
  EXPECT_TRUE(a.poll());  // polling takes nothing
  EXPECT_EQ(a.recv_bytes(), "");
  EXPECT_FALSE(a.poll());
}

const std::vector<std::string>& PollStrings() {
  static const std::vector<std::string> strings = {"hello", "",    "a", "b",
                                                   "",      "bye", "",  "lop"};
  return strings;
}

void SendStringsSlowly(Connection conn) {
  for (const std::string& s : PollStrings()) {
    // Spaced out so that the parent's short polls see no message, then
    // one (the scenario under test, not synchronisation).
    std::this_thread::sleep_for(20ms);
    conn.send_bytes(s);
  }
  conn.close();
}

// CPython _TestPoll.test_strings: short polls see each message as it
// arrives, empty ones included.
TEST_P(MiscCPythonTest, test_strings) {
  auto [a, b] = Pipe();
  Process p(Options(), SendStringsSlowly, b);
  p.start();
  b.close();
  for (const std::string& s : PollStrings()) {
    bool ready = false;
    for (int i = 0; i < 3000 && !ready; ++i) ready = a.poll(10ms);
    ASSERT_TRUE(ready) << "no message '" << s << "'";
    EXPECT_EQ(a.recv_bytes(), s);
  }
  JoinOk(p);
}

void PollOnce(Connection r, Event polling) {
  polling.set();
  r.poll(5s);
}

// CPython _TestPoll.test_boundaries: a child that polls the read end takes
// no part of a message from it.
TEST_P(MiscCPythonTest, test_boundaries) {
  auto [r, w] = Pipe(/*duplex=*/false);
  Event polling;
  Process p(Options(), PollOnce, r, polling);
  p.start();
  ASSERT_TRUE(polling.wait(kLong));
  w.send_bytes("first");
  w.send_bytes("second");
  w.close();
  JoinOk(p);
  EXPECT_EQ(RecvBytesWithin(r), "first");
  EXPECT_EQ(RecvBytesWithin(r), "second");
}

void SendThree(Connection b) {
  b.send_bytes("a");
  b.send_bytes("b");
  b.send_bytes("cd");
}

// CPython _TestPoll.test_dont_merge: messages sent back to back stay
// separate; poll sees the next one without taking it.
TEST_P(MiscCPythonTest, test_dont_merge) {
  auto [a, b] = Pipe();
  EXPECT_FALSE(a.poll(0s));
  EXPECT_FALSE(a.poll(100ms));
  Process p(Options(), SendThree, b);
  p.start();
  EXPECT_EQ(RecvBytesWithin(a), "a");
  EXPECT_TRUE(a.poll(1s));
  EXPECT_TRUE(a.poll(1s));
  EXPECT_EQ(a.recv_bytes(), "b");
  EXPECT_TRUE(a.poll(1s));
  EXPECT_TRUE(a.poll(1s));
  EXPECT_TRUE(a.poll(0s));
  EXPECT_EQ(a.recv_bytes(), "cd");
  JoinOk(p);
}

// ---------------------------------------------------------------------------
// _TestPicklingConnections

void ChildAccess(Connection conn) {
  Connection w = from_object<Connection>(RecvWithin(conn));
  w.send("all is well");
  w.close();
  Connection r = from_object<Connection>(RecvWithin(conn));
  const std::string msg = RecvWithin(r).as<std::string>();
  conn.send(msg + msg);
  conn.close();
}

// CPython _TestPicklingConnections.test_access: a write end and a read end
// sent to a running process each work there in their direction.
TEST_P(MiscCPythonTest, test_access) {
  auto [conn, child_conn] = Pipe();
  ProcessOptions o = Options();
  o.daemon = true;
  Process p(o, ChildAccess, child_conn);
  p.start();
  child_conn.close();
  {
    auto [r, w] = Pipe(/*duplex=*/false);
    conn.send(to_object(w));
    w.close();
    EXPECT_EQ(RecvWithin(r), Object("all is well"));
  }
  {
    auto [r, w] = Pipe(/*duplex=*/false);
    conn.send(to_object(r));
    r.close();
    w.send("foobar");
    w.close();
    EXPECT_EQ(RecvWithin(conn), Object("foobarfoobar"));
  }
  JoinOk(p);
}

// ---------------------------------------------------------------------------
// _TestSharedCTypes

struct Foo {
  int32_t x;
  double y;
};

// x.value *= 2 and so on, holding the object's lock when it has one (the
// synchronized wrappers of test_synchronize).
template <class Shared, class F>
void Update(const Shared& shared, F f) {
  if (shared.has_lock()) {
    std::lock_guard hold(shared.get_lock());
    f();
  } else {
    f();
  }
}

void DoubleAll(Value<int32_t> x, Value<double> y, Value<int64_t> z,
               Value<Foo> foo, Array<double> arr, Array<char> string) {
  Update(x, [&] { x.set(x.get() * 2); });
  Update(y, [&] { y.set(y.get() * 2); });
  Update(z, [&] { z.set(z.get() * 2); });
  Update(foo, [&] {
    Foo f = foo.get();
    f.x *= 2;
    f.y *= 2;
    foo.set(f);
  });
  Update(string, [&] {
    // string.value *= 2: the text up to its NUL, twice.
    const std::vector<char> all = string.to_vector();
    std::string text(all.data(), strnlen(all.data(), all.size()));
    text += text;
    string.assign(0, std::vector<char>(text.begin(), text.end()));
  });
  for (size_t i = 0; i < arr.size(); ++i) {
    Update(arr, [&] { arr.set(i, arr.get(i) * 2); });
  }
}

void CheckSharedCTypes(const ProcessOptions& options, bool lock) {
  Value<int32_t> x(7, lock);
  Value<double> y(1.0 / 3.0, lock);
  Value<int64_t> z(int64_t{1} << 33, lock);
  Value<Foo> foo(Foo{3, 2}, lock);
  Array<double> arr({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, lock);
  Array<char> string(20, lock);
  string.assign(0, {'h', 'e', 'l', 'l', 'o'});
  EXPECT_EQ(x.has_lock(), lock);
  EXPECT_EQ(arr.has_lock(), lock);

  ProcessOptions o = options;
  o.daemon = true;
  Process p(o, DoubleAll, x, y, z, foo, arr, string);
  p.start();
  JoinOk(p);

  EXPECT_EQ(x.get(), 14);
  EXPECT_DOUBLE_EQ(y.get(), 2.0 / 3.0);
  EXPECT_EQ(z.get(), int64_t{1} << 34);
  EXPECT_EQ(foo.get().x, 6);
  EXPECT_DOUBLE_EQ(foo.get().y, 4.0);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(arr.get(i), i * 2);
  const std::vector<char> text = string.to_vector();
  EXPECT_EQ(std::string(text.data(), strnlen(text.data(), text.size())),
            "hellohello");
}

// CPython _TestSharedCTypes.test_sharedctypes: raw values, a struct, a
// double array and a char array changed by a child.
TEST_P(MiscCPythonTest, test_sharedctypes) {
  CheckSharedCTypes(Options(), /*lock=*/false);
}

// CPython _TestSharedCTypes.test_synchronize: the same with locks.
TEST_P(MiscCPythonTest, test_synchronize) {
  CheckSharedCTypes(Options(), /*lock=*/true);
}

// ---------------------------------------------------------------------------
// TestSimpleQueue

void PutEmptiness(SimpleQueue queue, Event child_can_start,
                  Event parent_can_continue) {
  struct SetOnExit {
    Event& e;
    ~SetOnExit() { e.set(); }
  } set_on_exit{parent_can_continue};
  if (!child_can_start.wait(kLong)) throw TimeoutError("never started");
  queue.put(queue.empty());
  queue.put(queue.empty());
}

// CPython TestSimpleQueue.test_empty: empty() is right in a child under
// every start method (issue 30301).
TEST_P(MiscCPythonTest, test_empty) {
  SimpleQueue queue;
  Event child_can_start;
  Event parent_can_continue;
  ProcessOptions o = Options();
  o.daemon = true;
  Process p(o, PutEmptiness, queue, child_can_start, parent_can_continue);
  p.start();
  EXPECT_TRUE(queue.empty());
  child_can_start.set();
  ASSERT_TRUE(parent_can_continue.wait(kLong));
  EXPECT_FALSE(queue.empty());
  EXPECT_EQ(queue.get(kLong), Object(true));
  EXPECT_EQ(queue.get(kLong), Object(false));
  EXPECT_TRUE(queue.empty());
  JoinOk(p);
}

// CPython TestSimpleQueue.test_close: closing twice is fine.
TEST(SimpleQueueCPython, test_close) {
  SimpleQueue queue;
  EXPECT_NO_THROW(queue.close());
  EXPECT_NO_THROW(queue.close());
}

// CPython TestSimpleQueue.test_closed: after close() both ends are closed
// (CPython checks the private _reader/_writer; here, both directions
// refuse).
TEST(SimpleQueueCPython, test_closed) {
  SimpleQueue queue;
  queue.put(1);
  queue.close();
  EXPECT_THROW(queue.put(2), ValueError);
  EXPECT_THROW(queue.get(false), ValueError);
}

// ---------------------------------------------------------------------------
// TestInitializers

void IncrementTest(NamespaceProxy ns) {
  ns.set("test", ns.get("test").as<int64_t>() + 1);
}

// CPython TestInitializers.test_pool_initializer: a pool of one worker,
// closed and joined without tasks, ran its initializer once. (mp used to
// start workers on the first task, so such a pool never ran it; CPython's
// Pool starts its processes in the constructor.)
TEST_P(MiscCPythonTest, test_pool_initializer) {
  NamespaceProxy ns = m().Namespace();
  ns.set("test", 0);
  PoolOptions o;
  o.processes = 1;
  o.context = GetParam();
  Pool pool(o.with_initializer(IncrementTest, ns));
  pool.close();
  pool.join();
  EXPECT_EQ(ns.get("test"), Object(1));
}

// ---------------------------------------------------------------------------
// TestStdinBadfiledescriptor

void GetNowaitIfAny(Queue q) {
  try {
    q.get_nowait();
  } catch (const Empty&) {
  }
}

void QueueInProcess(std::string method) {
  Queue queue;
  ProcessOptions o;
  o.start_method = method;
  o.daemon = true;
  Process sub(o, GetNowaitIfAny, queue);
  sub.start();
  if (!sub.join(kLong) || sub.exitcode() != 0) {
    throw RuntimeError("the grandchild failed");
  }
}

// CPython TestStdinBadfiledescriptor.test_queue_in_process: a child makes
// a queue and a process of its own.
TEST_P(MiscCPythonTest, test_queue_in_process) {
  Process p(Options(), QueueInProcess, GetParam());
  p.start();
  JoinOk(p);
}

int64_t Square(int64_t x) { return x * x; }

void PoolInProcess(std::string method) {
  PoolOptions o;
  o.processes = 4;
  o.context = method;
  Pool pool(o);
  auto result =
      pool.map_async(Square, std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7});
  if (result.get(kLong) != std::vector<int64_t>{1, 4, 9, 16, 25, 36, 49}) {
    throw RuntimeError("wrong squares");
  }
  pool.close();
  pool.join();
}

// CPython TestStdinBadfiledescriptor.test_pool_in_process: a child runs a
// pool.
TEST_P(MiscCPythonTest, test_pool_in_process) {
  Process p(Options(), PoolInProcess, GetParam());
  p.start();
  JoinOk(p);
}

// CPython TestStdinBadfiledescriptor.test_pool_in_process with the pool's
// default start method (forkserver) or spawn, in a child started each way.
// A spawn or forkserver Pool failed every task here ("the task function and
// its caller are in different loaded objects"): its worker function is in
// libmp_process, and the dynamic linker had bound the trampoline of that
// signature to this executable's instantiation (PutRemoteValues has the
// same one). A task now names the trampoline's object too.
TEST(StdinBadfiledescriptorCPython, test_pool_in_process_spawn_pool) {
  for (const char* outer : {"fork", "spawn", "forkserver"}) {
    for (const char* inner : {"spawn", "forkserver"}) {
      ProcessOptions o;
      o.start_method = outer;
      Process p(o, PoolInProcess, std::string(inner));
      p.start();
      ASSERT_TRUE(p.join(kLong));
      EXPECT_EQ(p.exitcode(), 0) << outer << " child, " << inner << " pool";
    }
  }
}

// ---------------------------------------------------------------------------
// TestCloseFds

// A socket with a descriptor number high enough that a fresh process has
// none as high; inheritable (no CLOEXEC), so only mp can keep it from a
// spawned child.
int HighSocketFd() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  const int fd = fcntl(s, F_DUPFD, 50);
  close(s);
  return fd;
}

void ProbeSocketFd(Connection conn, int fd) {
  int type = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
    conn.send(nullptr);
  } else {
    conn.send(static_cast<int64_t>(errno));
  }
}

// CPython TestCloseFds.test_closefd: a fork child has the parent's socket;
// a spawn or forkserver child has no descriptor it was not given (EBADF).
void CheckCloseFd(const ProcessOptions& o) {
  auto [reader, writer] = Pipe();
  const int fd = HighSocketFd();
  ASSERT_GE(fd, 50);
  Process p(o, ProbeSocketFd, writer, fd);
  p.start();
  writer.close();
  Object e;
  try {
    e = RecvWithin(reader);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  JoinOk(p);
  if (o.start_method == "fork") {
    EXPECT_TRUE(e.is_none()) << e;
  } else {
    EXPECT_EQ(e, Object(int64_t{EBADF}));
  }
}

TEST_P(MiscCPythonTest, test_closefd) { CheckCloseFd(Options()); }

// The same under spawn and forkserver with the forkserver started after
// the descriptor was opened (it is spawned too, and every child it forks
// would have it). A spawned child used to inherit every descriptor of its
// parent that lacked FD_CLOEXEC; CPython's spawn and forkserver close all
// they do not pass on (close_fds), whatever the inheritable flag.
TEST(CloseFdsCPython, test_closefd_spawn) {
  for (const char* method : {"spawn", "forkserver"}) {
    SCOPED_TRACE(method);
    ProcessOptions o;
    o.start_method = method;
    CheckCloseFd(o);
  }
}

// ---------------------------------------------------------------------------
// TestIgnoreEINTR, _TestPollEintr

constexpr size_t kConnMaxSize = (16u << 20) + 1;  // support.SOCK_MAX_SIZE

void IgnoreEintrChild(Connection conn, Value<int32_t> count) {
  InstallCounter(count.data());
  conn.send("ready");
  // SIGUSR1 arrives while this blocks: a plain recv on purpose (no poll
  // first); it ends when the parent sends or closes its end.
  const Object x = conn.recv();
  conn.send(x);
  // More than the socket holds: blocks in send while SIGUSR1 arrives.
  conn.send_bytes(std::string(kConnMaxSize, 'x'));
}

// CPython TestIgnoreEINTR.test_ignore: a signal whose handler returns
// interrupts neither recv nor send of a Connection.
TEST_P(MiscCPythonTest, test_ignore) {
  auto [conn, child_conn] = Pipe();
  Value<int32_t> count(0, /*lock=*/false);
  ProcessOptions o = Options();
  o.daemon = true;
  Process p(o, IgnoreEintrChild, child_conn, count);
  p.start();
  child_conn.close();
  ASSERT_EQ(RecvWithin(conn), Object("ready"));
  ASSERT_TRUE(WaitUntilBlocked(p.pid()));
  SignalMainThread(p.pid());
  ASSERT_TRUE(WaitForCount(count, 1));
  conn.send(1234);
  EXPECT_EQ(RecvWithin(conn), Object(1234));
  ASSERT_TRUE(WaitUntilBlocked(p.pid()));
  SignalMainThread(p.pid());
  ASSERT_TRUE(WaitForCount(count, 2));
  const std::string big = RecvBytesWithin(conn);
  EXPECT_EQ(big.size(), kConnMaxSize);
  EXPECT_EQ(big.find_first_not_of('x'), std::string::npos);
  JoinOk(p);
}

void WaitForRelease(Event release) {
  if (!release.wait(kLong)) throw TimeoutError("never released");
}

// Signals the parent's main thread three times, each time once it is
// blocked again (in join) and has handled the previous signal, then lets
// the joined process finish.
void Killer(int64_t parent, Value<int32_t> count, Event release) {
  const auto pid = static_cast<pid_t>(parent);
  for (int32_t i = 1; i <= 3 && !release.is_set(); ++i) {
    if (!WaitUntilBlocked(pid)) break;
    SignalMainThread(pid);
    if (!WaitForCount(count, i)) break;
  }
  release.set();
}

// CPython _TestPollEintr.test_poll_eintr: a signal whose handler returns
// does not cut join() short. (It did: join(timeout) polled the sentinel
// once and returned false on EINTR with the process still running.)
TEST_P(MiscCPythonTest, test_poll_eintr) {
  Value<int32_t> count(0, /*lock=*/false);
  const struct sigaction old = InstallCounter(count.data());
  Event release;
  Process p(Options(), WaitForRelease, release);
  p.start();
  Process killer(Options(), Killer, static_cast<int64_t>(getpid()), count,
                 release);
  killer.start();
  const bool joined = p.join(kLong);
  EXPECT_TRUE(joined) << "join() returned early";
  EXPECT_EQ(p.exitcode(), 0);
  // Cleanup that holds whatever join() did: no signal may come after the
  // handler is gone.
  // join() itself is what may return early here: bounded retries.
  release.set();
  for (int i = 0; i < 100 && !killer.join(kLong); ++i) {
  }
  for (int i = 0; i < 100 && !p.join(kLong); ++i) {
  }
  sigaction(SIGUSR1, &old, nullptr);
  g_signal_count = nullptr;
  EXPECT_EQ(killer.exitcode(), 0);
  EXPECT_EQ(count.get(), 3);
}

// ---------------------------------------------------------------------------
// TestInvalidHandle

// CPython TestInvalidHandle.test_invalid_handles: poll() and recv() on a
// descriptor that is not open do not crash; they answer or raise an mp
// error.
TEST(InvalidHandleCPython, test_invalid_handles) {
  Connection conn(44977608, true, true);
  try {
    conn.poll();  // an answer or an mp error; a crash fails the test
  } catch (const Error&) {
  }
  EXPECT_THROW(conn.recv_bytes(), Error);
}

// CPython TestInvalidHandle.test_invalid_handles, its second half:
// Connection(-1) raises ValueError at once. (It made a closed Connection,
// whose mistake showed only at its first call.)
TEST(InvalidHandleCPython, test_invalid_handles_negative) {
  try {
    Connection conn(-1, true, true);
    ADD_FAILURE() << "Connection(-1) was accepted";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "ValueError: invalid handle: -1");
  }
}

// ---------------------------------------------------------------------------
// TestPoolNotLeakOnFailure

// The highest descriptor open in this process.
int HighestFd() {
  int highest = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::atoi(entry.path().filename().c_str()));
  }
  return highest;
}

// For 0, 1, 2, ... free descriptors, a pool of 5 fork workers given 5
// tasks; reports a row per count: [free, tasks done, tasks failed, child
// processes left after the pool is gone]. Each count is exact: the
// descriptor limit is lowered and every free slot below it filled.
void PoolsUnderFdLimits(Connection report) {
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  Object::List rows;
  for (int free_fds = 0; free_fds <= 80; ++free_fds) {
    rlimit lim = old;
    lim.rlim_cur = static_cast<rlim_t>(HighestFd() + 1 + 100);
    setrlimit(RLIMIT_NOFILE, &lim);
    std::vector<int> fillers;
    for (int i = 0; i < 10000; ++i) {  // bounded by the limit, far below
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers.push_back(fd);
    }
    for (int i = 0; i < free_fds && !fillers.empty(); ++i) {
      close(fillers.back());
      fillers.pop_back();
    }
    int64_t done = 0;
    int64_t failed = 0;
    {
      PoolOptions o;
      o.processes = 5;
      o.context = "fork";
      Pool pool(o);
      std::vector<AsyncResult<int64_t>> results;
      for (int64_t i = 0; i < 5; ++i) {
        results.push_back(pool.apply_async(Square, i));
      }
      for (auto& r : results) {
        try {
          r.get(kLong);
          ++done;
        } catch (const TimeoutError&) {
          throw;  // a hang, not a failure to start
        } catch (const Error&) {
          ++failed;
        }
      }
      pool.terminate();
      pool.join();
    }
    for (int fd : fillers) close(fd);
    setrlimit(RLIMIT_NOFILE, &old);
    int64_t left = 0;
    for (const auto& child : testing::ChildProcesses()) {
      if (child.argv0 != "mp-forkserver" &&
          child.argv0 != "mp-resource-tracker") {
        ++left;
      }
    }
    rows.push_back(Object::list({free_fds, done, failed, left}));
    if (done == 5) break;
  }
  report.send(Object::list(rows));
}

// CPython TestPoolNotLeakOnFailure.test_release_unused_processes: when
// workers fail to start, the failure reaches the caller and no process is
// left behind. CPython mocks Process.start; here the failure is real (too
// few descriptors), and mp starts workers on the first tasks, not in the
// constructor, so the failure arrives as the tasks' errors.
TEST(PoolNotLeakOnFailureCPython, test_release_unused_processes) {
  auto [mine, theirs] = Pipe();
  ProcessOptions o;
  o.start_method = "fork";  // the limits stay in the child
  Process p(o, PoolsUnderFdLimits, theirs);
  p.start();
  theirs.close();
  ASSERT_TRUE(mine.poll(std::chrono::seconds(120)));
  const Object rows = mine.recv();
  RecordProperty("rows", rows.repr());
  JoinOk(p);
  bool some_failed = false;
  bool partly_started = false;
  for (const Object& row : rows.as_list()) {
    const auto& r = row.as_list();
    EXPECT_EQ(r[3], Object(0)) << "children left behind: " << rows;
    if (r[2].as<int64_t>() > 0) some_failed = true;
    if (r[1].as<int64_t>() > 0 && r[2].as<int64_t>() > 0) {
      partly_started = true;
    }
  }
  EXPECT_TRUE(some_failed) << rows;
  EXPECT_TRUE(partly_started) << rows;
  EXPECT_EQ(rows.as_list().back().as_list()[1], Object(5)) << rows;
}

INSTANTIATE_TEST_SUITE_P(StartMethods, MiscCPythonTest,
                         ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace mp
