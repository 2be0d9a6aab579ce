// Server-less shared objects and Connection ends through a Pool and a Pipe
// (API.md: "Server-less shared objects", "Connections as process
// arguments"): in Pool task arguments, initargs and results, and sent
// through a Pipe to a running child, under every start method. Each test
// proves the other side uses the same memory (or the same connection).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "mp/mp.h"
#include "tests/shared/child_fixture.h"

namespace {

using mp::testing::OpenFds;

using std::chrono::duration;

constexpr int kWorkers = 3;

class Carry : public ::testing::TestWithParam<std::string> {
 protected:
  mp::PoolOptions Options() const {
    mp::PoolOptions options;
    options.processes = kWorkers;
    options.context = GetParam();
    return options;
  }
};

// ---- Pool task arguments ----

int64_t AddUnderLock(mp::Value<int64_t> total, int64_t times) {
  for (int64_t i = 0; i < times; ++i) {
    std::lock_guard hold(total.get_lock());
    total.set(total.get() + 1);  // not atomic: only the lock keeps it exact
  }
  return getpid();
}

TEST_P(Carry, PoolValueInStarmapItemsIsTheSameMemory) {
  mp::Value<int64_t> total(0);
  std::vector<std::tuple<mp::Value<int64_t>, int64_t>> items;
  for (int i = 0; i < 12; ++i) items.emplace_back(total, 500);
  mp::Pool pool(Options());
  std::vector<int64_t> pids = pool.starmap(AddUnderLock, items, 1);
  EXPECT_EQ(total.get(), 12 * 500);
  for (int64_t pid : pids) EXPECT_NE(pid, getpid());
  pool.close();
  pool.join();
}

int64_t CountEach(mp::Array<int32_t> counts, mp::Lock lock, int64_t i) {
  std::lock_guard hold(lock);
  counts[static_cast<size_t>(i)] += 1;
  return i;
}

TEST_P(Carry, PoolArrayAndLockInApplyAsync) {
  mp::Array<int32_t> counts(8);
  mp::Lock lock;
  mp::Pool pool(Options());
  std::vector<mp::AsyncResult<int64_t>> results;
  for (int round = 0; round < 3; ++round) {
    for (int64_t i = 0; i < 8; ++i) {
      results.push_back(pool.apply_async(CountEach, counts, lock, i));
    }
  }
  for (auto& r : results) r.get(duration<double>(60));
  EXPECT_EQ(counts.to_vector(), std::vector<int32_t>(8, 3));
  pool.close();
  pool.join();
}

void SetIt(mp::Event event) { event.set(); }

TEST_P(Carry, PoolEventInMapItems) {
  std::vector<mp::Event> events(5);
  mp::Pool pool(Options());
  pool.map(SetIt, events);
  for (auto& e : events) EXPECT_TRUE(e.is_set());
  pool.close();
  pool.join();
}

// ---- initargs ----

std::optional<mp::Value<int64_t>> g_total;
std::optional<mp::Lock> g_lock;
std::optional<mp::Array<int64_t>> g_seen;
std::optional<mp::Event> g_started;
std::optional<mp::Connection> g_conn;

void InitShared(mp::Value<int64_t> total, mp::Lock lock,
                mp::Array<int64_t> seen, mp::Event started) {
  g_total = total;
  g_lock = lock;
  g_seen = seen;
  g_started = started;
  started.set();
}

int64_t UseInitargs(int64_t i) {
  std::lock_guard hold(*g_lock);
  g_total->set(g_total->get() + i);
  (*g_seen)[static_cast<size_t>(i)] = getpid();
  return g_started->is_set() ? 1 : 0;
}

TEST_P(Carry, PoolLockValueArrayEventInInitargs) {
  mp::Value<int64_t> total(0, /*lock=*/false);
  mp::Lock lock;
  mp::Array<int64_t> seen(40);
  mp::Event started;
  mp::Pool pool(
      Options().with_initializer(InitShared, total, lock, seen, started));
  std::vector<int64_t> items;
  for (int64_t i = 0; i < 40; ++i) items.push_back(i);
  std::vector<int64_t> got = pool.map(UseInitargs, items, 2);
  EXPECT_EQ(got, std::vector<int64_t>(40, 1));
  EXPECT_EQ(total.get(), 40 * 39 / 2);
  EXPECT_TRUE(started.is_set());
  for (int64_t pid : seen.to_vector()) {
    EXPECT_NE(pid, 0);
    EXPECT_NE(pid, getpid());
  }
  pool.close();
  pool.join();
}

void InitConnection(mp::Connection conn) { g_conn = std::move(conn); }

void SendThroughInitConnection(int64_t x) { g_conn->send(mp::Object(x * 10)); }

TEST_P(Carry, PoolConnectionEndInInitargs) {
  auto [mine, theirs] = mp::Pipe();
  mp::Pool pool(Options().with_initializer(InitConnection, theirs));
  theirs.close();
  pool.map(SendThroughInitConnection, std::vector<int64_t>{1, 2, 3}, 1);
  std::vector<int64_t> got;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(mine.poll(duration<double>(60)));
    got.push_back(mine.recv().as_int());
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int64_t>{10, 20, 30}));
  pool.close();
  pool.join();
}

