// mp::Pool: CPython's _TestPool, _TestPoolWorkerErrors and
// _TestPoolWorkerLifetime essentials, under each start method. The
// remaining CPython cases are ported one by one in pool_cpython_test.cc;
// tests here that cover a CPython case name it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <ranges>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mp/mp.h"
#include "tests/process/process_test_main.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

int64_t Sqr(int64_t x) { return x * x; }
int64_t Mul(int64_t a, int64_t b) { return a * b; }
int64_t Pid(int64_t) { return getpid(); }
int64_t Raise(int64_t x) {
  if (x == 3) throw KeyError("three");
  return x;
}
int64_t DieOn(int64_t x) {
  if (x == 5) ::kill(getpid(), SIGKILL);
  return x;
}
int64_t SlowSqr(int64_t x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(x * 10));
  return x * x;
}

int64_t g_initialized = 0;
void Initializer() { g_initialized = 7; }
int64_t ReadInitialized(int64_t) { return g_initialized; }
// initializer + initargs: each worker records its pid in a shared dict.
void InitializerWithArgs(DictProxy seen, int64_t value) {
  g_initialized = value;
  seen.set(static_cast<int64_t>(getpid()), value);
}

// Functions returning nothing: their map results are None, as in Python.
void StoreSquare(DictProxy d, int64_t x) { d.set(x, x * x); }
void RefuseNegative(int64_t x) {
  if (x < 0) throw ValueError("negative: " + std::to_string(x));
}

std::string WorkerName(int64_t) { return current_process().name(); }
void IgnoreSigtermAndSleep(DictProxy flags) {
  signal(SIGTERM, SIG_IGN);
  flags.set("ignoring", true);
  std::this_thread::sleep_for(std::chrono::seconds(60));
}

using testing::Range;

class PoolTest : public testing::StartMethodPoolTest {};

// CPython _TestPool.test_apply, test_map and test_starmap.
TEST_P(PoolTest, MapApplyStarmap) {
  Pool pool(Options());
  auto squares = pool.map(Sqr, Range(100));
  ASSERT_EQ(squares.size(), 100u);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(squares[i], i * i);
  EXPECT_EQ(pool.map(Sqr, Range(10), 1), pool.map(Sqr, Range(10), 7));
  EXPECT_TRUE(pool.map(Sqr, std::vector<int64_t>{}).empty());
  EXPECT_EQ(pool.apply(Mul, 6, 7), 42);
  std::vector<std::tuple<int64_t, int64_t>> pairs = {{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap(Mul, pairs), (std::vector<int64_t>{2, 12}));
  // CPython's chunksize=20 cases.
  EXPECT_EQ(pool.map(Sqr, Range(100), 20), squares);
  std::vector<std::tuple<int64_t, int64_t>> tuples;
  std::vector<int64_t> products;
  for (int64_t i = 0; i < 100; ++i) {
    tuples.emplace_back(i, 99 - i);
    products.push_back(i * (99 - i));
  }
  EXPECT_EQ(pool.starmap(Mul, tuples, 20), products);
}

// CPython _TestPool.test_async, test_async_timeout and test_map_async.
TEST_P(PoolTest, AsyncResults) {
  Pool pool(Options());
  auto r = pool.apply_async(SlowSqr, 20);
  EXPECT_THROW(r.successful(), ValueError);
  EXPECT_THROW(r.get(10ms), TimeoutError);
  EXPECT_EQ(r.get(10s), 400);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.successful());
  auto m = pool.map_async(Sqr, Range(10));
  m.wait();
  EXPECT_EQ(m.get()[9], 81);
}

TEST_P(PoolTest, WorkersAreSeparateProcesses) {
  Pool pool(Options(2));
  auto pids = pool.map(Pid, Range(40), 1);
  std::set<int64_t> distinct(pids.begin(), pids.end());
  EXPECT_GE(distinct.size(), 1u);
  EXPECT_LE(distinct.size(), 2u);
  EXPECT_EQ(distinct.count(getpid()), 0u);
}

// CPython _TestPool.test_wrapped_exception (and _TestPoolWorkerErrors, see
// pool_cpython_test.cc).
TEST_P(PoolTest, WorkerExceptionReachesTheCaller) {
  Pool pool(Options());
  EXPECT_THROW(pool.map(Raise, Range(10)), KeyError);
  auto r = pool.apply_async(Raise, 3);
  r.wait();
  EXPECT_FALSE(r.successful());
  EXPECT_THROW(r.get(), KeyError);
  // The pool keeps working.
  EXPECT_EQ(pool.apply(Sqr, 4), 16);
}

