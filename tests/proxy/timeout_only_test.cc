// A timeout given on its own, wherever Python's signature allows it
// (issue 16 item 4): q.get(10s) is Python's q.get(timeout=10) - blocking,
// bounded by the timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TimeoutOnlyTest : public testing::ManagerTest {};

// Runs `call`, which must give up after about `timeout`.
template <class F>
void ExpectWaitsAbout(std::chrono::milliseconds timeout, F call) {
  auto start = Clock::now();
  call();
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, timeout - 10ms);
  EXPECT_LT(waited, timeout + 5s);
}

TEST_F(TimeoutOnlyTest, QueueGetAndPut) {
  QueueProxy q = m().Queue(1);
  ExpectWaitsAbout(100ms, [&] { EXPECT_THROW(q.get(100ms), Empty); });
  q.put(1, 1s);  // room: returns at once
  ExpectWaitsAbout(100ms, [&] { EXPECT_THROW(q.put(2, 100ms), Full); });
  EXPECT_EQ(q.get(1s), Object(1));
  // A Timeout variable, and std::nullopt (no limit), work the same way.
  Timeout t = 50ms;
  EXPECT_THROW(q.get(t), Empty);
  q.put(3, std::nullopt);
  EXPECT_EQ(q.get(std::nullopt), Object(3));
  // A bool still means `block`, as before.
  EXPECT_THROW(q.get(false), Empty);
  q.put(4, false);
  EXPECT_THROW(q.put(5, false), Full);
  EXPECT_EQ(q.get(true), Object(4));
}

TEST_F(TimeoutOnlyTest, QueueGetWaitsForAPut) {
  QueueProxy q = m().Queue();
  std::thread producer([&] { q.put("late"); });
  EXPECT_EQ(q.get(30s), Object("late"));
  producer.join();
}

TEST_F(TimeoutOnlyTest, QueueBatches) {
  QueueProxy q = m().Queue(2);
  ExpectWaitsAbout(100ms,
                   [&] { EXPECT_THROW(q.get_many(5, 100ms), Empty); });
  q.put_many({1, 2}, 1s);
  ExpectWaitsAbout(100ms, [&] { EXPECT_THROW(q.put_many({3}, 100ms), Full); });
  EXPECT_EQ(q.get_many(5, 1s), (std::vector<Object>{1, 2}));
}

TEST_F(TimeoutOnlyTest, AcquireOnLocksAndSemaphores) {
  LockProxy lock = m().Lock();
  EXPECT_TRUE(lock.acquire(1s));
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(lock.acquire(100ms)); });
  lock.release();
  AcquireResult r = lock.acquire_ex(1s);
  EXPECT_TRUE(r.acquired);
  EXPECT_GT(r.fencing_token, 0u);
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(lock.acquire_ex(100ms)); });
  lock.release();

  SemaphoreProxy sem = m().Semaphore(0);
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(sem.acquire(100ms)); });
  sem.release();
  EXPECT_TRUE(sem.acquire(1s));

  ConditionProxy cond = m().Condition();
  EXPECT_TRUE(cond.acquire(1s));
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(cond.wait(100ms)); });
  cond.release();
}

TEST_F(TimeoutOnlyTest, WaitAndJoin) {
  EventProxy ev = m().Event();
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(ev.wait(100ms)); });
  ev.set();
  EXPECT_TRUE(ev.wait(1s));

  JoinableQueueProxy jq = m().JoinableQueue();
  jq.put(1);
  ExpectWaitsAbout(100ms, [&] { EXPECT_FALSE(jq.join(100ms)); });
  EXPECT_EQ(jq.get(1s), Object(1));
  jq.task_done();
  EXPECT_TRUE(jq.join(1s));

  BarrierProxy barrier = m().Barrier(2);
  ExpectWaitsAbout(100ms, [&] {
    EXPECT_THROW(barrier.wait(100ms), BrokenBarrierError);
  });
}

}  // namespace
}  // namespace mp
