// Locks, Condition, Event, Barrier and Queue: CPython's behaviour
// (_TestLock, _TestSemaphore, _TestCondition, _TestEvent, _TestBarrier,
// _TestQueue in manager flavour) and the session leases Python lacks, with
// real processes and real SIGKILLs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class SyncTest : public testing::ManagerTest {};

// Forks a child that runs `body` and then signals readiness on a pipe
// (`body` returning means "I am now blocked or holding"); the child then
// sleeps until killed. Returns the child's pid after it signalled.
pid_t ForkHolder(const std::function<void(int ready_fd)>& body) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    try {
      body(fds[1]);
    } catch (const std::exception& e) {
      fprintf(stderr, "child: %s\n", e.what());
      _exit(1);
    }
    for (;;) pause();
  }
  close(fds[1]);
  char c;
  EXPECT_EQ(read(fds[0], &c, 1), 1);
  close(fds[0]);
  return pid;
}

void Signal(int fd) { (void)!write(fd, "r", 1); }

// Polls server-side state another process or thread changes (there is no
// event to await for "a call is parked"); fails the test after 10 s.
template <class Cond>
void WaitUntil(Cond cond) {
  auto deadline = Clock::now() + 10s;
  while (!cond()) {
    ASSERT_LT(Clock::now(), deadline) << "condition never became true";
    std::this_thread::sleep_for(2ms);
  }
}

void Kill(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_F(SyncTest, Lock) {
  LockProxy lock = m().Lock();
  EXPECT_TRUE(lock.acquire());
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(lock.acquire(true, 50ms));
  lock.release();
  EXPECT_THROW(lock.release(), RuntimeError);
  {
    std::lock_guard<LockProxy> guard(lock);
    EXPECT_FALSE(lock.try_lock());
  }
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST_F(SyncTest, LockTimeoutIsHonoured) {
  LockProxy lock = m().Lock();
  lock.acquire();
  auto start = Clock::now();
  EXPECT_FALSE(lock.acquire(true, 200ms));
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 190ms);
  EXPECT_LT(waited, 5s);
  lock.release();
}

TEST_F(SyncTest, RLockIsReentrantAndOwnedByItsThread) {
  RLockProxy lock = m().RLock();
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  std::thread other([&] {
    EXPECT_FALSE(lock.acquire(false));
    EXPECT_THROW(lock.release(), RuntimeError);
  });
  other.join();
  lock.release();
  lock.release();
  EXPECT_THROW(lock.release(), RuntimeError);
  std::thread taker([&] {
    EXPECT_TRUE(lock.acquire(false));
    lock.release();
  });
  taker.join();
}

TEST_F(SyncTest, Semaphore) {
  SemaphoreProxy sem = m().Semaphore(2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.acquire());
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(true, 20ms));
  sem.release();
  sem.release();
  sem.release();  // a plain Semaphore may go above its initial value
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false));
}

TEST_F(SyncTest, BoundedSemaphore) {
  BoundedSemaphoreProxy sem = m().BoundedSemaphore(2);
  sem.acquire();
  sem.release();
  EXPECT_THROW(sem.release(), ValueError);
}

TEST_F(SyncTest, BlockedAcquireIsWokenByRelease) {
  LockProxy lock = m().Lock();
  lock.acquire();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    got = lock.acquire();
    lock.release();
  });
  WaitUntil([&] { return lock.n_waiting() == 1; });
  EXPECT_FALSE(got.load());
  lock.release();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST_F(SyncTest, DeadHoldersLockIsReleasedAndReported) {
  LockProxy lock = m().Lock();
  RLockProxy rlock = m().RLock();
  SemaphoreProxy sem = m().Semaphore(1);
  pid_t pid = ForkHolder([&](int ready) {
    lock.acquire();
    rlock.acquire();
    sem.acquire();
    Signal(ready);
  });
  EXPECT_FALSE(lock.acquire(false));
  Kill(pid);
  auto start = Clock::now();
  AcquireResult r = lock.acquire_ex(true, 2s);
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(rlock.acquire_ex(true, 2s).previous_owner_died);
  EXPECT_TRUE(sem.acquire_ex(true, 2s).previous_owner_died);
  // Reported once: the next holder after a clean release is told nothing.
  lock.release();
  EXPECT_FALSE(lock.acquire_ex().previous_owner_died);
  lock.release();
}

