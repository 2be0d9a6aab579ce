// What one call may cost a manager server (issue 15), through real
// servers and clients:
// - memory is checked before it is allocated: against the per-object cap
//   (max_object_bytes), the stored-bytes quota and the reply limit
//   (max_message_bytes) - measured by the peak resident memory of this
//   process, where the embedded servers run;
// - values nest at most kMaxNestingDepth containers: deeper ones are
//   refused by the client's encoder without recursion, and by the server
//   per call, the session carrying on;
// - every client Shutdown request is logged, and refused where the server
//   does not allow it.
// Each of these failed before its fix.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/wire_codec.h"
#include "mp/mp.h"
#include "mp/server.h"
#include "proxy/connection.h"

extern char** environ;

namespace mp {
namespace {

using namespace std::chrono_literals;
using internal::Connection;
using internal::kMaxNestingDepth;

// The peak resident memory of this process so far (VmHWM), in bytes.
size_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) << 10;
  }
  ADD_FAILURE() << "no VmHWM in /proc/self/status";
  return 0;
}

// Runs `call`, which must throw E with `fragment` in its message.
template <class E, class F>
void ExpectError(F call, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one naming " << fragment;
  } catch (const E& e) {
    EXPECT_NE(e.message().find(fragment), std::string::npos) << e.what();
  }
}

// `levels` lists, each holding the next, around 1.
Object Nested(int levels) {
  Object v = 1;
  for (int i = 0; i < levels; ++i) v = Object::list({v});
  return v;
}

// The same, as the wire message, built by hand past the client's checks.
void NestedWire(int levels, v1::Value* out) {
  for (int i = 0; i < levels; ++i) {
    out = out->mutable_list_value()->add_items();
  }
  out->set_int_value(1);
}

// Takes a deep value apart one level at a time: letting it go at once
// would recurse once per level in the destructors.
void Dismantle(Object& v) {
  while (v.is_list() && !v.as_list().empty()) {
    Object inner = v.as_list()[0];
    v = std::move(inner);
  }
}