// ---- a Connection end as a task argument ----

int64_t Answer(mp::Connection conn) {
  const mp::Object question = conn.recv();
  conn.send(mp::Object::list({question, getpid()}));
  return 0;
}

TEST_P(Carry, PoolWorkerAnswersThroughConnectionArgument) {
  auto [mine, theirs] = mp::Pipe();
  mp::Pool pool(Options());
  mp::AsyncResult<int64_t> done = pool.apply_async(Answer, theirs);
  theirs.close();
  mine.send(mp::Object("ping"));
  ASSERT_TRUE(mine.poll(duration<double>(60)));
  const mp::Object reply = mine.recv();
  EXPECT_EQ(reply.as_list()[0], mp::Object("ping"));
  EXPECT_NE(reply.as_list()[1].as_int(), getpid());
  EXPECT_EQ(done.get(duration<double>(60)), 0);
  pool.close();
  pool.join();
  if (GetParam() != "fork") {
    // The worker's end went with its task (a fork worker also inherited
    // one from the pool's process, as in Python).
    EXPECT_TRUE(mine.poll(duration<double>(60)));
    EXPECT_THROW(mine.recv(), mp::EOFError);
  }
}

// ---- results coming back from a worker ----

mp::Value<int32_t> MakeValue(int32_t v) { return mp::Value<int32_t>(v); }
mp::Array<double> MakeArray(int64_t n) {
  mp::Array<double> a(static_cast<size_t>(n));
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.5 * static_cast<double>(i);
  return a;
}

TEST_P(Carry, PoolSharedObjectsReturnedFromTasks) {
  mp::Pool pool(Options());
  mp::Value<int32_t> v = pool.apply(MakeValue, 41);
  mp::Array<double> a = pool.apply(MakeArray, 4);
  std::vector<mp::Value<int32_t>> many =
      pool.map(MakeValue, std::vector<int32_t>{1, 2, 3});
  pool.close();
  pool.join();  // the workers are gone: the memory lives on in our handles
  EXPECT_EQ(v.fetch_add(1), 41);
  EXPECT_EQ(v.get(), 42);
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0, 0.5, 1, 1.5}));
  ASSERT_EQ(many.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) EXPECT_EQ(many[i].get(), i + 1);
}

// ---- a Pipe to a running child ----

void UseWhatArrives(mp::Connection conn) {
  mp::Object first = conn.recv();
  auto total = mp::from_object<mp::Value<int64_t>>(first.as_list()[0]);
  auto lock = mp::from_object<mp::Lock>(first.as_list()[1]);
  auto done = mp::from_object<mp::Event>(first.as_list()[2]);
  for (int i = 0; i < 2000; ++i) {
    std::lock_guard hold(lock);
    total.set(total.get() + 1);
  }
  done.set();
  // A Connection end, then a SharedMemory, through the same pipe.
  mp::Connection reply = mp::from_object<mp::Connection>(conn.recv());
  auto shm = mp::from_object<mp::SharedMemory>(conn.recv());
  shm.buf()[0] = std::byte{'k'};
  reply.send(mp::Object("through the sent end"));
}

TEST_P(Carry, SharedObjectsSentThroughPipeToRunningChild) {
  auto [mine, theirs] = mp::Pipe();
  mp::ProcessOptions po;
  po.start_method = GetParam();
  mp::Process p(po, UseWhatArrives, theirs);
  p.start();
  theirs.close();
  mp::Value<int64_t> total(0, /*lock=*/false);
  mp::Lock lock;
  mp::Event done;
  mine.send(mp::Object::list(
      {mp::to_object(total), mp::to_object(lock), mp::to_object(done)}));
  for (int i = 0; i < 2000; ++i) {
    std::lock_guard hold(lock);
    total.set(total.get() + 1);
  }
  ASSERT_TRUE(done.wait(duration<double>(60)));
  EXPECT_EQ(total.get(), 4000);
  auto [answer_here, answer_there] = mp::Pipe(/*duplex=*/false);
  mine.send(mp::to_object(answer_there));
  answer_there.close();
  mp::SharedMemory shm = mp::SharedMemory::create(16);
  shm.unlink();  // the descriptor travels, not the name
  mine.send(mp::to_object(shm));
  ASSERT_TRUE(answer_here.poll(duration<double>(60)));
  EXPECT_EQ(answer_here.recv(), mp::Object("through the sent end"));
  ASSERT_TRUE(p.join(duration<double>(60)));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(shm.buf()[0], std::byte{'k'});
  EXPECT_THROW(answer_here.recv(), mp::EOFError);  // every writer is gone
}