TEST_F(SyncTest, FrozenHoldersLockIsReleasedWithinTheLeaseTimeout) {
  // SIGSTOP keeps the process's socket open but stops it answering the
  // server's keepalive pings: only the lease timeout (here 2 s) can free
  // the lock.
  ManagerOptions options;
  options.lease_timeout = 2000ms;
  Manager local(options);
  LockProxy lock = local.Lock();
  pid_t pid = ForkHolder([&](int ready) {
    lock.acquire();
    Signal(ready);
  });
  kill(pid, SIGSTOP);
  auto start = Clock::now();
  AcquireResult r = lock.acquire_ex(true, 10s);
  auto waited = Clock::now() - start;
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  EXPECT_LT(waited, 4s);
  Kill(pid);
  lock.release();
}

TEST_F(SyncTest, IdleHolderKeepsItsLock) {
  // By default only a closed connection ends a lease: a process that holds
  // a lock and makes no calls for a while keeps it.
  LockProxy lock = m().Lock();
  pid_t pid = ForkHolder([&](int ready) {
    lock.acquire();
    Signal(ready);
  });
  // Idle on purpose: no calls from the holder for 3 s.
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(lock.acquire(false));
  Kill(pid);
  EXPECT_TRUE(lock.acquire_ex(true, 10s).previous_owner_died);
}

TEST_F(SyncTest, KilledWaiterNeverSwallowsTheLock) {
  LockProxy lock = m().Lock();
  lock.acquire();
  pid_t pid = ForkHolder([&](int ready) {
    Signal(ready);
    lock.acquire();  // parks on the server; the child is killed here
    _exit(3);
  });
  WaitUntil([&] { return lock.n_waiting() == 1; });  // parked on the server
  Kill(pid);
  WaitUntil(
      [&] { return lock.n_waiting() == 0; });  // cancelled with the session
  lock.release();
  // Python's orphaned server thread would now take the lock for the dead
  // waiter; here the release leaves it free.
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
}

// ---- fencing tokens (API.md "Fencing tokens")
// --------------------------------

TEST_F(SyncTest, FencingTokensIncreaseAcrossHoldersAndProcesses) {
  LockProxy lock = m().Lock();
  ListProxy tokens = m().list();  // appended by each holder while it holds
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        for (int i = 0; i < 5 && code == 0; ++i) {
          AcquireResult r = lock.acquire_ex(true, 30s);
          if (!r.acquired) code = 2;
          tokens.append(static_cast<int64_t>(r.fencing_token));
          lock.release();
        }
      } catch (const std::exception& e) {
        fprintf(stderr, "child: %s\n", e.what());
        code = 1;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  AcquireResult mine = lock.acquire_ex();
  tokens.append(static_cast<int64_t>(mine.fencing_token));
  lock.release();
  // In the order the lock was held, each token is above the one before.
  const Object::List seen = tokens.copy().as_list();
  ASSERT_EQ(seen.size(), 21u);
  EXPECT_GT(seen[0].as_int(), 0);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].as_int(), seen[i - 1].as_int()) << "at " << i;
  }
}

TEST_F(SyncTest, RLockReentryKeepsItsFencingToken) {
  RLockProxy rlock = m().RLock();
  AcquireResult first = rlock.acquire_ex();
  AcquireResult again = rlock.acquire_ex();
  EXPECT_GT(first.fencing_token, 0u);
  EXPECT_EQ(again.fencing_token, first.fencing_token);
  rlock.release();
  rlock.release();
  EXPECT_GT(rlock.acquire_ex().fencing_token, first.fencing_token);
  rlock.release();
  // An acquire that fails carries none.
  LockProxy lock = m().Lock();
  lock.acquire();
  AcquireResult refused = lock.acquire_ex(false);
  EXPECT_FALSE(refused.acquired);
  EXPECT_EQ(refused.fencing_token, 0u);
  lock.release();
}

