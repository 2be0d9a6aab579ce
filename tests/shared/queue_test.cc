// The server-less queues (mp/queue.h): ports of CPython's _TestQueue
// (Lib/test/_test_multiprocessing.py) with real child processes under every
// start method, large items, proxies in items, and processes SIGKILLed in
// the middle of a get() or a put() (stopped there by a test hook, then
// killed: every item must be accounted for exactly once).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/shared/child_fixture.h"
#include "shared/segment.h"

namespace {

using std::chrono::duration;
using Clock = std::chrono::steady_clock;
using mp::internal::QueueTestPoint;

constexpr duration<double> kLong(60);
constexpr double kTimeout1 = 0.1;
constexpr double kTimeout2 = 1.0;  // not waited for: block = false
constexpr double kTimeout3 = 0.1;

double Since(Clock::time_point start) {
  return duration<double>(Clock::now() - start).count();
}

// Bytes of memory the queue's segment holds right now.
int64_t ResidentBytes(const mp::internal::QueueBase& q) {
  struct stat st {};
  EXPECT_EQ(fstat(q.segment()->fd(), &st), 0);
  return static_cast<int64_t>(st.st_blocks) * 512;
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed) * 7) & 0xff);
  }
  return s;
}

class StartMethod : public mp::testing::StartMethod {
 protected:
  static void JoinKilled(mp::Process& p) {
    ASSERT_TRUE(p.join(kLong));
    EXPECT_EQ(p.exitcode(), -SIGKILL);
  }
  mp::Event stopped_;  // set by a child that reached its test hook
};

// ---- one process ----

TEST(QueueTest, Qsize) {  // test_qsize
  mp::Queue q;
  EXPECT_EQ(q.qsize(), 0);
  q.put(1);
  EXPECT_EQ(q.qsize(), 1);
  q.put(5);
  EXPECT_EQ(q.qsize(), 2);
  q.get();
  EXPECT_EQ(q.qsize(), 1);
  q.get();
  EXPECT_EQ(q.qsize(), 0);
  q.close();
}

TEST(QueueTest, Timeout) {  // test_timeout
  mp::Queue q;
  auto start = Clock::now();
  EXPECT_THROW(q.get(true, duration<double>(0.2)), mp::Empty);
  EXPECT_GE(Since(start), 0.19);
  start = Clock::now();
  EXPECT_THROW(q.get(duration<double>(0.1)), mp::Empty);
  EXPECT_GE(Since(start), 0.09);
  EXPECT_LT(Since(start), 5.0);
}

TEST(QueueTest, ErrorsSayWhatTheManagerQueuesSay) {
  mp::Queue q(1);
  try {
    q.get_nowait();
    ADD_FAILURE() << "no Empty";
  } catch (const mp::Empty& e) {
    EXPECT_STREQ(e.what(), mp::Empty("queue is empty").what());
  }
  q.put(1);
  try {
    q.put_nowait(2);
    ADD_FAILURE() << "no Full";
  } catch (const mp::Full& e) {
    EXPECT_STREQ(e.what(), mp::Full("queue is full").what());
  }
}

TEST(QueueTest, FullTimesOut) {
  mp::Queue q(2);
  EXPECT_EQ(q.maxsize(), 2);
  q.put(1);
  q.put(2, duration<double>(1));
  EXPECT_TRUE(q.full());
  auto start = Clock::now();
  EXPECT_THROW(q.put(3, duration<double>(0.1)), mp::Full);
  EXPECT_GE(Since(start), 0.09);
  start = Clock::now();
  EXPECT_THROW(q.put_nowait(3), mp::Full);
  EXPECT_THROW(q.put(3, false, duration<double>(5)), mp::Full);
  EXPECT_LT(Since(start), 1.0);
  EXPECT_EQ(q.get().as_int(), 1);
  EXPECT_FALSE(q.full());
  q.put(3);
  EXPECT_EQ(q.get().as_int(), 2);
  EXPECT_EQ(q.get().as_int(), 3);
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, UnboundedPutNeverBlocks) {
  mp::Queue q(0);
  mp::Queue q2(-5);
  EXPECT_EQ(q2.maxsize(), 0);
  for (int i = 0; i < 20000; ++i) q.put_nowait(i);
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 20000);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(q.get_nowait().as_int(), i);
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

