// The server-less shared objects (mp/synchronize.h, mp/sharedctypes.h,
// mp/shared_memory.h): ports of CPython's _TestLock, _TestSemaphore,
// _TestCondition, _TestEvent, _TestBarrier, _TestValue, _TestArray and
// _TestSharedMemory (Lib/test/_test_multiprocessing.py), with real child
// processes under every start method, and a holder killed by SIGKILL.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "shared/robust_lock.h"
#include "shared/segment.h"
#include "tests/shared/child_fixture.h"

namespace {

using mp::testing::OpenFds;
using mp::testing::StartMethod;

using std::chrono::duration;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return duration<double>(Clock::now() - start).count();
}

// ---- Lock / RLock (CPython _TestLock) ----

TEST(SharedLockTest, Lock) {
  mp::Lock lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_THROW(lock.release(), mp::RuntimeError);
}

TEST(SharedLockTest, LockContext) {
  mp::Lock lock;
  {
    std::lock_guard hold(lock);
    EXPECT_TRUE(lock.is_owned());
  }
  EXPECT_FALSE(lock.is_owned());
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(SharedLockTest, RLock) {
  mp::RLock lock;
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.acquire());
  lock.release();
  lock.release();
  EXPECT_TRUE(lock.is_owned());
  lock.release();
  EXPECT_FALSE(lock.is_owned());
  EXPECT_THROW(lock.release(), mp::RuntimeError);
}

TEST(SharedLockTest, ReacquiringALockOneHoldsTimesOut) {
  mp::Lock lock;
  ASSERT_TRUE(lock.acquire());
  auto start = Clock::now();
  EXPECT_FALSE(lock.acquire(true, duration<double>(0.1)));
  EXPECT_GE(Since(start), 0.09);
  EXPECT_THROW(lock.acquire(), mp::RuntimeError);  // would hang forever
  lock.release();
}

TEST(SharedLockTest, AnotherThreadCannotRelease) {
  mp::Lock lock;
  ASSERT_TRUE(lock.acquire());
  bool threw = false;
  std::thread t([&] {
    EXPECT_FALSE(lock.acquire(false));
    try {
      lock.release();
    } catch (const mp::RuntimeError&) {
      threw = true;
    }
  });
  t.join();
  EXPECT_TRUE(threw);
  lock.release();
}

TEST(SharedLockTest, FencingTokensIncrease) {
  mp::Lock lock;
  auto a = lock.acquire_ex();
  lock.release();
  auto b = lock.acquire_ex();
  lock.release();
  EXPECT_GT(b.fencing_token, a.fencing_token);
}

void HoldLockForever(mp::Lock lock, mp::Event held) {
  lock.acquire();
  held.set();
  mp::Event().wait(duration<double>(60));  // until SIGKILLed
}

void HoldRLockForever(mp::RLock lock, mp::Event held) {
  lock.acquire();
  lock.acquire();
  held.set();
  mp::Event().wait(duration<double>(60));
}

void TryLockFor(mp::Lock lock, mp::Value<int32_t> result) {
  result.set(lock.acquire(true, duration<double>(0.2)) ? 1 : 0);
}

TEST_P(StartMethod, LockHeldByChildTimesOut) {
  mp::Lock lock;
  mp::Value<int32_t> result(-1);
  ASSERT_TRUE(lock.acquire());
  auto start = Clock::now();
  mp::Process p = Start(TryLockFor, lock, result);
  JoinOk(p);
  EXPECT_EQ(result.get(), 0);
  lock.release();
  mp::Process q = Start(TryLockFor, lock, result);
  JoinOk(q);
  EXPECT_EQ(result.get(), 1);
  EXPECT_GE(Since(start), 0.19);
}

TEST_P(StartMethod, HolderKilledBySigkillDoesNotBlockOthers) {
  mp::Lock lock;
  mp::Event held;
  mp::Process p = Start(HoldLockForever, lock, held);
  ASSERT_TRUE(held.wait(duration<double>(30)));
  EXPECT_FALSE(lock.acquire(false));
  p.kill();
  ASSERT_TRUE(p.join(duration<double>(30)));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  mp::AcquireResult r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();
  r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_FALSE(r.previous_owner_died);
  lock.release();
}

