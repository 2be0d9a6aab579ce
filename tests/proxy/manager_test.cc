// Manager lifecycle, sessions as leases, and failure behaviour, with real
// server processes and real SIGKILLs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "mp/server.h"
#include "tests/test_util.h"

extern char** environ;

namespace mp {
namespace {

using std::chrono::steady_clock;

// Polls `cond` until it holds or `timeout` passes. For observing state
// another process changes asynchronously (there is no event to await).
template <class Cond>
bool Eventually(Cond cond, std::chrono::milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST(ManagerTest, StartsPrivateServerOnUnixSocket) {
  Manager m;
  EXPECT_EQ(m.address().rfind("unix:/tmp/mp-", 0), 0u) << m.address();
  EXPECT_EQ(m.authkey().size(), 32u);
  DictProxy d = m.dict();
  d["x"] = 1;
  EXPECT_EQ(d["x"].get(), Object(1));
}

TEST(ManagerTest, SeveralManagersInOneProcessWithThreads) {
  Manager a, b;
  DictProxy da = a.dict(), db = b.dict();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        da[t * 1000 + i] = i;
        db[t * 1000 + i] = -i;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(da.size(), 800u);
  EXPECT_EQ(db.size(), 800u);
  EXPECT_EQ(db[3005].get(), Object(-5));
}

TEST(ManagerTest, WrongAuthkeyIsRefused) {
  Server server(
      ServerOptions{.address = "127.0.0.1:0", .authkey = "right key"});
  server.start();
  EXPECT_THROW(Manager::connect(server.address(), "wrong key"),
               AuthenticationError);
  // The server keeps serving clients with the right key.
  Manager ok = Manager::connect(server.address(), "right key");
  EXPECT_EQ(ok.list({1, 2}).size(), 2u);
}

TEST(ManagerTest, ConnectToNothingFailsQuickly) {
  auto start = steady_clock::now();
  EXPECT_THROW(Manager::connect("unix:/nonexistent/mp.sock", "k"),
               ConnectionError);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(15));
}

TEST(ManagerTest, NamedObjectsAreSharedAndTyped) {
  Server server(ServerOptions{.authkey = "k"});
  server.start();
  Manager a = server.manager();
  Manager b = Manager::connect(server.address(), "k");
  DictProxy jobs = a.named("jobs").dict();
  jobs["n"] = 1;
  EXPECT_EQ(b.named("jobs").dict()["n"].get(), Object(1));
  EXPECT_EQ(b.named("jobs").dict().id(), jobs.id());
  EXPECT_THROW(b.named("jobs").list(), TypeError);
  // Named objects outlive every proxy.
  const uint64_t id = jobs.id();
  jobs = DictProxy();
  EXPECT_EQ(a.named("jobs").dict().id(), id);
  EXPECT_TRUE(a.named("jobs").remove());
  EXPECT_FALSE(a.named("jobs").remove());
  EXPECT_NE(a.named("jobs").dict().id(), id);
}

TEST(ManagerTest, ReleasedProxiesFreeServerObjects) {
  Server server(ServerOptions{.authkey = "k"});
  server.start();
  Manager m = server.manager();
  const int64_t baseline = m.stats().as_dict().find("objects")->as_int();
  {
    std::vector<DictProxy> dicts;
    for (int i = 0; i < 100; ++i) dicts.push_back(m.dict({{Object("i"), i}}));
    ListProxy holder = m.list(Object::list({dicts[0], dicts[1]}));
    EXPECT_EQ(m.stats().as_dict().find("objects")->as_int(), baseline + 101);
  }
  // Releases are fire-and-forget; the next call carries them.
  EXPECT_TRUE(Eventually(
      [&] { return m.stats().as_dict().find("objects")->as_int() == baseline; },
      std::chrono::seconds(10)));
}

int64_t ObjectCount(const Manager& m) {
  return m.stats().as_dict().find("objects")->as_int();
}

TEST(ManagerTest, KilledClientsReferencesAreDropped) {
  Manager m;
  ListProxy shared = m.list();
  const int64_t baseline = ObjectCount(m);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    std::vector<DictProxy> held;
    for (int i = 0; i < 100; ++i) held.push_back(m.dict({{Object("i"), i}}));
    // One of them is also stored in a list the parent holds: it must
    // survive the child.
    shared.append(held[0]);
    (void)!write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  EXPECT_EQ(ObjectCount(m), baseline + 100);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(Eventually([&] { return ObjectCount(m) == baseline + 1; },
                         std::chrono::seconds(10)))
      << ObjectCount(m);
  EXPECT_EQ(shared[0].as<DictProxy>()["i"].get(), Object(0));
  shared.clear();
  EXPECT_TRUE(Eventually([&] { return ObjectCount(m) == baseline; },
                         std::chrono::seconds(10)));
}

TEST(ManagerTest, ThreadsShareOneSessionAndPipeline) {
  Manager m;
  DictProxy d = m.dict();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) d.set(t * 1000 + i, i);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(d.size(), 4000u);
  EXPECT_EQ(m.stats().as_dict().find("sessions")->as_int(), 1);
}

TEST(ManagerTest, AsyncSetsArriveInOrder) {
  Manager m;
  DictProxy d = m.dict();
  std::vector<PendingReply> replies;
  for (int i = 0; i < 20000; ++i) replies.push_back(d.set_async(i % 100, i));
  for (auto& r : replies) EXPECT_EQ(r.get(), Object());
  EXPECT_EQ(d.size(), 100u);
  EXPECT_EQ(d[99].get(), Object(19999));  // the last write wins
  // An error in a pipelined call surfaces at get().
  PendingReply bad = d.set_async(Object::list({1}), 1);
  EXPECT_THROW(bad.get(), TypeError);
}

TEST(ManagerTest, OversizedMessageIsRefusedAndServerKeepsServing) {
  Server server(ServerOptions{.authkey = "k", .max_message_bytes = 1 << 20});
  server.start();
  Manager m = server.manager();
  DictProxy d = m.dict();
  EXPECT_THROW(d["big"] = std::string(2 << 20, 'x'), ValueError);
  // A reply over the limit is replaced by an error, not a broken stream.
  ListProxy l = m.list();
  for (int i = 0; i < 3; ++i) l.append(std::string(500 << 10, 'y'));
  EXPECT_THROW(l.copy(), ValueError);
  EXPECT_EQ(l.size(), 3u);
  d["small"] = 1;
  EXPECT_EQ(d.size(), 1u);
}

TEST(ManagerTest, ShutdownMakesCallsFailWithConnectionError) {
  Manager m;
  DictProxy d = m.dict();
  d["a"] = 1;
  m.shutdown();
  auto start = steady_clock::now();
  EXPECT_THROW(d["a"].get(), ConnectionError);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(ManagerTest, SigkilledServerMakesCallsFailWithConnectionError) {
  // A standalone mp-manager we can SIGKILL.
  char dir[] = "/tmp/mp-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string keyfile = std::string(dir) + "/key";
  std::ofstream(keyfile) << "secret";
  std::string address = std::string("unix:") + dir + "/s.sock";
  const char* binary = std::getenv("MP_MANAGER_PATH");
  ASSERT_NE(binary, nullptr);
  std::vector<std::string> args = {binary, "--listen", address,
                                   "--authkey-file", keyfile};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, binary, nullptr, nullptr, argv.data(), environ),
            0);
  std::optional<Manager> m;
  ASSERT_TRUE(Eventually(
      [&] {
        try {
          m.emplace(Manager::connect(address, "secret"));
          return true;
        } catch (const ConnectionError&) {
          return false;
        }
      },
      std::chrono::seconds(10)));
  DictProxy d = m->dict();
  d["a"] = 1;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  auto start = steady_clock::now();
  EXPECT_THROW(d["a"].get(), ConnectionError);
  EXPECT_THROW(d["a"].get(), ConnectionError);  // and stays failed
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(20));
  std::filesystem::remove_all(dir);
}

TEST(ManagerTest, ManagerBinaryHelpAndUsageErrors) {
  const char* binary = std::getenv("MP_MANAGER_PATH");
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(WEXITSTATUS(std::system(
                (std::string(binary) + " --help > /dev/null").c_str())),
            0);
  EXPECT_EQ(WEXITSTATUS(std::system(
                (std::string(binary) + " --bogus 2> /dev/null").c_str())),
            2);
  EXPECT_EQ(
      WEXITSTATUS(std::system(("env -u MP_AUTHKEY " + std::string(binary) +
                               " --listen 127.0.0.1:0 2> /dev/null")
                                  .c_str())),
      2);
}

}  // namespace
}  // namespace mp