TEST(QueueTest, ClosedQueuePutGetExceptions) {
  // test_closed_queue_put_get_exceptions
  auto check = [](const mp::internal::QueueBase& q) {
    q.close();
    try {
      q.put("foo");
      ADD_FAILURE() << "put on a closed queue";
    } catch (const mp::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
    }
    try {
      q.get();
      ADD_FAILURE() << "get on a closed queue";
    } catch (const mp::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
    }
    q.close();  // idempotent
  };
  check(mp::Queue());
  check(mp::JoinableQueue());
  check(mp::SimpleQueue());
  // Another handle to the same queue (a child's) stays open.
  mp::Queue q;
  mp::Queue other = mp::from_object<mp::Queue>(mp::to_object(q));
  q.put(1);
  q.close();
  EXPECT_EQ(other.get().as_int(), 1);
}

TEST(QueueTest, UnencodableItemLeavesQueueUsable) {
  // test_queue_feeder_donot_stop_onexc: items are encoded by put itself,
  // so the error reaches the caller and the queue carries on.
  mp::Queue q(1);
  EXPECT_THROW(q.put(mp::Object(std::string("\xff\xfe"))), mp::ValueError);
  q.put(true);
  EXPECT_EQ(q.qsize(), 1);
  EXPECT_TRUE(q.get(duration<double>(10)).as_bool());
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, ItemsOfEveryType) {
  mp::SimpleQueue q;
  std::vector<mp::Object> items = {
      mp::Object(),
      mp::Object(true),
      mp::Object(int64_t{-7}),
      mp::Object(2.5),
      mp::Object("text"),
      mp::Object::bytes(std::string("\0\1\2", 3)),
      mp::Object::list({1, "a"}),
      mp::Object::tuple({1, 2}),
      mp::Object::dict({{"k", mp::Object::list({})}})};
  for (const auto& item : items) q.put(item);
  for (const auto& item : items) EXPECT_EQ(q.get(), item);
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, SharedObjectInItemIsTypeError) {
  mp::Queue q;
  try {
    q.put(mp::Object::list({1, mp::to_object(mp::Value<int32_t>(1))}));
    ADD_FAILURE() << "a shared object went through a Queue";
  } catch (const mp::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot travel through a Queue"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(q.put(mp::to_object(mp::Queue())), mp::TypeError);
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, LargeItems) {
  mp::Queue q;
  // Several MiB each, and more than the ring's resident step in total.
  for (int i = 0; i < 4; ++i) {
    q.put(mp::Object::bytes(Pattern((size_t{3} << 20) + i, i)));
    q.put(i);
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(q.get().as_bytes(), Pattern((size_t{3} << 20) + i, i));
    EXPECT_EQ(q.get().as_int(), i);
  }
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, ConsumedMemoryIsGivenBack) {
  mp::Queue q;
  const int64_t before = ResidentBytes(q);
  const std::string chunk = Pattern(1 << 20, 3);
  for (int i = 0; i < 48; ++i) q.put(mp::Object::bytes(chunk));
  EXPECT_GE(ResidentBytes(q), 48 << 20);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(q.get().as_bytes(), chunk);
  // Pages before head are released 1 MiB at a time while items remain.
  EXPECT_LT(ResidentBytes(q), 12 << 20);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(q.get().as_bytes(), chunk);
  EXPECT_LT(ResidentBytes(q), before + (2 << 20));
}

// A queue whose ring is `ring_bytes` of virtual space instead of 4 GiB.
mp::Queue SmallRingQueue(uint64_t ring_bytes) {
  return mp::Queue(mp::internal::QueueVariant::kQueue,
                   mp::internal::QueueRing::Create(
                       mp::internal::QueueVariant::kQueue, 0, ring_bytes));
}

TEST(QueueTest, RecordsWrapAroundTheRing) {
  mp::Queue q = SmallRingQueue(64 << 10);
  // Two items always queued, so the positions never restart at 0 and run
  // around the ring many times; sizes vary so records straddle its end.
  int next_put = 0, next_get = 0;
  auto item = [](int i) { return Pattern(1000 + (i * 7919) % 20000, i); };
  for (; next_put < 2; ++next_put) q.put(mp::Object::bytes(item(next_put)));
  for (; next_put < 400; ++next_put) {
    q.put(mp::Object::bytes(item(next_put)));
    ASSERT_TRUE(q.get().as_bytes() == item(next_get)) << next_get;
    ++next_get;
  }
  for (; next_get < next_put; ++next_get) {
    ASSERT_TRUE(q.get().as_bytes() == item(next_get)) << next_get;
  }
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, RingFullOfBytesIsMemoryError) {
  mp::Queue q = SmallRingQueue(64 << 10);
  EXPECT_THROW(q.put(mp::Object::bytes(std::string(70 << 10, 'x'))),
               mp::ValueError);  // larger than the whole ring
  const std::string chunk(10 << 10, 'y');
  int queued = 0;
  try {
    for (; queued < 10; ++queued) q.put_nowait(mp::Object::bytes(chunk));
    ADD_FAILURE() << "64 KiB of ring held 10 items of 10 KiB";
  } catch (const mp::MemoryError&) {
  }
  EXPECT_EQ(queued, 6);
  EXPECT_EQ(q.qsize(), queued);
  for (int i = 0; i < queued; ++i) EXPECT_EQ(q.get().as_bytes(), chunk);
  q.put(mp::Object::bytes(chunk));  // room again
  EXPECT_EQ(q.get().as_bytes(), chunk);
  EXPECT_THROW(mp::internal::QueueRing::Create(
                   mp::internal::QueueVariant::kQueue, 0, 1000),
               mp::ValueError);
}

TEST(QueueTest, ThreadsTakeEveryItemOnce) {
  mp::Queue q(16);
  constexpr int kPerProducer = 3000;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> got(3);
  for (int p = 0; p < 3; ++p) {
    threads.emplace_back([&q, p] {
      for (int i = 0; i < kPerProducer; ++i) q.put(p * kPerProducer + i, kLong);
    });
  }
  for (int c = 0; c < 3; ++c) {
    threads.emplace_back([&q, &got, c] {
      for (int i = 0; i < kPerProducer; ++i) {
        got[c].push_back(q.get(kLong).as_int());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 3u * kPerProducer);
  EXPECT_TRUE(q.empty());
}

TEST(QueueTest, JoinableQueueTaskDone) {
  mp::JoinableQueue q;
  EXPECT_TRUE(q.join(duration<double>(0)));
  EXPECT_THROW(q.task_done(), mp::ValueError);
  q.put(1);
  q.put(2);
  EXPECT_FALSE(q.join(duration<double>(0.05)));
  q.get();
  q.task_done();
  EXPECT_FALSE(q.join(duration<double>(0)));
  q.get();
  q.task_done();
  EXPECT_TRUE(q.join(duration<double>(0)));
  EXPECT_THROW(q.task_done(), mp::ValueError);
}

TEST(QueueTest, Conversions) {
  mp::Queue q(3);
  mp::JoinableQueue jq;
  mp::SimpleQueue sq;
  auto q2 = mp::from_object<mp::Queue>(mp::to_object(q));
  q.put(1);
  EXPECT_EQ(q2.qsize(), 1);
  EXPECT_EQ(q2.maxsize(), 3);
  // A JoinableQueue is a Queue, as in Python; not the other way round.
  auto as_queue = mp::from_object<mp::Queue>(mp::to_object(jq));
  as_queue.put(1);
  EXPECT_FALSE(jq.join(duration<double>(0)));
  EXPECT_THROW(mp::from_object<mp::JoinableQueue>(mp::to_object(q)),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Queue>(mp::to_object(sq)), mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::SimpleQueue>(mp::to_object(q)),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Queue>(mp::to_object(mp::Lock())),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Queue>(mp::Object(1)), mp::TypeError);
}

TEST(QueueTest, ProxiesInItems) {
  mp::Manager manager;
  mp::DictProxy d = manager.dict({{"a", 1}});
  mp::Queue q;
  q.put(mp::Object::list({mp::to_object(d), "tag"}));
  mp::Object item = q.get(kLong);
  auto d2 = mp::from_object<mp::DictProxy>(item.as_list()[0]);
  d2.set("b", 2);
  EXPECT_EQ(d.get("b").as_int(), 2);
}

// ---- children under every start method ----

void GetSix(mp::Queue q, mp::Event child_can_start,
            mp::Event parent_can_continue) {
  child_can_start.wait(kLong);
  for (int i = 0; i < 6; ++i) q.get(kLong);
  parent_can_continue.set();
}

TEST_P(StartMethod, Put) {  // test_put
  constexpr int kMax = 6;
  mp::Queue q(kMax);
  mp::Event child_can_start, parent_can_continue;
  mp::Process p = Start(GetSix, q, child_can_start, parent_can_continue);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  q.put(1);
  q.put(2, true);
  q.put(3, true, std::nullopt);
  q.put(4, false);
  q.put(5, false, std::nullopt);
  q.put_nowait(6);
  EXPECT_FALSE(q.empty());
  EXPECT_TRUE(q.full());
  auto start = Clock::now();
  EXPECT_THROW(q.put(7, false), mp::Full);
  EXPECT_THROW(q.put(7, false, std::nullopt), mp::Full);
  EXPECT_THROW(q.put_nowait(7), mp::Full);
  EXPECT_LT(Since(start), 0.5);
  start = Clock::now();
  EXPECT_THROW(q.put(7, true, duration<double>(kTimeout1)), mp::Full);
  EXPECT_GE(Since(start), kTimeout1 - 0.01);
  start = Clock::now();
  EXPECT_THROW(q.put(7, false, duration<double>(kTimeout2)), mp::Full);
  EXPECT_LT(Since(start), kTimeout2);
  start = Clock::now();
  EXPECT_THROW(q.put(7, duration<double>(kTimeout3)), mp::Full);
  EXPECT_GE(Since(start), kTimeout3 - 0.01);
  child_can_start.set();
  ASSERT_TRUE(parent_can_continue.wait(kLong));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  JoinOk(p);
}

void PutFour(mp::Queue q, mp::Event child_can_start,
             mp::Event parent_can_continue) {
  child_can_start.wait(kLong);
  for (int i = 2; i <= 5; ++i) q.put(i);
  parent_can_continue.set();
}

TEST_P(StartMethod, Get) {  // test_get
  mp::Queue q;
  mp::Event child_can_start, parent_can_continue;
  mp::Process p = Start(PutFour, q, child_can_start, parent_can_continue);
  EXPECT_TRUE(q.empty());
  child_can_start.set();
  ASSERT_TRUE(parent_can_continue.wait(kLong));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.get(true, std::nullopt).as_int(), 2);
  EXPECT_EQ(q.get(true).as_int(), 3);
  EXPECT_EQ(q.get(duration<double>(1)).as_int(), 4);
  EXPECT_EQ(q.get_nowait().as_int(), 5);
  EXPECT_TRUE(q.empty());
  auto start = Clock::now();
  EXPECT_THROW(q.get(false), mp::Empty);
  EXPECT_THROW(q.get(false, std::nullopt), mp::Empty);
  EXPECT_THROW(q.get_nowait(), mp::Empty);
  EXPECT_THROW(q.get(false, duration<double>(kTimeout2)), mp::Empty);
  EXPECT_LT(Since(start), kTimeout2);
  start = Clock::now();
  EXPECT_THROW(q.get(true, duration<double>(kTimeout1)), mp::Empty);
  EXPECT_GE(Since(start), kTimeout1 - 0.01);
  JoinOk(p);
}

void PutTenToTwenty(mp::Queue q) {
  for (int i = 10; i < 20; ++i) q.put(i);
}

TEST_P(StartMethod, Fork) {  // test_fork
  mp::Queue q;
  for (int i = 0; i < 10; ++i) q.put(i);
  mp::Process p = Start(PutTenToTwenty, q);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(q.get(kLong).as_int(), i);
  EXPECT_THROW(q.get(false), mp::Empty);
  JoinOk(p);
}

void TaskDoneWorker(mp::JoinableQueue q) {
  for (;;) {
    mp::Object item = q.get(kLong);
    if (item.is_none()) break;
    q.task_done();
  }
}

TEST_P(StartMethod, TaskDone) {  // test_task_done
  mp::JoinableQueue q;
  std::vector<mp::Process> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(Start(TaskDoneWorker, q));
  for (int i = 0; i < 10; ++i) q.put(i);
  EXPECT_TRUE(q.join(kLong));
  for (size_t i = 0; i < workers.size(); ++i) q.put(mp::Object());
  for (auto& p : workers) JoinOk(p);
}

void Produce(mp::Queue q, int64_t first, int64_t n) {
  for (int64_t i = first; i < first + n; ++i) q.put(i, kLong);
}

void Consume(mp::Queue q, mp::Queue out) {
  std::vector<mp::Object> got;
  for (;;) {
    mp::Object item = q.get(kLong);
    if (item.is_none()) break;
    got.push_back(item);
  }
  out.put(mp::Object::list(std::move(got)));
}

TEST_P(StartMethod, ProducersAndConsumers) {
  constexpr int64_t kPer = 2000;
  mp::Queue q(50);
  mp::Queue out;
  std::vector<mp::Process> producers, consumers;
  for (int i = 0; i < 2; ++i)
    producers.push_back(Start(Produce, q, i * kPer, kPer));
  for (int i = 0; i < 2; ++i) consumers.push_back(Start(Consume, q, out));
  for (auto& p : producers) JoinOk(p);
  for (size_t i = 0; i < consumers.size(); ++i) q.put(mp::Object(), kLong);
  std::multiset<int64_t> all;
  for (size_t i = 0; i < consumers.size(); ++i) {
    const mp::Object list = out.get(kLong);
    for (const mp::Object& v : list.as_list()) all.insert(v.as_int());
  }
  for (auto& p : consumers) JoinOk(p);
  ASSERT_EQ(all.size(), 2u * kPer);
  for (int64_t i = 0; i < 2 * kPer; ++i) EXPECT_EQ(all.count(i), 1u) << i;
}

void PutLarge(mp::Queue q) {
  for (int i = 0; i < 3; ++i) {
    q.put(mp::Object::bytes(Pattern((size_t{4} << 20) + i, i)));
  }
}

TEST_P(StartMethod, LargeItemsFromChild) {
  mp::Queue q;
  mp::Process p = Start(PutLarge, q);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(q.get(kLong).as_bytes(), Pattern((size_t{4} << 20) + i, i));
  }
  JoinOk(p);
}

void UseProxyFromQueue(mp::Queue q) {
  mp::Object item = q.get(kLong);
  auto d = mp::from_object<mp::DictProxy>(item.as_list()[0]);
  d.set("child", item.as_list()[1]);
  q.put(mp::Object::list({mp::to_object(d), "back"}));
}

TEST_P(StartMethod, ProxyInItemReachesChild) {
  mp::Manager manager;
  mp::DictProxy d = manager.dict();
  mp::Queue q;
  mp::Process p = Start(UseProxyFromQueue, q);
  q.put(mp::Object::list({mp::to_object(d), 42}));
  JoinOk(p);
  EXPECT_EQ(d.get("child").as_int(), 42);
  mp::Object back = q.get(kLong);
  EXPECT_EQ(mp::from_object<mp::DictProxy>(back.as_list()[0]).get("child"),
            mp::Object(42));
}

// ---- SIGKILL in the middle of a get() or a put() ----

// Stops this process (after telling the parent) when it reaches `at`.
void StopAt(QueueTestPoint at, mp::Event reached) {
  mp::internal::SetQueueTestHook([at, reached](QueueTestPoint point) {
    if (point != at) return;
    reached.set();
    raise(SIGSTOP);
  });
}

void GetThreeThenStopInGet(mp::Queue q, mp::Queue got, mp::Event stopped) {
  for (int i = 0; i < 3; ++i) got.put(q.get(kLong));
  StopAt(QueueTestPoint::kGetCopied, stopped);
  got.put(q.get(kLong));  // stops after the copy, before the commit
}

TEST_P(StartMethod, ConsumerKilledInGet) {
  mp::Queue q;
  mp::Queue got;
  for (int i = 0; i < 10; ++i) q.put(i);
  mp::Process p = Start(GetThreeThenStopInGet, q, got, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  p.kill();
  JoinKilled(p);
  std::multiset<int64_t> seen;
  for (int i = 0; i < 3; ++i) seen.insert(got.get(kLong).as_int());
  EXPECT_THROW(got.get_nowait(), mp::Empty);  // the 4th get never returned
  EXPECT_EQ(q.qsize(), 7);  // ... and its item is still queued
  for (int i = 3; i < 10; ++i) {
    int64_t v = q.get(kLong).as_int();
    EXPECT_EQ(v, i);
    seen.insert(v);
  }
  EXPECT_THROW(q.get_nowait(), mp::Empty);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
  q.put("after");  // the lock was recovered
  EXPECT_EQ(q.get(kLong).as_str(), "after");
}

void PutTwoThenStopInPut(mp::Queue q, mp::Event stopped) {
  q.put(100);
  q.put(101);
  StopAt(QueueTestPoint::kPutCopied, stopped);
  // Larger than the ring's resident step: the dead put's pages are released.
  q.put(mp::Object::bytes(Pattern(3 << 20, 9)));
}

TEST_P(StartMethod, ProducerKilledInPut) {
  mp::Queue q;
  for (int i = 0; i < 3; ++i) q.put(i);
  mp::Process p = Start(PutTwoThenStopInPut, q, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  p.kill();
  JoinKilled(p);
  EXPECT_EQ(q.qsize(), 5);
  for (int64_t v : {0, 1, 2, 100, 101}) EXPECT_EQ(q.get(kLong).as_int(), v);
  EXPECT_THROW(q.get_nowait(), mp::Empty);
  const std::string big = Pattern(2 << 20, 4);
  q.put(mp::Object::bytes(big));
  q.put("after");
  EXPECT_EQ(q.get(kLong).as_bytes(), big);
  EXPECT_EQ(q.get(kLong).as_str(), "after");
  EXPECT_LT(ResidentBytes(q), 2 << 20);  // nothing of the dead put stays
}

void PutWrappedThenStopInPut(mp::Queue q, mp::Event stopped) {
  StopAt(QueueTestPoint::kPutCopied, stopped);
  q.put(mp::Object::bytes(Pattern(20000, 77)));
}

TEST_P(StartMethod, ProducerKilledInPutAfterTheRingWrapped) {
  // A 64 KiB ring whose positions have gone round it many times, with
  // records queued across its end: the dead put's pages are released, the
  // queued records are not.
  mp::Queue q = SmallRingQueue(64 << 10);
  int next_put = 0, next_get = 0;
  auto item = [](int i) { return Pattern(1000 + (i * 7919) % 20000, i); };
  for (; next_put < 2; ++next_put) q.put(mp::Object::bytes(item(next_put)));
  for (; next_put < 300; ++next_put) {
    q.put(mp::Object::bytes(item(next_put)));
    ASSERT_TRUE(q.get().as_bytes() == item(next_get++));
  }
  mp::Process p = Start(PutWrappedThenStopInPut, q, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  p.kill();
  JoinKilled(p);
  EXPECT_EQ(q.qsize(), 2);
  for (; next_put < 320; ++next_put) {
    q.put(mp::Object::bytes(item(next_put)));
    ASSERT_TRUE(q.get().as_bytes() == item(next_get)) << next_get;
    ++next_get;
  }
  for (; next_get < next_put; ++next_get) {
    ASSERT_TRUE(q.get().as_bytes() == item(next_get)) << next_get;
  }
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

void PutForever(mp::Queue q, mp::Value<int64_t> done, mp::Event started) {
  for (int64_t i = 0;; ++i) {
    q.put(mp::Object::bytes(Pattern(100000 + i % 5000, static_cast<int>(i))));
    done.set(i + 1);
    if (i == 3) started.set();
  }
}

TEST_P(StartMethod, ProducerKilledAnywhereLeavesWholeItems) {
  // No hook: the kill lands wherever the producer is, most likely in the
  // middle of copying 100 KB. Every item left is whole and in order, and
  // only the put that was under way may be missing from `done`.
  mp::Queue q;
  mp::Value<int64_t> done(0);
  mp::Process p = Start(PutForever, q, done, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  p.kill();
  JoinKilled(p);
  const int64_t n = q.qsize();
  EXPECT_GE(n, done.get());
  EXPECT_LE(n, done.get() + 1);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(q.get(kLong).as_bytes() ==
                Pattern(100000 + i % 5000, static_cast<int>(i)))
        << i;
  }
  EXPECT_THROW(q.get_nowait(), mp::Empty);
}

void GetOneThenStopInGet(mp::JoinableQueue q, mp::Event stopped) {
  q.get(kLong);
  q.task_done();
  StopAt(QueueTestPoint::kGetCopied, stopped);
  q.get(kLong);
}

void PutOneThenStopInPut(mp::JoinableQueue q, mp::Event stopped) {
  q.put("child");
  StopAt(QueueTestPoint::kPutCopied, stopped);
  q.put("never");
}

TEST_P(StartMethod, JoinableQueueCountsStayConsistent) {
  mp::JoinableQueue q;
  for (int i = 0; i < 3; ++i) q.put(i);
  mp::Process consumer = Start(GetOneThenStopInGet, q, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  consumer.kill();
  JoinKilled(consumer);
  stopped_.clear();
  mp::Process producer = Start(PutOneThenStopInPut, q, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  producer.kill();
  JoinKilled(producer);
  // Unfinished: 3 put, 1 done by the consumer, 1 put by the producer.
  EXPECT_EQ(q.qsize(), 3);
  EXPECT_FALSE(q.join(duration<double>(0)));
  EXPECT_EQ(q.get(kLong).as_int(), 1);
  EXPECT_EQ(q.get(kLong).as_int(), 2);
  EXPECT_EQ(q.get(kLong).as_str(), "child");
  for (int i = 0; i < 3; ++i) q.task_done();
  EXPECT_TRUE(q.join(duration<double>(0)));
  EXPECT_THROW(q.task_done(), mp::ValueError);
}

void WaitInGet(mp::Queue q, mp::Event waiting) {
  waiting.set();
  q.get(kLong);  // empty: sleeps until killed
}

TEST_P(StartMethod, WaiterKilledLosesNothing) {
  mp::Queue q;
  mp::Process p = Start(WaitInGet, q, stopped_);
  ASSERT_TRUE(stopped_.wait(kLong));
  p.kill();  // before or while it sleeps in the get: either way it took nothing
  JoinKilled(p);
  q.put("one");
  q.put("two");
  EXPECT_EQ(q.qsize(), 2);
  EXPECT_EQ(q.get(kLong).as_str(), "one");
  EXPECT_EQ(q.get(kLong).as_str(), "two");
}

INSTANTIATE_TEST_SUITE_P(All, StartMethod,
                         ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