TEST_P(StartMethod, RLockHolderKilledBySigkill) {
  mp::RLock lock;
  mp::Event held;
  mp::Process p = Start(HoldRLockForever, lock, held);
  ASSERT_TRUE(held.wait(duration<double>(30)));
  p.kill();
  ASSERT_TRUE(p.join(duration<double>(30)));
  mp::AcquireResult r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();  // one level: the dead owner's levels are gone
  EXPECT_FALSE(lock.is_owned());
}

// Contended: the waiters bit and the wake-ups of the futex word lose no
// hand-over (a lost wake-up would stall a thread for a liveness slice, a
// broken exclusion would lose increments).
TEST(SharedLockTest, ThreadsContendingLoseNoIncrement) {
  mp::Lock lock;
  int64_t counter = 0;  // guarded by lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        mp::AcquireResult r = lock.acquire_ex(true, duration<double>(30));
        ASSERT_TRUE(r.acquired);
        EXPECT_FALSE(r.previous_owner_died);
        ++counter;
        lock.release();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

// A holder thread that exits without releasing is gone, as for a robust
// mutex: the next acquirer takes over within the liveness slice (50 ms) and
// gets previous_owner_died.
TEST(SharedLockTest, HolderThreadExitingWhileHoldingCountsAsDead) {
  mp::Lock lock;
  std::thread([&] { EXPECT_TRUE(lock.acquire()); }).join();
  EXPECT_FALSE(lock.is_owned());
  EXPECT_THROW(lock.release(), mp::RuntimeError);
  auto start = Clock::now();
  mp::AcquireResult r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  EXPECT_LT(Since(start), 1.0);
  lock.release();
  // A try notices it too.
  std::thread([&] { EXPECT_TRUE(lock.acquire()); }).join();
  r = lock.acquire_ex(false);
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();
  r = lock.acquire_ex(false);
  EXPECT_TRUE(r.acquired);
  EXPECT_FALSE(r.previous_owner_died);
  lock.release();
}

// What a dead owner's lock word looks like once a later thread got its tid:
// the tid of a live thread with another thread start time. The waiter must
// not take it for the owner (shared/robust_lock.h), nor may the live thread
// take it for its own.
TEST(SharedLockTest, RecycledTidCannotFakeLiveness) {
  namespace in = mp::internal;
  mp::Lock lock;
  auto* state =
      reinterpret_cast<in::RobustLockState*>(lock.segment()->payload());
  mp::Event ready, stop;
  uint64_t identity = 0;  // published by ready.set()
  bool owned_forged = true;
  std::thread t([&] {
    identity = in::SelfIdentity();
    ready.set();
    ASSERT_TRUE(stop.wait(duration<double>(60)));
    owned_forged = lock.is_owned();
  });
  ASSERT_TRUE(ready.wait(duration<double>(30)));
  const uint64_t recycled = identity + (uint64_t{1} << 32);
  EXPECT_FALSE(in::OwnerGone(identity));
  EXPECT_TRUE(in::OwnerGone(recycled));

  state->word = identity;  // as if t held it: t is alive, so it is busy
  EXPECT_FALSE(lock.acquire(false));
  auto start = Clock::now();
  EXPECT_FALSE(lock.acquire(true, duration<double>(0.15)));
  EXPECT_GE(Since(start), 0.14);

  state->word = recycled;
  mp::AcquireResult r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();

  state->word = recycled;
  stop.set();
  t.join();
  EXPECT_FALSE(owned_forged);
  state->word = 0;
  EXPECT_TRUE(in::OwnerGone(identity));  // t has exited
}

void HoldInAThreadThatExits(mp::RLock lock, mp::Event held, mp::Event done) {
  std::thread([&] {
    lock.acquire();
    lock.acquire();
  }).join();
  held.set();
  done.wait(duration<double>(60));
}

TEST_P(StartMethod, HolderThreadExitingInALiveProcessCountsAsDead) {
  mp::RLock lock;
  mp::Event held, done;
  mp::Process p = Start(HoldInAThreadThatExits, lock, held, done);
  ASSERT_TRUE(held.wait(duration<double>(30)));
  auto start = Clock::now();
  mp::AcquireResult r = lock.acquire_ex(true, duration<double>(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  EXPECT_LT(Since(start), 1.0);
  EXPECT_TRUE(p.is_alive());
  lock.release();  // one level: the gone thread's levels are gone
  EXPECT_FALSE(lock.is_owned());
  done.set();
  JoinOk(p);
}

// ---- Semaphore (CPython _TestSemaphore) ----

TEST(SharedSemaphoreTest, Semaphore) {
  mp::Semaphore sem(2);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 1);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 0);
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_EQ(sem.get_value(), 0);
  sem.release();
  EXPECT_EQ(sem.get_value(), 1);
  sem.release();
  EXPECT_EQ(sem.get_value(), 2);
  sem.release();  // unbounded
  EXPECT_EQ(sem.get_value(), 3);
}

TEST(SharedSemaphoreTest, BoundedSemaphore) {
  mp::BoundedSemaphore sem(2);
  EXPECT_TRUE(sem.acquire());
  sem.release();
  EXPECT_THROW(sem.release(), mp::ValueError);
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_THROW(mp::Semaphore(-1), mp::ValueError);
}

TEST(SharedSemaphoreTest, Timeout) {
  mp::Semaphore sem(0);
  auto start = Clock::now();
  EXPECT_FALSE(sem.acquire(false));
  EXPECT_FALSE(sem.acquire(false, duration<double>(1)));
  EXPECT_LT(Since(start), 0.5);
  EXPECT_FALSE(sem.acquire(true, duration<double>(0.2)));
  EXPECT_GE(Since(start), 0.19);
  EXPECT_FALSE(sem.acquire(true, duration<double>(-1)));
}

void ReleaseAfterWait(mp::Semaphore sem, mp::Event go) {
  if (go.wait(duration<double>(30))) sem.release();
}

TEST_P(StartMethod, SemaphoreReleasedByChildWakesWaiter) {
  mp::Semaphore sem(0);
  mp::Event go;
  mp::Process p = Start(ReleaseAfterWait, sem, go);
  go.set();
  EXPECT_TRUE(sem.acquire(true, duration<double>(30)));
  JoinOk(p);
}

// ---- Event (CPython _TestEvent) ----

void SetEvent(mp::Event event) { event.set(); }

TEST_P(StartMethod, Event) {
  mp::Event event;
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(duration<double>(0)));
  auto start = Clock::now();
  EXPECT_FALSE(event.wait(duration<double>(0.2)));
  EXPECT_GE(Since(start), 0.19);
  event.set();
  EXPECT_TRUE(event.is_set());
  EXPECT_TRUE(event.wait());
  EXPECT_TRUE(event.wait(duration<double>(0)));
  event.clear();
  EXPECT_FALSE(event.is_set());
  mp::Process p = Start(SetEvent, event);
  EXPECT_TRUE(event.wait(duration<double>(30)));
  JoinOk(p);
  EXPECT_TRUE(event.is_set());
}