INSTANTIATE_TEST_SUITE_P(All, Carry,
                         ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });

// ---- limits and faults ----

TEST(CarryLimits, TooManyDescriptorsInOneMessage) {
  auto [a, b] = mp::Pipe();
  std::vector<mp::Lock> locks(201);
  mp::Object::List items;
  for (const mp::Lock& l : locks) items.push_back(mp::to_object(l));
  try {
    a.send(mp::Object::list(items));
    FAIL() << "201 shared objects in one message were sent";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("at most 200"), std::string::npos)
        << e.what();
  }
  // Nothing was written: the pipe carries on. The same object twice
  // travels once, and 200 are fine.
  items.pop_back();
  items.push_back(items.front());
  a.send(mp::Object::list(items));
  ASSERT_TRUE(b.poll(duration<double>(10)));
  mp::Object got = b.recv();
  ASSERT_EQ(got.as_list().size(), 201u);
  mp::Lock first = mp::from_object<mp::Lock>(got.as_list().front());
  mp::Lock again = mp::from_object<mp::Lock>(got.as_list().back());
  ASSERT_TRUE(locks.front().acquire(false));
  EXPECT_FALSE(first.acquire(false));  // the same lock
  EXPECT_FALSE(again.acquire(false));
  locks.front().release();
  EXPECT_TRUE(again.acquire(false));
  again.release();
}

int64_t CountLocks(std::vector<mp::Lock> locks) {
  return static_cast<int64_t>(locks.size());
}

TEST(CarryLimits, TooManyDescriptorsInOnePoolTask) {
  mp::PoolOptions options;
  options.processes = 1;
  options.context = "forkserver";
  mp::Pool pool(options);
  EXPECT_EQ(pool.apply(CountLocks, std::vector<mp::Lock>(3)), 3);
  EXPECT_THROW(pool.apply(CountLocks, std::vector<mp::Lock>(201)),
               mp::ValueError);
  EXPECT_EQ(pool.apply(CountLocks, std::vector<mp::Lock>(200)), 200);
  pool.close();
  pool.join();
}

TEST(CarryLimits, LostDescriptorsAreAnErrorAndLeakNothing) {
  auto [a, b] = mp::Pipe();
  const int before = OpenFds();
  // 253 descriptors (SCM_RIGHTS' maximum) with one frame: more than a
  // receiver takes, so some are lost (MSG_CTRUNC).
  std::vector<int> fds;
  for (int i = 0; i < 253; ++i) fds.push_back(open("/dev/null", O_RDONLY));
  const std::string payload = "xyz";
  const uint32_t len = static_cast<uint32_t>(payload.size());
  std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
  frame += payload;
  iovec iov{frame.data(), frame.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  ASSERT_EQ(sendmsg(a.fileno(), &msg, 0), static_cast<ssize_t>(frame.size()));
  for (int fd : fds) close(fd);
  try {
    b.recv();
    FAIL() << "a message whose descriptors were lost was received";
  } catch (const mp::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("MSG_CTRUNC"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(OpenFds(), before);
  // The message was consumed whole: the next one arrives intact.
  a.send(mp::Object("next"));
  EXPECT_EQ(b.recv(), mp::Object("next"));
}

TEST(CarryLimits, ReceivedDescriptorsAreCloseOnExec) {
  auto [a, b] = mp::Pipe();
  auto [x, y] = mp::Pipe();
  a.send(mp::to_object(y));
  mp::Connection got = mp::from_object<mp::Connection>(b.recv());
  const int flags = fcntl(got.fileno(), F_GETFD);
  ASSERT_GE(flags, 0);
  EXPECT_TRUE(flags & FD_CLOEXEC);
  got.send(mp::Object(7));
  EXPECT_EQ(x.recv(), mp::Object(7));
}

TEST(CarryLimits, ReceivedButUnusedDescriptorsAreClosed) {
  auto [a, b] = mp::Pipe();
  const int before = OpenFds();
  {
    mp::Value<int32_t> v(1);
    a.send(mp::to_object(v));
    a.send(mp::to_object(v));
  }
  b.recv();        // decoded and dropped
  b.recv_bytes();  // bytes only: its descriptor is closed
  EXPECT_EQ(OpenFds(), before);
}

TEST(CarryLimits, NotThroughANonSocketConnection) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  mp::Connection reader(p[0], true, false);
  mp::Connection writer(p[1], false, true);
  EXPECT_THROW(writer.send(mp::to_object(mp::Value<int32_t>(1))),
               mp::ValueError);
  writer.send(mp::Object(5));  // plain values still go
  EXPECT_EQ(reader.recv(), mp::Object(5));
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