TEST_P(PoolTest, WorkerKilledMidTaskFailsTheTaskAndIsReplaced) {
  // CPython gh-66587: the pool hangs forever here.
  Pool pool(Options());
  EXPECT_THROW(pool.map(DieOn, Range(10), 1), ProcessError);
  EXPECT_EQ(pool.map(Sqr, Range(5)), (std::vector<int64_t>{0, 1, 4, 9, 16}));
}

// CPython _TestPool.test_imap and test_imap_unordered.
TEST_P(PoolTest, ImapIsOrderedAndImapUnorderedComplete) {
  Pool pool(Options());
  std::vector<int64_t> got;
  for (int64_t v : pool.imap(Sqr, Range(50), 3)) got.push_back(v);
  ASSERT_EQ(got.size(), 50u);
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(got[i], i * i);
  std::multiset<int64_t> unordered;
  for (int64_t v : pool.imap_unordered(Sqr, Range(50))) unordered.insert(v);
  EXPECT_EQ(unordered.size(), 50u);
  EXPECT_EQ(*unordered.rbegin(), 49 * 49);
  // CPython's 1000 items in chunks of 100, and the end of the iteration.
  auto results = pool.imap(Sqr, Range(1000), 100);
  auto it = results.begin();
  for (int64_t i = 0; i < 1000; ++i, ++it) {
    ASSERT_NE(it, results.end());
    EXPECT_EQ(*it, i * i);
  }
  EXPECT_EQ(it, results.end());
  std::vector<int64_t> sorted;
  for (int64_t v : pool.imap_unordered(Sqr, Range(1000), 100))
    sorted.push_back(v);
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(sorted.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i * i);
}

TEST_P(PoolTest, ImapReadsItsInputLazily) {
  // CPython gh-84291: imap consumes the whole input first; here an
  // unbounded input works, and is read only a bounded way ahead.
  Pool pool(Options());
  int64_t produced = 0;
  testing::GeneratedRange counting(-1, [&produced](int64_t x) {
    ++produced;
    return x;
  });
  int64_t taken = 0;
  for (int64_t v : pool.imap(Sqr, counting, 2)) {
    EXPECT_EQ(v, taken * taken);
    if (++taken == 10) break;
  }
  EXPECT_EQ(taken, 10);
  // 2 processes * 2 chunks in flight * chunksize 2 beyond what was taken.
  EXPECT_LE(produced, taken + 2 * 2 * 2 + 2);
}

// CPython _TestPool.test_map_async_callbacks in part (the error callback's
// exception type: pool_cpython_test.cc).
TEST_P(PoolTest, CallbacksRun) {
  Pool pool(Options());
  std::atomic<int64_t> seen{0};
  std::atomic<int> errors{0};
  auto r = pool.map_async(
      Sqr, Range(4), 0, [&](const std::vector<int64_t>& v) { seen = v.back(); },
      [&](const Error&) { ++errors; });
  r.wait();
  std::this_thread::sleep_for(0ms);
  EXPECT_EQ(r.get().back(), 9);
  auto e =
      pool.apply_async(Raise, 3, mp::callback([&](const int64_t&) {}),
                       mp::error_callback([&](const Error&) { ++errors; }));
  e.wait();
  EXPECT_EQ(seen.load(), 9);
  EXPECT_EQ(errors.load(), 1);
}