// ---- Condition (CPython _TestCondition) ----

void WaitOnCondition(mp::Condition cond, mp::Semaphore sleeping,
                     mp::Semaphore woken) {
  cond.acquire();
  sleeping.release();
  if (cond.wait(duration<double>(30))) woken.release();
  cond.release();
}

TEST_P(StartMethod, ConditionNotify) {
  mp::Condition cond;
  mp::Semaphore sleeping(0);
  mp::Semaphore woken(0);
  std::vector<mp::Process> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(Start(WaitOnCondition, cond, sleeping, woken));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sleeping.acquire(true, duration<double>(30)));
  }
  {
    std::lock_guard hold(cond);  // every child is inside wait() now
    cond.notify();
  }
  EXPECT_TRUE(woken.acquire(true, duration<double>(30)));
  EXPECT_FALSE(woken.acquire(true, duration<double>(0.3)));
  {
    std::lock_guard hold(cond);
    cond.notify_all();
  }
  EXPECT_TRUE(woken.acquire(true, duration<double>(30)));
  EXPECT_TRUE(woken.acquire(true, duration<double>(30)));
  for (auto& p : children) JoinOk(p);
  EXPECT_EQ(woken.get_value(), 0);
}

TEST(SharedConditionTest, Timeout) {
  mp::Condition cond;
  cond.acquire();
  auto start = Clock::now();
  EXPECT_FALSE(cond.wait(duration<double>(0.2)));
  EXPECT_GE(Since(start), 0.19);
  EXPECT_TRUE(cond.try_lock());  // still held (an RLock)
  cond.release();
  cond.release();
  EXPECT_THROW(cond.wait(duration<double>(0.1)), mp::RuntimeError);
  EXPECT_THROW(cond.notify(), mp::RuntimeError);
}