TEST_F(SyncTest, NextHolderAfterAKilledOneGetsALargerFencingToken) {
  for (bool reentrant : {false, true}) {
    SCOPED_TRACE(reentrant ? "RLock" : "Lock");
    AcquirerProxy lock =
        reentrant ? AcquirerProxy(m().RLock()) : AcquirerProxy(m().Lock());
    ListProxy tokens = m().list();
    pid_t pid = ForkHolder([&](int ready) {
      tokens.append(static_cast<int64_t>(lock.acquire_ex().fencing_token));
      Signal(ready);
    });
    Kill(pid);
    AcquireResult r = lock.acquire_ex(true, 10s);
    EXPECT_TRUE(r.acquired);
    EXPECT_TRUE(r.previous_owner_died);
    EXPECT_GT(r.fencing_token,
              static_cast<uint64_t>(tokens.getitem(0).as_int()));
    lock.release();
  }
}

TEST_F(SyncTest, Event) {
  EventProxy ev = m().Event();
  EXPECT_FALSE(ev.is_set());
  EXPECT_FALSE(ev.wait(20ms));
  std::vector<std::thread> waiters;
  std::atomic<int> woken{0};
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&] {
      if (ev.wait(10s)) ++woken;
    });
  }
  ev.set();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woken.load(), 5);
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait(0s));
  ev.clear();
  EXPECT_FALSE(ev.wait(0s));
}

TEST_F(SyncTest, ConditionNotify) {
  ConditionProxy cond = m().Condition();
  ListProxy state = m().list();
  std::vector<std::thread> waiters;
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      std::unique_lock<ConditionProxy> hold(cond);
      state.append(1);
      EXPECT_TRUE(cond.wait(10s));
      ++done;
    });
  }
  // Everyone is waiting once all three appended (they append under the
  // lock, and only release it by waiting).
  WaitUntil([&] { return state.size() == 3; });
  {
    std::unique_lock<ConditionProxy> hold(cond);
    cond.notify();
  }
  WaitUntil([&] { return done.load() >= 1; });
  EXPECT_EQ(done.load(), 1);
  {
    std::unique_lock<ConditionProxy> hold(cond);
    cond.notify_all();
  }
  for (auto& t : waiters) t.join();
  EXPECT_EQ(done.load(), 3);
}

// CPython _TestCondition.test_notify_n: notify(2) wakes exactly two.
TEST_F(SyncTest, ConditionNotifyN) {
  ConditionProxy cond = m().Condition();
  ValueProxy<int64_t> sleeping = m().Value<int64_t>(0);
  ValueProxy<int64_t> woken = m().Value<int64_t>(0);
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&] {
      std::unique_lock<ConditionProxy> hold(cond);
      sleeping.fetch_add(1);
      cond.wait(10s);
      woken.fetch_add(1);
    });
  }
  WaitUntil([&] { return sleeping.get() == 4; });
  {
    std::unique_lock<ConditionProxy> hold(cond);
    cond.notify(2);
  }
  WaitUntil([&] { return woken.get() == 2; });
  {
    std::unique_lock<ConditionProxy> hold(cond);
    cond.notify(5);  // more than are waiting: wakes the rest
  }
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woken.get(), 4);
}

TEST_F(SyncTest, ScopedLockTakesTwoLocks) {
  LockProxy a = m().Lock(), b = m().Lock();
  {
    std::scoped_lock both(a, b);
    EXPECT_FALSE(a.try_lock());
    EXPECT_FALSE(b.try_lock());
  }
  EXPECT_TRUE(a.try_lock());
  EXPECT_TRUE(b.try_lock());
  a.unlock();
  b.unlock();
}