// Issue 16: callbacks in Python's order, with no internal types to name -
// apply_async(f, args..., callback=, error_callback=) as trailing keywords,
// map_async/starmap_async(f, inputs, chunksize, callback, error_callback)
// positionally or as keywords; the error_callback gets the error as its
// own type.
TEST_P(PoolTest, CallbacksInPythonOrder) {
  Pool pool(Options());
  std::mutex mu;
  std::vector<std::string> seen;
  auto record = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(std::move(what));
  };
  auto seen_now = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(seen, {});
  };
  auto on_value = [&](const int64_t& v) {
    record("value " + std::to_string(v));
  };
  auto on_values = [&](const std::vector<int64_t>& v) {
    record("values " + std::to_string(v.size()));
  };
  auto on_error = [&](const Error& e) {
    record(std::string(dynamic_cast<const KeyError*>(&e) ? "KeyError "
                                                         : "other ") +
           e.message());
  };

  // Python: pool.apply_async(mul, (6, 7), callback=on_value)
  EXPECT_EQ(pool.apply_async(Mul, 6, 7, mp::callback(on_value)).get(), 42);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"value 42"});
  // error_callback alone, and both in either order.
  EXPECT_THROW(pool.apply_async(Raise, 3, mp::error_callback(on_error)).get(),
               KeyError);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"KeyError three"});
  EXPECT_THROW(pool.apply_async(Raise, 3, mp::error_callback(on_error),
                                mp::callback(on_value))
                   .get(),
               KeyError);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"KeyError three"});
  EXPECT_EQ(pool.apply_async(Raise, 4, mp::callback(on_value),
                             mp::error_callback(on_error))
                .get(),
            4);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"value 4"});

  // map_async(f, inputs, chunksize, callback, error_callback), nullptr for
  // none, or keywords without a chunksize.
  EXPECT_EQ(pool.map_async(Sqr, Range(5), 2, on_values, on_error).get().size(),
            5u);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"values 5"});
  EXPECT_THROW(pool.map_async(Raise, Range(5), 0, nullptr, on_error).get(),
               KeyError);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"KeyError three"});
  EXPECT_EQ(pool.map_async(Sqr, Range(3), mp::callback(on_values)).get().size(),
            3u);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"values 3"});
  EXPECT_THROW(
      pool.map_async(Raise, Range(5), mp::error_callback(on_error)).get(),
      KeyError);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"KeyError three"});

  // starmap_async, the same.
  std::vector<std::tuple<int64_t, int64_t>> pairs = {{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap_async(Mul, pairs, 1, on_values, on_error).get(),
            (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(seen_now(), std::vector<std::string>{"values 2"});
  EXPECT_EQ(pool.starmap_async(Mul, pairs, mp::callback(on_values),
                               mp::error_callback(on_error))
                .get()
                .size(),
            2u);
  EXPECT_EQ(seen_now(), std::vector<std::string>{"values 2"});

  // The deprecated form still compiles and works.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_THROW(
      pool.apply_async_cb<int64_t (*)(int64_t)>({}, on_error, Raise, 3).get(),
      KeyError);
#pragma GCC diagnostic pop
  EXPECT_EQ(seen_now(), std::vector<std::string>{"KeyError three"});
}

// Issue 16: workers are named as in Python 3.11 (ctx.Process's
// "ForkProcess-N" with Process replaced by PoolWorker; N counts every
// process started, as Process-N does).
TEST_P(PoolTest, WorkersAreNamedLikePython) {
  const std::string prefix = GetParam() == "fork"    ? "ForkPoolWorker-"
                             : GetParam() == "spawn" ? "SpawnPoolWorker-"
                                                     : "ForkServerPoolWorker-";
  Pool pool(Options(2));
  std::set<std::string> names;
  for (const std::string& name : pool.map(WorkerName, Range(20), 1)) {
    names.insert(name);
  }
  ASSERT_GE(names.size(), 1u);
  ASSERT_LE(names.size(), 2u);
  for (const std::string& name : names) {
    ASSERT_TRUE(name.starts_with(prefix)) << name;
    const std::string number = name.substr(prefix.size());
    EXPECT_FALSE(number.empty()) << name;
    EXPECT_TRUE(std::all_of(number.begin(), number.end(), ::isdigit)) << name;
  }
  // Drawn from the counter Process-N uses: a Process made now numbers
  // above them.
  Process after(Sqr, 1);
  const int64_t after_number = std::stoll(after.name().substr(8));
  for (const std::string& name : names) {
    EXPECT_LT(std::stoll(name.substr(prefix.size())), after_number) << name;
  }
}

// A bug found on the way: imap on a closed pool deadlocked (the job failed
// at once, and its delivery took the lock its submitter held). Python
// raises ValueError("Pool not running").
TEST_P(PoolTest, ImapOnAClosedPoolRaisesValueError) {
  Pool pool(Options());
  pool.close();
  auto results = pool.imap(Sqr, Range(3));
  EXPECT_THROW(results.begin(), ValueError);
  pool.join();
}

// terminate() (and ~Pool) is bounded even when a worker ignores SIGTERM:
// it gets SIGKILL, and its task fails with ProcessError.
TEST_P(PoolTest, TerminateKillsAWorkerThatIgnoresSigterm) {
  DictProxy flags = testing::SharedManager().dict();
  Pool pool(Options(1));
  auto stuck = pool.apply_async(IgnoreSigtermAndSleep, flags);
  for (int i = 0; i < 600 && !flags.contains("ignoring"); ++i) {
    std::this_thread::sleep_for(50ms);  // bounded poll of the worker's flag
  }
  ASSERT_TRUE(flags.contains("ignoring"));
  pool.terminate();
  EXPECT_THROW(stuck.get(5s), ProcessError);
}

// pool.map(f, xs) of a function returning None gives [None, ...] in
// Python; here a vector of mp::None, and the calls ran.
TEST_P(PoolTest, VoidFunctionsMapToNone) {
  Pool pool(Options());
  DictProxy d = testing::SharedManager().dict();
  std::vector<std::tuple<DictProxy, int64_t>> args;
  for (int64_t i = 0; i < 10; ++i) args.emplace_back(d, i);
  std::vector<NoneType> stored = pool.starmap(StoreSquare, args);
  EXPECT_EQ(stored.size(), 10u);
  EXPECT_EQ(d.size(), 10u);
  EXPECT_EQ(d.get(int64_t{9}), Object(81));

  EXPECT_EQ(pool.map(RefuseNegative, Range(7)).size(), 7u);
  EXPECT_THROW(pool.map(RefuseNegative, std::vector<int64_t>{1, -2, 3}),
               ValueError);
  size_t seen = 0;
  for (NoneType none : pool.imap(RefuseNegative, Range(5))) {
    EXPECT_EQ(to_object(none), Object());
    ++seen;
  }
  EXPECT_EQ(seen, 5u);
  std::atomic<int> callbacks{0};
  auto r = pool.apply_async(
      RefuseNegative, 1, mp::callback([&](const NoneType&) { ++callbacks; }));
  r.get();  // as in Python, the callback ran before the result was ready
  EXPECT_TRUE(r.successful());
  EXPECT_EQ(callbacks.load(), 1);
}

// Also CPython _TestPoolWorkerLifetime in short (full ports in
// pool_cpython_test.cc).
TEST_P(PoolTest, InitializerAndMaxTasksPerChild) {
  PoolOptions o = Options(1);
  o.initializer = Initializer;
  o.maxtasksperchild = 2;
  Pool pool(o);
  auto inits = pool.map(ReadInitialized, Range(6), 1);
  for (int64_t v : inits) EXPECT_EQ(v, 7);
  auto pids = pool.map(Pid, Range(6), 1);
  std::set<int64_t> distinct(pids.begin(), pids.end());
  EXPECT_GE(distinct.size(), 3u);  // a new worker every 2 tasks
}

// Python's initializer + initargs: every worker ran the initializer with
// the arguments (a proxy among them) before its tasks. Related: CPython
// TestInitializers.test_pool_initializer (misc_cpython_test.cc, where the
// pool has no tasks).
TEST_P(PoolTest, InitializerWithInitargs) {
  DictProxy seen = testing::SharedManager().dict();
  Pool pool(Options(2).with_initializer(InitializerWithArgs, seen, 42));
  auto values = pool.map(ReadInitialized, Range(20), 1);
  for (int64_t v : values) EXPECT_EQ(v, 42);
  auto pids = pool.map(Pid, Range(20), 1);
  for (int64_t pid : std::set<int64_t>(pids.begin(), pids.end())) {
    EXPECT_EQ(seen.get(pid), Object(42)) << "worker " << pid;
  }
}

// get_context(method).Pool(n) and .Manager(), as in API.md.
TEST_P(PoolTest, ContextMakesPoolsAndManagers) {
  Context ctx = get_context(GetParam());
  Pool pool = ctx.Pool(2);
  EXPECT_EQ(pool.map(Sqr, Range(5)), (std::vector<int64_t>{0, 1, 4, 9, 16}));
  Manager m = ctx.Manager();
  ListProxy l = m.list({1, 2});
  EXPECT_EQ(l.size(), 2u);
}

// Related: CPython _TestPool.test_terminate and test_context
// (pool_cpython_test.cc).
TEST_P(PoolTest, CloseJoinAndTerminate) {
  Pool pool(Options());
  auto r = pool.map_async(Sqr, Range(10));
  pool.close();
  EXPECT_THROW(pool.map(Sqr, Range(2)), ValueError);
  pool.join();
  EXPECT_EQ(r.get().size(), 10u);
  Pool other(Options());
  auto slow = other.apply_async(SlowSqr, 200);
  other.terminate();
  EXPECT_THROW(slow.get(5s), ProcessError);
}

// As get_context("nope") in Python: a ValueError up front, not failed
// tasks later.
TEST(PoolOptionsTest, UnknownStartMethodIsAValueError) {
  EXPECT_THROW(Pool(PoolOptions{.processes = 1, .context = "nope"}),
               ValueError);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolTest,
                         ::testing::Values("fork", "spawn", "forkserver"));

}  // namespace
}  // namespace mp