void IncrementAndNotify(mp::Condition cond, mp::Value<int32_t> state) {
  for (int i = 0; i < 4; ++i) {
    std::lock_guard hold(cond);
    state.set(state.get() + 1);
    cond.notify();
  }
}

TEST_P(StartMethod, ConditionWaitFor) {
  mp::Lock lock;
  mp::Condition cond(lock);
  mp::Value<int32_t> state(0);
  cond.acquire();
  EXPECT_FALSE(
      cond.wait_for([&] { return state.get() == 4; }, duration<double>(0.1)));
  mp::Process p = Start(IncrementAndNotify, cond, state);
  EXPECT_TRUE(
      cond.wait_for([&] { return state.get() == 4; }, duration<double>(30)));
  cond.release();
  JoinOk(p);
}

// ---- Barrier (CPython _TestBarrier) ----

void WaitOnBarrier(mp::Barrier barrier, mp::Array<int32_t> indexes,
                   int32_t slot) {
  indexes.set(slot, static_cast<int32_t>(barrier.wait(duration<double>(30))));
}

TEST_P(StartMethod, Barrier) {
  constexpr int kParties = 4;
  mp::Barrier barrier(kParties);
  EXPECT_EQ(barrier.parties(), kParties);
  mp::Array<int32_t> indexes(kParties);
  for (int round = 0; round < 2; ++round) {
    std::vector<mp::Process> children;
    for (int i = 0; i < kParties - 1; ++i) {
      children.push_back(Start(WaitOnBarrier, barrier, indexes, i));
    }
    indexes.set(kParties - 1,
                static_cast<int32_t>(barrier.wait(duration<double>(30))));
    for (auto& p : children) JoinOk(p);
    std::vector<int32_t> got = indexes.to_vector();
    EXPECT_EQ(std::set<int32_t>(got.begin(), got.end()),
              (std::set<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  }
}

void WaitOnBarrierExpectBroken(mp::Barrier barrier, mp::Semaphore waiting,
                               mp::Value<int32_t> broken) {
  waiting.release();
  try {
    barrier.wait(duration<double>(30));
  } catch (const mp::BrokenBarrierError&) {
    broken.fetch_add(1);
  }
}

TEST_P(StartMethod, BarrierAbort) {
  mp::Barrier barrier(3);
  mp::Semaphore waiting(0);
  mp::Value<int32_t> broken(0);
  mp::Process a = Start(WaitOnBarrierExpectBroken, barrier, waiting, broken);
  mp::Process b = Start(WaitOnBarrierExpectBroken, barrier, waiting, broken);
  ASSERT_TRUE(waiting.acquire(true, duration<double>(30)));
  ASSERT_TRUE(waiting.acquire(true, duration<double>(30)));
  barrier.abort();
  JoinOk(a);
  JoinOk(b);
  EXPECT_EQ(broken.get(), 2);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(), mp::BrokenBarrierError);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
}

TEST(SharedBarrierTest, Timeout) {
  mp::Barrier barrier(2, duration<double>(0.2));
  auto start = Clock::now();
  EXPECT_THROW(barrier.wait(), mp::BrokenBarrierError);  // default timeout
  EXPECT_GE(Since(start), 0.19);
  EXPECT_TRUE(barrier.broken());
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_THROW(barrier.wait(duration<double>(0.05)), mp::BrokenBarrierError);
  EXPECT_THROW(mp::Barrier(0), mp::ValueError);
}

TEST(SharedBarrierTest, ResetWakesWaitersWithBrokenBarrierError) {
  mp::Barrier barrier(2);
  bool broken = false;
  std::thread t([&] {
    try {
      barrier.wait(duration<double>(30));
    } catch (const mp::BrokenBarrierError&) {
      broken = true;
    }
  });
  for (int i = 0; i < 3000 && barrier.n_waiting() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling
  }
  ASSERT_EQ(barrier.n_waiting(), 1);
  barrier.reset();
  t.join();
  EXPECT_TRUE(broken);
  EXPECT_FALSE(barrier.broken());
}

// ---- Value / Array (CPython _TestValue, _TestArray) ----

void ModifyValues(mp::Value<int32_t> i, mp::Value<double> d,
                  mp::Value<int16_t> h, mp::Value<char> c) {
  i.set(i.get() + 1);
  d.set(-1.5);
  h.set(-32768);
  c.set('z');
}

TEST_P(StartMethod, Value) {
  mp::Value<int32_t> i(25);
  mp::Value<double> d(1.25);
  mp::Value<int16_t> h(-5, /*lock=*/false);
  mp::Value<char> c('x');
  EXPECT_EQ(i.get(), 25);
  EXPECT_EQ(d.get(), 1.25);
  mp::Process p = Start(ModifyValues, i, d, h, c);
  JoinOk(p);
  EXPECT_EQ(i.get(), 26);
  EXPECT_EQ(d.get(), -1.5);
  EXPECT_EQ(h.get(), -32768);
  EXPECT_EQ(c.get(), 'z');
}

TEST(SharedValueTest, GetLock) {
  mp::Value<int32_t> v(0);
  const mp::RLock& lock = v.get_lock();
  {
    std::lock_guard a(lock);
    std::lock_guard b(lock);  // an RLock
    v.set(v.get() + 1);       // takes it again
  }
  EXPECT_EQ(v.get(), 1);
  mp::Value<int32_t> raw(0, /*lock=*/false);
  EXPECT_FALSE(raw.has_lock());
  EXPECT_THROW(raw.get_lock(), mp::AttributeError);
  mp::Array<double> raw_array(3, /*lock=*/false);
  EXPECT_THROW(raw_array.get_lock(), mp::AttributeError);
  int32_t expected = 1;
  EXPECT_TRUE(v.compare_exchange(expected, 7));
  EXPECT_FALSE(v.compare_exchange(expected, 9));
  EXPECT_EQ(expected, 7);
  EXPECT_EQ(*v.data(), 7);
}

void AddMany(mp::Value<int64_t> atomic, mp::Value<int64_t> locked) {
  for (int i = 0; i < 5000; ++i) {
    atomic.fetch_add(1);
    std::lock_guard hold(locked.get_lock());
    locked.set(locked.get() + 1);
  }
}

TEST_P(StartMethod, ConcurrentIncrementsAreNotLost) {
  mp::Value<int64_t> atomic(0);
  mp::Value<int64_t> locked(0);
  std::vector<mp::Process> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(Start(AddMany, atomic, locked));
  AddMany(atomic, locked);
  for (auto& p : children) JoinOk(p);
  EXPECT_EQ(atomic.get(), 20000);
  EXPECT_EQ(locked.get(), 20000);
}

void DoubleEach(mp::Array<int32_t> seq) {
  for (size_t i = 0; i < seq.size(); ++i) seq[i] *= 2;
}

TEST_P(StartMethod, Array) {
  std::vector<int32_t> seq = {680, 626, 934, 821, 150, 233, 548, 982, 714, 831};
  mp::Array<int32_t> arr(seq);
  mp::Array<int32_t> raw(seq, /*lock=*/false);
  EXPECT_EQ(arr.size(), seq.size());
  EXPECT_EQ(arr.get(3), seq[3]);
  EXPECT_EQ(arr.get(-1), seq.back());
  EXPECT_EQ(arr.slice(2, 7),
            std::vector<int32_t>(seq.begin() + 2, seq.begin() + 7));
  EXPECT_EQ(arr.slice(-3, 100), std::vector<int32_t>(seq.end() - 3, seq.end()));
  EXPECT_TRUE(arr.slice(5, 2).empty());
  arr.assign(2, {1, 2, 3});
  EXPECT_EQ(arr.slice(2, 5), (std::vector<int32_t>{1, 2, 3}));
  arr.assign(2, {seq[2], seq[3], seq[4]});
  EXPECT_THROW(arr.assign(8, {1, 2, 3}), mp::ValueError);
  EXPECT_THROW(arr.get(10), mp::IndexError);
  EXPECT_THROW(arr.set(-11, 0), mp::IndexError);
  mp::Process p = Start(DoubleEach, arr);
  mp::Process q = Start(DoubleEach, raw);
  JoinOk(p);
  JoinOk(q);
  for (auto& x : seq) x *= 2;
  EXPECT_EQ(arr.to_vector(), seq);
  EXPECT_EQ(raw.to_vector(), seq);
  EXPECT_EQ(std::vector<int32_t>(arr.data().begin(), arr.data().end()), seq);
}

TEST(SharedArrayTest, FromSize) {
  for (size_t size : {0, 1, 10, 1000}) {
    mp::Array<double> a(size);
    EXPECT_EQ(a.size(), size);
    EXPECT_EQ(a.to_vector(), std::vector<double>(size, 0.0));
  }
  mp::Array<double> big(1'000'000);
  EXPECT_EQ(big.data().size(), 1'000'000u);
  big.data()[999'999] = 2.5;
  EXPECT_EQ(big.get(-1), 2.5);
}

TEST(SharedObjectsTest, ConversionsCheckTheKind) {
  mp::Value<double> d(1.0);
  EXPECT_THROW(mp::from_object<mp::Value<int64_t>>(mp::to_object(d)),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Array<double>>(mp::to_object(d)),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Lock>(mp::to_object(mp::RLock())),
               mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Event>(mp::Object(1)), mp::TypeError);
  EXPECT_THROW(mp::from_object<mp::Condition>(mp::Object::tuple({1, 2})),
               mp::TypeError);
  // A Value's lock converts as the RLock it is.
  mp::RLock lock = mp::from_object<mp::RLock>(mp::to_object(d.get_lock()));
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(d.get_lock().is_owned());
  lock.release();
  mp::Value<double> same = mp::from_object<mp::Value<double>>(mp::to_object(d));
  same.set(4.0);
  EXPECT_EQ(d.get(), 4.0);
}

TEST(SharedObjectsTest, NoDescriptorOrMappingOutlivesItsHandles) {
  const int before = OpenFds();
  {
    std::vector<mp::Value<int64_t>> values(10);
    mp::Condition cond;
    mp::Barrier barrier(2);
    mp::Object o = mp::to_object(values[0]);
    EXPECT_GT(OpenFds(), before);
  }
  EXPECT_EQ(OpenFds(), before);
}

// ---- SharedMemory (CPython _TestSharedMemory) ----

TEST(SharedMemoryTest, Basics) {
  const std::string name = "mp_test_" + std::to_string(getpid());
  mp::SharedMemory shm = mp::SharedMemory::create(512, name);
  EXPECT_EQ(shm.name(), name);
  EXPECT_GE(shm.size(), 512u);
  EXPECT_EQ(shm.buf().size(), shm.size());
  shm.buf()[0] = std::byte{42};
  shm.buf()[511] = std::byte{7};
  mp::SharedMemory also = mp::SharedMemory::attach(name);
  EXPECT_EQ(also.size(), shm.size());
  EXPECT_EQ(also.buf()[0], std::byte{42});
  also.buf()[1] = std::byte{3};
  EXPECT_EQ(shm.buf()[1], std::byte{3});
  // The name is taken.
  EXPECT_THROW(mp::SharedMemory::create(512, name), mp::ValueError);
  also.close();
  EXPECT_THROW(also.buf(), mp::ValueError);
  also.close();  // again: no-op
  shm.unlink();
  EXPECT_THROW(mp::SharedMemory::attach(name), mp::ValueError);
  EXPECT_THROW(shm.unlink(), mp::ValueError);
  EXPECT_EQ(shm.buf()[511], std::byte{7});  // still mapped
  shm.close();
}

// Also CPython TestResourceTracker.test_too_long_name_resource: a name too
// long for the system is a ValueError.
TEST(SharedMemoryTest, BadArguments) {
  EXPECT_THROW(mp::SharedMemory::create(0), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory::create(16, "a/b"), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory::create(16, std::string(300, 'x')),
               mp::ValueError);
  EXPECT_THROW(mp::SharedMemory::attach("mp_test_no_such_segment"),
               mp::ValueError);
  mp::SharedMemory a = mp::SharedMemory::create(16);
  mp::SharedMemory b = mp::SharedMemory::create(16);
  EXPECT_NE(a.name(), b.name());
  EXPECT_EQ(a.name().substr(0, 3), "mp_");
  a.unlink();
  b.unlink();
}

void WriteShared(mp::SharedMemory shm, std::string text) {
  std::span<std::byte> buf = shm.buf();
  for (size_t i = 0; i < text.size(); ++i) {
    buf[i] = static_cast<std::byte>(text[i]);
  }
}

TEST_P(StartMethod, SharedMemoryPassedToChild) {
  mp::SharedMemory shm = mp::SharedMemory::create(64);
  mp::Process p = Start(WriteShared, shm, std::string("howdy"));
  JoinOk(p);
  std::string got(reinterpret_cast<const char*>(shm.buf().data()), 5);
  EXPECT_EQ(got, "howdy");
  // A child attaching by name sees it too (the name is unlinked after).
  mp::SharedMemory by_name = mp::SharedMemory::attach(shm.name());
  EXPECT_EQ(by_name.buf()[0], std::byte{'h'});
  shm.unlink();
}

// ---- Connections as Process arguments (CPython _TestConnection) ----

// CPython's _TestConnection._echo: sends back what it receives until an
// empty message (a fork child also holds the parent's end, so EOF would
// not come).
void Echo(mp::Connection conn) {
  for (std::string m = conn.recv_bytes(); !m.empty(); m = conn.recv_bytes()) {
    conn.send_bytes(m);
  }
  conn.close();
}

TEST_P(StartMethod, ConnectionEndAsArgument) {
  auto [conn, child_conn] = mp::Pipe();
  mp::Process p = Start(Echo, child_conn);
  child_conn.close();  // the child has its own duplicate
  const std::vector<mp::Object> values = {
      mp::Object::list({42, nullptr, "hello"}), 1.5,
      mp::Object::bytes("\x00\x01"), mp::Object::dict({{"a", 1}})};
  for (const mp::Object& v : values) {
    conn.send(v);
    EXPECT_TRUE(conn.poll(duration<double>(30)));
    EXPECT_EQ(conn.recv(), v);
  }
  conn.send_bytes(std::string(1 << 20, 'x'));  // larger than a socket buffer
  EXPECT_EQ(conn.recv_bytes().size(), 1u << 20);
  conn.send_bytes("");
  JoinOk(p);
  if (GetParam() != "fork") {
    // Nobody else holds the child's end: EOF once it exited.
    EXPECT_THROW(conn.recv_bytes(), mp::EOFError);
  }
}

void SendAndClose(mp::Connection conn) {
  conn.send(mp::Object::list({42, nullptr, "hello"}));
  conn.close();
}

TEST_P(StartMethod, OneWayPipeEnds) {
  auto [reader, writer] = mp::Pipe(/*duplex=*/false);
  mp::Process p = Start(SendAndClose, writer);
  writer.close();
  EXPECT_EQ(reader.recv(), mp::Object::list({42, nullptr, "hello"}));
  JoinOk(p);
  // Every writer is closed (the Process keeps no copy): EOF.
  EXPECT_THROW(reader.recv(), mp::EOFError);
}

void CloseThenWait(mp::Connection conn, mp::Event done) {
  conn.close();
  done.wait(duration<double>(30));
}

TEST_P(StartMethod, ClosingTheEndInTheChildClosesIt) {
  if (GetParam() == "fork") {
    GTEST_SKIP() << "a fork child holds a copy of every descriptor of its "
                    "parent (as in Python)";
  }
  auto [conn, child_conn] = mp::Pipe();
  mp::Event done;
  mp::Process p = Start(CloseThenWait, child_conn, done);
  child_conn.close();
  EXPECT_TRUE(conn.poll(duration<double>(30)));
  EXPECT_THROW(conn.recv_bytes(), mp::EOFError);  // while the child runs
  done.set();
  JoinOk(p);
}

// Shared objects and Connection ends through a Pipe or a Pool: carry_test.cc.
TEST(SharedObjectsTest, ClosedConnectionIsNoArgument) {
  mp::Connection closed;
  EXPECT_THROW(mp::to_object(closed), mp::ValueError);
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