TEST_F(SyncTest, ConditionWaitTimeoutReacquires) {
  ConditionProxy cond = m().Condition(m().Lock());
  cond.acquire();
  EXPECT_FALSE(cond.wait(50ms));
  // The lock is held again after a timed-out wait.
  cond.release();
  EXPECT_THROW(cond.wait(10ms), RuntimeError);  // not held
}

TEST_F(SyncTest, ConditionWaitFor) {
  ConditionProxy cond = m().Condition();
  ValueProxy<int64_t> v = m().Value<int64_t>(0);
  std::thread setter([&] {
    for (int i = 0; i < 3; ++i) {
      std::unique_lock<ConditionProxy> hold(cond);
      v.fetch_add(1);
      cond.notify_all();
    }
  });
  std::unique_lock<ConditionProxy> hold(cond);
  EXPECT_TRUE(cond.wait_for([&] { return v.get() == 3; }, 10s));
  hold.unlock();
  setter.join();
  std::unique_lock<ConditionProxy> again(cond);
  EXPECT_FALSE(cond.wait_for([&] { return v.get() == 4; }, 50ms));
}

TEST_F(SyncTest, Barrier) {
  BarrierProxy barrier = m().Barrier(3);
  EXPECT_EQ(barrier.parties(), 3);
  std::vector<std::thread> parties;
  std::mutex mu;
  std::multiset<int64_t> indices;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {
      parties.emplace_back([&] {
        int64_t index = barrier.wait(10s);
        std::lock_guard<std::mutex> lock(mu);
        indices.insert(index);
      });
    }
    for (auto& t : parties) t.join();
    parties.clear();
  }
  EXPECT_EQ(indices, (std::multiset<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_FALSE(barrier.broken());
}

// CPython _TestBarrier.test_thousand: parties in separate processes pass
// the same barrier a thousand times; every pass hands out each index once.
TEST_F(SyncTest, BarrierThousandPasses) {
  constexpr int kParties = 5, kPasses = 1000;
  BarrierProxy barrier = m().Barrier(kParties);
  ListProxy indices = m().list();
  std::vector<pid_t> pids;
  for (int p = 0; p < kParties; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      int64_t sum = 0;
      try {
        for (int i = 0; i < kPasses; ++i) sum += barrier.wait(60s);
        indices.append(sum);
      } catch (const std::exception& e) {
        fprintf(stderr, "party: %s\n", e.what());
        _exit(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Each pass hands out 0..parties-1 once: the sums over all parties add
  // up to kPasses * (0 + 1 + ... + parties-1).
  int64_t total = 0;
  for (const Object& s : indices) total += s.as_int();
  EXPECT_EQ(indices.size(), static_cast<size_t>(kParties));
  EXPECT_EQ(total, int64_t{kPasses} * kParties * (kParties - 1) / 2);
  EXPECT_FALSE(barrier.broken());
}

TEST_F(SyncTest, BarrierTimeoutAbortReset) {
  BarrierProxy barrier = m().Barrier(2);
  EXPECT_THROW(barrier.wait(50ms), BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(), BrokenBarrierError);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  std::thread waiter(
      [&] { EXPECT_THROW(barrier.wait(10s), BrokenBarrierError); });
  WaitUntil([&] { return barrier.n_waiting() == 1; });
  barrier.abort();
  waiter.join();
}

TEST_F(SyncTest, BarrierWithDeadPartyBreaks) {
  BarrierProxy barrier = m().Barrier(3);
  pid_t pid = ForkHolder([&](int ready) {
    Signal(ready);
    barrier.wait();
  });
  WaitUntil([&] { return barrier.n_waiting() == 1; });
  std::thread other(
      [&] { EXPECT_THROW(barrier.wait(30s), BrokenBarrierError); });
  WaitUntil([&] { return barrier.n_waiting() == 2; });
  Kill(pid);
  other.join();  // broken, not hanging for the dead party
  EXPECT_TRUE(barrier.broken());
}

TEST_F(SyncTest, QueueBasics) {
  QueueProxy q = m().Queue(3);
  EXPECT_TRUE(q.empty());
  q.put(1);
  q.put("two");
  q.put_nowait(3.0);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(4), Full);
  EXPECT_THROW(q.put(4, true, 30ms), Full);
  EXPECT_EQ(q.qsize(), 3);
  EXPECT_EQ(q.get(), Object(1));
  EXPECT_EQ(q.get(), Object("two"));
  EXPECT_EQ(q.get_nowait(), Object(3.0));
  EXPECT_THROW(q.get_nowait(), Empty);
  auto start = Clock::now();
  EXPECT_THROW(q.get(true, 100ms), Empty);
  EXPECT_GE(Clock::now() - start, 90ms);
}

TEST_F(SyncTest, QueueBlockedPutAndGetAreHandedOver) {
  QueueProxy q = m().Queue(1);
  q.put(0);
  std::thread producer([&] { q.put(1, true, 10s); });  // parks: full
  EXPECT_EQ(q.get(true, 10s), Object(0));
  EXPECT_EQ(q.get(true, 10s), Object(1));
  producer.join();
  std::thread consumer([&] { EXPECT_EQ(q.get(true, 10s), Object("x")); });
  WaitUntil([&] { return q.waiting_getters() == 1; });
  q.put("x");
  consumer.join();
}

// CPython _TestQueue.test_fork: a child process fills the queue, the
// parent drains it.
TEST_F(SyncTest, QueueFilledByAnotherProcess) {
  QueueProxy q = m().Queue();
  int status = testing::RunInChild([&] {
    for (int i = 0; i < 10; ++i) q.put(i);
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(q.get(true, 5s), Object(i));
  EXPECT_THROW(q.get(false), Empty);
}

TEST_F(SyncTest, QueueBatches) {
  QueueProxy q = m().Queue();
  std::vector<Object> items;
  for (int i = 0; i < 1000; ++i) items.push_back(i);
  q.put_many(items);
  EXPECT_EQ(q.qsize(), 1000);
  std::vector<Object> got;
  while (got.size() < 1000) {
    auto batch = q.get_many(300);
    EXPECT_LE(batch.size(), 300u);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(got, items);
}

TEST_F(SyncTest, JoinableQueue) {
  JoinableQueueProxy q = m().JoinableQueue();
  EXPECT_TRUE(q.join(0s));
  q.put(1);
  q.put(2);
  EXPECT_FALSE(q.join(20ms));
  std::thread worker([&] {
    for (int i = 0; i < 2; ++i) {
      q.get();
      q.task_done();
    }
  });
  EXPECT_TRUE(q.join(10s));
  worker.join();
  EXPECT_THROW(q.task_done(), ValueError);
}

TEST_F(SyncTest, KilledConsumerNeverSwallowsAnItem) {
  QueueProxy q = m().Queue();
  pid_t pid = ForkHolder([&](int ready) {
    Signal(ready);
    q.get();  // parks on the server; the child is killed here
    _exit(3);
  });
  WaitUntil([&] { return q.waiting_getters() == 1; });
  Kill(pid);
  // Even if the server hands the item to the dead consumer before it
  // notices the death, the unacknowledged item comes back.
  q.put("item");
  EXPECT_EQ(q.get(true, 2s), Object("item"));
}

TEST_F(SyncTest, ProxiesTravelInsideContainers) {
  // CPython test_nested_queue.
  ListProxy a = m().list();
  a.append(m().Queue());
  a[0].as<QueueProxy>().put(123);
  EXPECT_EQ(a[0].as<QueueProxy>().get(), Object(123));
  DictProxy b = m().dict();
  b[0] = m().Queue();
  b[0].as<QueueProxy>().put(456);
  EXPECT_EQ(b[0].as<QueueProxy>().get(), Object(456));
}

}  // namespace
}  // namespace mp