// mp-manager on a unix socket in a temporary directory, its stderr in a
// file there.
class ManagerProcess {
 public:
  explicit ManagerProcess(std::vector<std::string> flags) {
    char tmpl[] = "/tmp/mp-limits-test-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/key") << "k";
    address_ = "unix:" + dir_ + "/s.sock";
    const char* binary = std::getenv("MP_MANAGER_PATH");
    EXPECT_NE(binary, nullptr);
    std::vector<std::string> args = {binary, "--listen", address_,
                                     "--authkey-file", dir_ + "/key"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = dir_ + "/stderr";
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(
        posix_spawn(&pid_, binary, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ManagerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Connects, retrying while the server starts (bounded).
  Manager Connect() {
    for (auto deadline = std::chrono::steady_clock::now() + 20s;;) {
      try {
        return Manager::connect(address_, "k");
      } catch (const ConnectionError&) {
        if (std::chrono::steady_clock::now() > deadline) throw;
        std::this_thread::sleep_for(20ms);
      }
    }
  }
  // Waits (bounded) for the process to exit; its status, or -1.
  int WaitExit(std::chrono::seconds timeout) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < deadline;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string Log() const {
    std::ifstream in(dir_ + "/stderr");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string dir_;
  std::string address_;
  pid_t pid_ = -1;
};

class LimitsTest : public ::testing::Test {
 protected:
  static Server Start(ServerOptions options) {
    options.authkey = "k";
    Server server(std::move(options));
    server.start();
    return server;
  }
};

// ---- memory: checked before it is allocated --------------------------------

TEST_F(LimitsTest, HugeArrayIsRefusedBeforeItsBufferIsAllocated) {
  Server server = Start({});  // the default cap: 1 GiB per object
  Manager m = server.manager();
  const size_t peak = PeakRssBytes();
  // 2**31 doubles: 16 GiB.
  ExpectError<MemoryError>([&] { m.Array('d', size_t{1} << 31); },
                           "max_object_bytes");
  EXPECT_LT(PeakRssBytes(), peak + (size_t{256} << 20));
  // The server serves this client and the others.
  EXPECT_EQ(m.Array('d', 10).size(), 10u);
  Manager other = server.manager();
  DictProxy d = other.dict();
  d["a"] = 1;
  EXPECT_EQ(d.size(), 1u);
}

TEST_F(LimitsTest, ListRepeatIsCheckedBeforeTheListGrows) {
  Server server = Start({});
  Manager m = server.manager();
  ListProxy l = m.list(Object::list({std::string(1 << 20, 'x')}));
  // 10000 references to one string: what a copy of it would take is
  // 10 GB, over the cap.
  ExpectError<MemoryError>([&] { l *= 10000; }, "max_object_bytes");
  EXPECT_EQ(l.size(), 1u);
  l *= 2;
  EXPECT_EQ(l.size(), 2u);
}

// Needs Server to pass every ServerOptions field to the service
// (server.cc: server::SessionLimitsFrom(options)); enable it with that.
// ServiceTest.ObjectCapCoversEveryWayAnObjectGrows runs the same checks on
// the service itself meanwhile.
TEST_F(LimitsTest, ObjectCapCoversEveryWayAnObjectGrows) {
  Server server = Start({.max_object_bytes = 1 << 20});
  Manager m = server.manager();
  const Object blob = Object::bytes(std::string(600 << 10, 'b'));
  ListProxy l = m.list();
  l.append(blob);
  ExpectError<MemoryError>([&] { l.append(blob); }, "max_object_bytes");
  ExpectError<MemoryError>(
      [&] {
        l.extend(Object::list({1, blob}));
      },
      "max_object_bytes");
  ExpectError<MemoryError>([&] { l.insert(0, blob); }, "max_object_bytes");
  ExpectError<MemoryError>([&] { l.set_slice(0, 0, Object::list({blob})); },
                           "max_object_bytes");
  ExpectError<MemoryError>([&] { l *= 2; }, "max_object_bytes");
  EXPECT_EQ(l.size(), 1u);
  DictProxy d = m.dict();
  d["a"] = blob;
  ExpectError<MemoryError>([&] { d["b"] = blob; }, "max_object_bytes");
  ExpectError<MemoryError>(
      [&] {
        d.update({{"c", blob}});
      },
      "max_object_bytes");
  EXPECT_EQ(d.size(), 1u);
  QueueProxy q = m.Queue();
  q.put(blob);
  ExpectError<MemoryError>([&] { q.put(blob); }, "max_object_bytes");
  EXPECT_EQ(q.qsize(), 1);
  NamespaceProxy ns = m.Namespace();
  ns.set("a", blob);
  ExpectError<MemoryError>([&] { ns.set("b", blob); }, "max_object_bytes");
  ExpectError<MemoryError>([&] { m.Array('d', 200000); }, "max_object_bytes");
  ExpectError<MemoryError>(
      [&] {
        m.list(Object::list({blob, blob}));
      },
      "max_object_bytes");
  // A cap per object, not per client: another list holds as much again.
  ListProxy l2 = m.list();
  l2.append(blob);
  EXPECT_EQ(l2.size(), 1u);
}

TEST_F(LimitsTest, ReplyOverTheMessageLimitIsRefusedBeforeItIsBuilt) {
  // 115 MB in one list: under the cap on one object, far over the reply
  // limit.
  Server server = Start({.max_message_bytes = 1 << 20});
  Manager m = server.manager();
  const std::string item(900 << 10, 'r');
  ListProxy l = m.list(Object::list({item}));
  l *= 128;  // 128 references to one string: a 115 MB reply if copied
  DictProxy d = m.dict();
  for (int i = 0; i < 64; ++i) d[i] = item;
  const size_t peak = PeakRssBytes();
  ExpectError<ValueError>([&] { l.copy(); }, "max_message_bytes");
  ExpectError<ValueError>([&] { l.slice(0, 100); }, "max_message_bytes");
  ExpectError<ValueError>([&] { d.copy(); }, "max_message_bytes");
  ExpectError<ValueError>([&] { d.values(); }, "max_message_bytes");
  ExpectError<ValueError>([&] { d.items(); }, "max_message_bytes");
  // Iteration fetches batches (64 items): refused the same way, never cut
  // short (a short batch would end the loop early).
  ExpectError<ValueError>(
      [&] {
        for (const Object& x : l) EXPECT_EQ(x, Object(item));
      },
      "max_message_bytes");
  // (VmHWM may even read lower than before: the kernel updates it lazily.)
  EXPECT_LT(PeakRssBytes(), peak + (size_t{32} << 20));
  // What fits is still served.
  EXPECT_EQ(l.size(), 128u);
  EXPECT_EQ(l.getitem(5), Object(item));
  EXPECT_EQ(d.keys().size(), 64u);
}

TEST_F(LimitsTest, QueueBatchesStopAtTheMessageLimit) {
  Server server = Start({.max_message_bytes = 1 << 20});
  Manager m = server.manager();
  const std::string item(600 << 10, 'q');
  // get_many returns 1..max_items items: as many as one reply can carry.
  QueueProxy q = m.Queue();
  for (int i = 0; i < 3; ++i) q.put(item);
  size_t got = 0;
  for (int round = 0; round < 3 && got < 3; ++round) {
    std::vector<Object> batch = q.get_many(3, true, 5s);
    EXPECT_EQ(batch.size(), 1u);
    got += batch.size();
  }
  EXPECT_EQ(got, 3u);
}

// Needs Server to pass every ServerOptions field to the service
// (server.cc: server::SessionLimitsFrom(options)); enable it with that.
TEST_F(LimitsTest, MpManagerTakesMaxObjectBytes) {
  ManagerProcess server({"--max-object-bytes", "4096"});
  Manager m = server.Connect();
  ExpectError<MemoryError>([&] { m.Array('d', 1000); }, "max_object_bytes");
  EXPECT_EQ(m.Array('d', 100).size(), 100u);
}

// ---- nesting ----------------------------------------------------------------

TEST_F(LimitsTest, DeepValueIsRefusedByTheClientWithoutRecursion) {
  Server server = Start({});
  Manager m = server.manager();
  DictProxy d = m.dict();
  Object deep = Nested(100000);
  ExpectError<ValueError>([&] { d["x"] = deep; },
                          std::to_string(kMaxNestingDepth));
  Object over = Nested(kMaxNestingDepth + 1);
  ExpectError<ValueError>([&] { d["x"] = over; }, "nest");
  Dismantle(deep);
  d["y"] = 1;
  EXPECT_EQ(d.size(), 1u);
}

TEST_F(LimitsTest, ValuesAtTheNestingLimitRoundTrip) {
  Server server = Start({});
  Manager m = server.manager();
  const Object v = Nested(kMaxNestingDepth);
  DictProxy d = m.dict();
  d["x"] = v;
  EXPECT_EQ(d["x"].get(), v);
  // Replies may wrap stored values in two more levels.
  EXPECT_EQ(d.items(), (std::vector<Object>{Object::tuple({"x", v})}));
  QueueProxy q = m.Queue();
  q.put(v);
  EXPECT_EQ(q.get(), v);
  ListProxy l = m.list(Object::list({1}));
  l.append(v);
  EXPECT_EQ(l.copy(), Object::list({1, v}));
}

TEST_F(LimitsTest, TooDeepValueIsRefusedPerCallAndTheSessionCarriesOn) {
  Server server = Start({});
  auto conn = Connection::Open(server.address(), "k");
  v1::Call create;
  create.mutable_create()->set_type(v1::LIST);
  const uint64_t list = conn->Call(create).value().proxy().id();
  // Past the limit, and still shallow enough for protobuf's default parser
  // limit (100 messages): the server sees the call and refuses just it.
  for (int levels : {kMaxNestingDepth + 1, 40, 46}) {
    v1::Call append;
    append.set_object_id(list);
    NestedWire(levels,
               append.mutable_list()->mutable_append()->mutable_value());
    ExpectError<ValueError>([&] { conn->Call(append); },
                            std::to_string(kMaxNestingDepth));
  }
  v1::Call ok;
  ok.set_object_id(list);
  NestedWire(kMaxNestingDepth,
             ok.mutable_list()->mutable_append()->mutable_value());
  conn->Call(ok);
  v1::Call len;
  len.set_object_id(list);
  len.mutable_list()->mutable_len();
  EXPECT_EQ(conn->Call(len).value().int_value(), 1);
}

// ---- Shutdown ---------------------------------------------------------------

TEST_F(LimitsTest, EmbeddedServerAcceptsAClientShutdownAndLogsIt) {
  Server server = Start({});  // allow_client_shutdown: true by default
  Manager client = server.manager();
  ::testing::internal::CaptureStderr();
  client.shutdown();
  const bool stopped = server.wait_for(10s);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(stopped);
  EXPECT_NE(log.find(" warning "), std::string::npos) << log;
  EXPECT_NE(log.find("shutdown requested by session"), std::string::npos)
      << log;
  EXPECT_NE(log.find("pid " + std::to_string(getpid())), std::string::npos)
      << log;
}

TEST_F(LimitsTest, PrivateManagersServerAcceptsAClientShutdown) {
  Manager m;  // starts mp-manager with --allow-client-shutdown
  Manager::connect(m.address(), m.authkey()).shutdown();
  // The server exits: connecting fails (bounded polling - its exit is in
  // another process).
  bool gone = false;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       !gone && std::chrono::steady_clock::now() < deadline;) {
    try {
      Manager::connect(m.address(), m.authkey());
      std::this_thread::sleep_for(20ms);
    } catch (const ConnectionError&) {
      gone = true;
    }
  }
  EXPECT_TRUE(gone);
}

// These need Server to pass every ServerOptions field to the service
// (server.cc: server::SessionLimitsFrom(options)); enable them with that.
TEST_F(LimitsTest, MpManagerRefusesAClientShutdownByDefault) {
  ManagerProcess server({});
  Manager client = server.Connect();
  ExpectError<PermissionError>([&] { client.shutdown(); },
                               "--allow-client-shutdown");
  // Still serving, this client and new ones.
  DictProxy d = client.dict();
  d["a"] = 1;
  EXPECT_EQ(server.Connect().stats().as_dict().find("sessions")->as_int(), 2);
  const std::string log = server.Log();
  EXPECT_NE(log.find(" warning "), std::string::npos) << log;
  EXPECT_NE(log.find("refused"), std::string::npos) << log;
  EXPECT_NE(log.find("pid " + std::to_string(getpid())), std::string::npos)
      << log;
}

TEST_F(LimitsTest, MpManagerWithAllowClientShutdownStops) {
  ManagerProcess server({"--allow-client-shutdown"});
  server.Connect().shutdown();
  const int status = server.WaitExit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(server.Log().find("shutdown requested by session"),
            std::string::npos)
      << server.Log();
}

TEST_F(LimitsTest, ServerWithoutAllowClientShutdownRefusesIt) {
  Server server = Start({.allow_client_shutdown = false});
  Manager client = server.manager();
  ExpectError<PermissionError>([&] { client.shutdown(); }, "shutdown");
  EXPECT_FALSE(server.wait_for(200ms));
  DictProxy d = client.dict();
  d["a"] = 1;
  EXPECT_EQ(d.size(), 1u);
}

}  // namespace
}  // namespace mp
