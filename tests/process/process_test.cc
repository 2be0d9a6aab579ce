// mp::Process under each start method: real children, real signals.
// Case-by-case ports of CPython's _TestProcess and TestStartMethod are in
// process_cpython_test.cc; tests here that cover a CPython case name it.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/process/process_test_main.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

void SetKey(DictProxy d, std::string key, int64_t value) { d[key] = value; }

void RecordIdentity(DictProxy d) {
  d["name"] = current_process().name();
  d["pid"] = static_cast<int64_t>(getpid());
  auto parent = parent_process();
  d["parent_pid"] = parent ? static_cast<int64_t>(parent->pid()) : int64_t{-1};
  d["parent_name"] = parent ? parent->name() : std::string();
}

void Fail(std::string message) { throw ValueError(message); }

void SleepForever() {
  for (;;) pause();
}

void CopyInto(DictProxy from, ListProxy into) { into.append(from["x"].get()); }

// Waits, with its session open, until the parent has looked at it.
void HoldSession(DictProxy d, EventProxy done) {
  d["pid"] = static_cast<int64_t>(getpid());
  done.wait(std::chrono::seconds(30));
}

class ProcessTest : public ::testing::TestWithParam<std::string> {
 protected:
  Manager& m() { return testing::SharedManager(); }
  ProcessOptions Options(std::string name = "") {
    ProcessOptions o;
    o.name = std::move(name);
    o.start_method = GetParam();
    return o;
  }
};

TEST_P(ProcessTest, RunsAPlainFunctionWithProxyArguments) {
  DictProxy d = m().dict();
  Process p(Options(), SetKey, d, "answer", 42);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(d["answer"].get(), Object(42));
  EXPECT_FALSE(p.is_alive());
}

// CPython _TestProcess.test_parent_process_attributes
TEST_P(ProcessTest, ChildKnowsItsNameAndParent) {
  EXPECT_FALSE(parent_process().has_value());
  DictProxy d = m().dict();
  Process p(Options("worker-7"), RecordIdentity, d);
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(d["name"].get(), Object("worker-7"));
  EXPECT_EQ(d["pid"].get(), Object(static_cast<int64_t>(p.pid())));
  EXPECT_EQ(d["parent_pid"].get(), Object(static_cast<int64_t>(getpid())));
  EXPECT_EQ(d["parent_name"].get(), Object(current_process().name()));
}

TEST_P(ProcessTest, ExceptionInChildGivesExitCode1) {
  Process p(Options(), Fail, "boom");
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

// CPython _TestProcess.test_terminate and test_kill in short (the full
// _kill_process sequence is ported in process_cpython_test.cc); also: no
// restart, and start() after close().
TEST_P(ProcessTest, TerminateAndKillGiveNegativeSignal) {
  Process p(Options(), SleepForever);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.join(100ms));
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.terminate();
  EXPECT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGTERM);
  Process q(Options(), SleepForever);
  q.start();
  q.kill();
  q.join();
  EXPECT_EQ(q.exitcode(), -SIGKILL);
  EXPECT_THROW(q.start(), ProcessError);
  q.close();
  EXPECT_THROW(q.start(), ValueError);
}

TEST_P(ProcessTest, ParentMayDropItsProxyRightAfterStart) {
  // CPython's spawn loses the object here (RebuildProxy skips the incref).
  ListProxy out = m().list();
  std::optional<Process> p;
  {
    DictProxy temp = m().dict({{Object("x"), "kept alive"}});
    p.emplace(Options(), CopyInto, temp, out);
    p->start();
  }  // the parent's last reference to `temp` is gone
  p->join();
  EXPECT_EQ(p->exitcode(), 0);
  EXPECT_EQ(out.copy(), Object::list({"kept alive"}));
}

void WaitForEvent(EventProxy e) { e.wait(30s); }

void ExitWith(int code) { std::exit(code); }
// The forkserver's pid, as seen from a process it forked.
void ReportParent(QueueProxy q) { q.put(static_cast<int64_t>(getppid())); }

// Runs in a fork child: starts a grandchild through the forkserver.
void StartForkserverChild(QueueProxy q) {
  ProcessOptions o;
  o.start_method = "forkserver";
  Process p(o, ReportParent, q);
  p.start();
  p.join(30s);
  q.put(static_cast<int64_t>(p.exitcode().value_or(-100)));
}

// A fork child that uses the forkserver gets its own, not its parent's
// connection (whose socket it shares and whose lock a parent thread may
// hold at the fork); the parent's keeps working.
TEST(ProcessForkserver, ForkChildUsesItsOwnForkserver) {
  ProcessOptions fs;
  fs.start_method = "forkserver";
  QueueProxy q = testing::SharedManager().Queue();
  Process warm(fs, ReportParent, q);
  warm.start();
  warm.join(30s);
  EXPECT_EQ(warm.exitcode(), 0);
  const Object parents_forkserver = q.get(true, 30s);
  ProcessOptions fk;
  fk.start_method = "fork";
  Process child(fk, StartForkserverChild, q);
  child.start();
  const Object childs_forkserver = q.get(true, 30s);
  EXPECT_NE(childs_forkserver, parents_forkserver);
  EXPECT_EQ(q.get(true, 30s), Object(0));  // the grandchild's exit code
  child.join(30s);
  EXPECT_EQ(child.exitcode(), 0);
  Process again(fs, ExitWith, 4);
  again.start();
  again.join(30s);
  EXPECT_EQ(again.exitcode(), 4);
}

// CPython _TestProcess.test_sentinel (-1 before start() where Python raises
// ValueError).
TEST_P(ProcessTest, SentinelBecomesReadableOnExit) {
  EventProxy e = m().Event();
  Process p(Options(), WaitForEvent, e);
  EXPECT_EQ(p.sentinel(), -1);
  p.start();
  ASSERT_GE(p.sentinel(), 0);
  pollfd pfd{p.sentinel(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);  // running: not readable
  e.set();
  EXPECT_EQ(poll(&pfd, 1, 30000), 1);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

// A child reaches the manager of a proxy it was given the way the parent
// asked to: its own session, on the same transport.
TEST_P(ProcessTest, ChildUsesTheTransportTheParentAskedFor) {
  for (Transport transport : {Transport::kGrpc, Transport::kLocal}) {
    const std::string want = transport == Transport::kGrpc ? "grpc" : "local";
    Manager mm = Manager::connect(m().address(), m().authkey(),
                                  {.transport = transport});
    ASSERT_EQ(mm.transport(), want);
    DictProxy d = mm.dict();
    EventProxy done = mm.Event();
    Process p(Options(), HoldSession, d, done);
    p.start();
    int64_t pid = 0;
    for (int i = 0; i < 3000 && pid == 0; ++i) {
      if (d.contains("pid"))
        pid = d["pid"].get().as_int();
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(pid, p.pid());
    // The session line naming the child's pid names its transport.
    std::istringstream report(mm.inspect());
    std::string line, child_line;
    for (std::string l; std::getline(report, l);) {
      if (l.find(" " + std::to_string(pid) + " ") != std::string::npos) {
        child_line = l;
      }
    }
    EXPECT_NE(child_line.find(" " + want + " "), std::string::npos)
        << "want " << want << ", got: " << child_line;
    done.set();
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessTest,
                         ::testing::Values("fork", "spawn", "forkserver"));

TEST(ProcessFork, LambdaWithCapturesUnderForkOnly) {
  DictProxy d = testing::SharedManager().dict();
  int captured = 5;
  ProcessOptions fork_options;
  fork_options.start_method = "fork";
  Process p(fork_options, [d, captured] { d["c"] = captured; });
  p.start();
  p.join();
  EXPECT_EQ(d["c"].get(), Object(5));
  ProcessOptions spawn_options;
  spawn_options.start_method = "spawn";
  Process q(spawn_options, [d, captured] { d["c"] = captured; });
  EXPECT_THROW(q.start(), ProcessError);
}

TEST(ProcessFork, CapturelessLambdaWorksWithSpawn) {
  DictProxy d = testing::SharedManager().dict();
  ProcessOptions o;
  o.start_method = "spawn";
  Process p(
      o, [](DictProxy dict) { dict["lambda"] = true; }, d);
  p.start();
  p.join();
  EXPECT_EQ(d["lambda"].get(), Object(true));
}

void Echo(Connection* conn) {
  for (;;) {
    Object o;
    try {
      o = conn->recv();
    } catch (const EOFError&) {
      return;
    }
    conn->send(o);
  }
}

TEST(PipeTest, DuplexRoundTripsObjectsAndProxies) {
  auto [parent, child] = Pipe();
  ProcessOptions o;
  o.start_method = "fork";
  Connection* child_end = &child;
  Connection* parent_end = &parent;  // clang 14 cannot capture `parent`
  Process p(o, [child_end, parent_end] {
    parent_end->close();  // the child keeps only its own end
    Echo(child_end);
  });
  p.start();
  child.close();
  Object msg = Object::list({1, "two", 3.0, Object::bytes("4"), nullptr});
  parent.send(msg);
  EXPECT_EQ(parent.recv(), msg);
  DictProxy d = testing::SharedManager().dict({{Object("k"), "v"}});
  parent.send(d);
  Object back = parent.recv();
  EXPECT_EQ(back.as<DictProxy>()["k"].get(), Object("v"));
  EXPECT_FALSE(parent.poll());
  parent.send(7);
  EXPECT_TRUE(parent.poll(5s));
  EXPECT_EQ(parent.recv(), Object(7));
  parent.close();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(PipeTest, OneWayPipeAndEof) {
  auto [reader, writer] = Pipe(false);
  EXPECT_THROW(reader.send(1), ValueError);
  EXPECT_THROW(writer.recv(), ValueError);
  writer.send(42);
  EXPECT_EQ(reader.recv(), Object(42));
  writer.send_bytes(std::string("\0raw\xff", 5));
  EXPECT_EQ(reader.recv_bytes(), std::string("\0raw\xff", 5));
  writer.close();
  EXPECT_THROW(reader.recv(), EOFError);
  EXPECT_THROW(writer.send(1), ValueError);
}

// CPython TestStartMethod.test_get_all and _TestProcess.test_cpu_count.
TEST(StartMethod, Names) {
  EXPECT_EQ(get_start_method(), "forkserver");
  auto all = get_all_start_methods();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"fork", "forkserver", "spawn"}));
  EXPECT_THROW(set_start_method("bogus"), ValueError);
  EXPECT_THROW(get_context("bogus"), ValueError);
  EXPECT_EQ(get_context("spawn").start_method(), "spawn");
  EXPECT_EQ(current_process().name(), "MainProcess");
  EXPECT_FALSE(parent_process().has_value());
  EXPECT_GE(cpu_count(), 1);
}

}  // namespace
}  // namespace mp
