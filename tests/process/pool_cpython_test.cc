// Ports of CPython's Lib/test/_test_multiprocessing.py _TestPool,
// _TestPoolWorkerErrors and _TestPoolWorkerLifetime, one test per CPython
// case, under each start method. Each test is named after the CPython test.
// Cases already covered by tests/process/pool_test.cc carry the CPython name
// in a comment there:
//   test_apply, test_map, test_starmap        -> MapApplyStarmap
//   test_map_async, test_async, test_async_timeout -> AsyncResults
//   test_wrapped_exception                    ->
//   WorkerExceptionReachesTheCaller test_imap, test_imap_unordered ->
//   ImapIsOrderedAndImapUnorderedComplete
// The worker-killed-mid-task case (CPython gh-66587, no CPython test) is
// PoolTest.WorkerKilledMidTaskFailsTheTaskAndIsReplaced.
//
// Not ported (no C++ counterpart):
//   test_map_handle_iterable_exception - map() takes a std::vector, built
//       before the call; the throwing-input cases are ported for imap and
//       imap_unordered, which take any range.
//   test_release_task_refs - Python object lifetimes: arguments and results
//       are converted to values, nothing refers back to the caller's objects.
//   test_enter - no context manager; ~Pool() terminates. Use after
//       terminate() is test_context.
//   test_resource_warning - Python ResourceWarning.
//   test_pool_worker_lifetime_early_close is ported; test_worker_
//       finalization_via_atexit_handler_of_multiprocessing (Python atexit and
//       GC order at interpreter exit) is not: ~Pool() runs at a defined point.
//   The kwargs forms of test_apply - C++ has no keyword arguments.
//   test_traceback's traceback text: C++ exceptions carry no call stack, so
//       the RemoteError's traceback names the worker and the task function
//       instead (checked below); mp::Error subtypes keep type and message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mp/mp.h"
#include "tests/process/process_test_main.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

constexpr auto kLong = 60s;

int64_t Sqr(int64_t x) { return x * x; }
int64_t ThrowStdOutOfRange() { throw std::out_of_range("index 7"); }
int64_t SqrWait(int64_t x, int64_t wait_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  return x * x;
}
int64_t Mul(int64_t x, int64_t y) { return x * y; }
int64_t Pid(int64_t) { return getpid(); }
std::tuple<int64_t, int64_t> SqrAndPid(int64_t x) { return {x * x, getpid()}; }
// Returns its argument: map() of a void function does not compile (a
// vector<void> result).
int64_t SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
// Python's int(): ValueError for what is not a number.
int64_t ParseInt(std::string s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    throw ValueError("invalid literal for int() with base 10: '" + s + "'");
  }
  return std::stoll(s);
}
int64_t RaiseRuntimeError() { throw RuntimeError("123"); }
std::string ProcessName() { return current_process().name(); }
int64_t RaiseLargeValueError(int64_t wait_s) {
  std::this_thread::sleep_for(std::chrono::seconds(wait_s));
  throw ValueError(std::string(1024 * 1024, 'x'));
}
int64_t RaiseKeyError() { throw KeyError("key"); }
// A str that is not UTF-8: it cannot travel (CPython: an unpicklable value).
std::string UnencodableResult() { return "\xff\xfe"; }
int64_t Length(std::string s) { return static_cast<int64_t>(s.size()); }

using testing::Range;

std::vector<int64_t> Squares(int64_t n) {
  std::vector<int64_t> v = Range(n);
  for (int64_t& x : v) x *= x;
  return v;
}

// CPython's SayWhenError and exception_throwing_generator(total, when): a
// range whose reading throws at `when` (-1: at once). A plain C++
// exception, not an mp::Error: it must reach the consumer as it is.
struct SayWhenError : std::runtime_error {
  SayWhenError() : std::runtime_error("Somebody said when") {}
};
auto ExceptionThrowingGenerator(int64_t total, int64_t when) {
  return testing::GeneratedRange(std::max(total, int64_t{1}),
                                 [when](int64_t i) {
                                   if (i == when || when == -1) {
                                     throw SayWhenError();
                                   }
                                   return i;
                                 });
}

class PoolCPythonTest : public testing::StartMethodPoolTest {};

// --- _TestPool ---

// CPython _TestPool.test_starmap_async
TEST_P(PoolCPythonTest, test_starmap_async) {
  Pool pool(Options());
  std::vector<std::tuple<int64_t, int64_t>> tuples;
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < 100; ++i) {
    tuples.emplace_back(i, 99 - i);
    expected.push_back(i * (99 - i));
  }
  EXPECT_EQ(pool.starmap_async(Mul, tuples).get(kLong), expected);
}

// CPython _TestPool.test_map_async_callbacks
TEST_P(PoolCPythonTest, test_map_async_callbacks) {
  Pool pool(Options());
  std::mutex mu;
  std::vector<std::string> call_args;  // what each callback received
  auto callback = [&](const std::vector<int64_t>& v) {
    std::lock_guard<std::mutex> lock(mu);
    call_args.push_back(::testing::PrintToString(v));
  };
  auto error_callback = [&](const Error& e) {
    std::lock_guard<std::mutex> lock(mu);
    call_args.push_back(e.type_name());
  };
  EXPECT_TRUE(pool.map_async(ParseInt, std::vector<std::string>{"1"}, 0,
                             callback, error_callback)
                  .wait(kLong));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(call_args.size(), 1u);
    EXPECT_EQ(call_args[0], ::testing::PrintToString(std::vector<int64_t>{1}));
  }
  EXPECT_TRUE(pool.map_async(ParseInt, std::vector<std::string>{"a"}, 0,
                             callback, error_callback)
                  .wait(kLong));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(call_args.size(), 2u);
  EXPECT_EQ(call_args[1], "ValueError");
}

// CPython _TestPool.test_map_unplicklable (issue #19425): arguments that
// cannot travel fail the call instead of hanging it, and the pool goes on.
TEST_P(PoolCPythonTest, test_map_unplicklable) {
  Pool pool(Options());
  auto r = pool.map_async(Length, std::vector<std::string>(10, "\xff\xfe"));
  ASSERT_TRUE(r.wait(kLong));
  try {
    r.get();
    ADD_FAILURE() << "expected an encoding error";
  } catch (const ProcessError& e) {
    ADD_FAILURE() << "a worker was blamed: " << e.what();
  } catch (const Error& e) {
    SUCCEED() << e.what();
  }
  EXPECT_EQ(pool.map(Sqr, Range(10)), Squares(10));
}

// CPython _TestPool.test_map_chunksize
TEST_P(PoolCPythonTest, test_map_chunksize) {
  Pool pool(Options());
  EXPECT_TRUE(
      pool.map_async(Sqr, std::vector<int64_t>{}, 1).get(kLong).empty());
}

// CPython _TestPool.test_imap_handle_iterable_exception
TEST_P(PoolCPythonTest, test_imap_handle_iterable_exception) {
  Pool pool(Options());
  // SayWhenError seen at the very first of the iterable, twice.
  for (int again = 0; again < 2; ++again) {
    auto it = pool.imap(Sqr, ExceptionThrowingGenerator(1, -1), 1);
    EXPECT_THROW(it.begin(), SayWhenError);
  }
  {
    auto results = pool.imap(Sqr, ExceptionThrowingGenerator(10, 3), 1);
    auto it = results.begin();
    for (int64_t i = 0; i < 3; ++i) {
      if (i > 0) ++it;
      ASSERT_NE(it, results.end());
      EXPECT_EQ(*it, i * i);
    }
    EXPECT_THROW(++it, SayWhenError);
  }
  // SayWhenError seen at the start of the problematic chunk's results.
  for (auto [chunksize, good] : {std::pair<size_t, int64_t>{2, 6}, {4, 4}}) {
    auto results = pool.imap(Sqr, ExceptionThrowingGenerator(20, 7), chunksize);
    auto it = results.begin();
    for (int64_t i = 0; i < good - 1; ++i) {
      EXPECT_EQ(*it, i * i);
      ++it;
    }
    EXPECT_EQ(*it, (good - 1) * (good - 1));
    EXPECT_THROW(++it, SayWhenError) << "chunksize " << chunksize;
  }
}

// CPython _TestPool.test_imap_unordered_handle_iterable_exception
TEST_P(PoolCPythonTest, test_imap_unordered_handle_iterable_exception) {
  Pool pool(Options());
  for (int again = 0; again < 2; ++again) {
    auto it = pool.imap_unordered(Sqr, ExceptionThrowingGenerator(1, -1), 1);
    EXPECT_THROW(it.begin(), SayWhenError);
  }
  for (auto param : {std::pair<int64_t, size_t>{10, 1}, {20, 2}}) {
    // Named copies: a lambda cannot capture a structured binding (C++20
    // allows it; clang 14 does not).
    const int64_t total = param.first;
    const size_t chunksize = param.second;
    std::multiset<int64_t> expected_values;
    for (int64_t v : Squares(total)) expected_values.insert(v);
    auto consume = [&] {
      for (int64_t value : pool.imap_unordered(
               Sqr, ExceptionThrowingGenerator(total, total == 10 ? 3 : 7),
               chunksize)) {
        auto found = expected_values.find(value);
        ASSERT_NE(found, expected_values.end()) << value;
        expected_values.erase(found);
      }
    };
    EXPECT_THROW(consume(), SayWhenError);
  }
}

// CPython _TestPool.test_make_pool (0 processes means cpu_count() in mp,
// where Python takes None).
TEST_P(PoolCPythonTest, test_make_pool) {
  EXPECT_THROW(Pool{Options(-1)}, ValueError);
  Pool p(Options(3));
  EXPECT_EQ(p.processes(), 3);
  p.close();
  p.join();
  Pool all(Options(0));
  EXPECT_EQ(all.processes(), cpu_count());
}

// CPython _TestPool.test_terminate: tasks that take "forever" do not stop
// terminate() and join().
TEST_P(PoolCPythonTest, test_terminate) {
  Pool p(Options(3));
  std::vector<int64_t> args(10000, 60000);  // ms each
  auto result = p.map_async(SleepMs, args, 1);
  const auto start = std::chrono::steady_clock::now();
  p.terminate();
  p.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 50s);
  EXPECT_THROW(result.get(kLong), ProcessError);
}

// CPython _TestPool.test_empty_iterable (issue 12157)
TEST_P(PoolCPythonTest, test_empty_iterable) {
  Pool p(Options(1));
  const std::vector<int64_t> empty;
  EXPECT_TRUE(p.map(Sqr, empty).empty());
  std::vector<int64_t> got;
  for (int64_t v : p.imap(Sqr, empty)) got.push_back(v);
  for (int64_t v : p.imap_unordered(Sqr, empty)) got.push_back(v);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(p.map_async(Sqr, empty).get(kLong).empty());
  p.close();
  p.join();
}

// CPython _TestPool.test_context: after the pool stops (leaving `with`,
// here terminate()), new work is refused with ValueError.
TEST_P(PoolCPythonTest, test_context) {
  Pool p(Options(2));
  EXPECT_EQ(p.map_async(Sqr, Range(10)).get(kLong), Squares(10));
  p.terminate();
  p.join();
  EXPECT_THROW(p.map_async(Sqr, Range(10)).get(kLong), ValueError);
}

// CPython _TestPool.test_traceback: the worker's exception arrives with its
// type and arguments (as the same mp::Error subtype, or RemoteError for
// other exceptions) and a traceback text saying which worker (by its
// Python-style name and pid) and which task function (by name) raised it.
TEST_P(PoolCPythonTest, test_traceback) {
  Pool p(Options(1));
  const int64_t worker_pid = p.apply(Pid, 0);
  const std::string worker_name = p.apply(ProcessName);
  try {
    p.apply(RaiseRuntimeError);
    ADD_FAILURE() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(e.type_name(), "RuntimeError");
    EXPECT_EQ(e.message(), "123");
    const std::string& tb = e.traceback();
    EXPECT_NE(tb.find("Traceback (from pool worker " + worker_name + ", pid " +
                      std::to_string(worker_pid) + ")"),
              std::string::npos)
        << tb;
    // The task function by its (demangled) name, though the test binary
    // exports no symbols: read from its own symbol table.
    EXPECT_NE(tb.find("\n  in task mp::(anonymous namespace)::"
                      "RaiseRuntimeError() at "),
              std::string::npos)
        << tb;
    EXPECT_NE(tb.find("RuntimeError: 123\n"), std::string::npos) << tb;
  }
  try {
    p.apply(ThrowStdOutOfRange);
    ADD_FAILURE() << "expected RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::out_of_range");
    EXPECT_EQ(e.remote_message(), "index 7");
    const std::string& tb = e.traceback();
    EXPECT_NE(tb.find("Traceback (from pool worker "), std::string::npos) << tb;
    EXPECT_NE(tb.find("pid " + std::to_string(worker_pid)), std::string::npos)
        << tb;
    EXPECT_NE(tb.find("\n  in task mp::(anonymous namespace)::"
                      "ThrowStdOutOfRange() at "),
              std::string::npos)
        << tb;
    EXPECT_NE(tb.find("std::out_of_range: index 7\n"), std::string::npos) << tb;
  }
}

// CPython _TestPool.test_map_no_failfast (issue #23992): after map() fails,
// close() and join() wait for the remaining tasks without deadlocking, and
// a 1 MiB error message travels whole.
TEST_P(PoolCPythonTest, test_map_no_failfast) {
  const auto start = std::chrono::steady_clock::now();
  Pool p(Options(2));
  try {
    p.map(RaiseLargeValueError, std::vector<int64_t>{0, 1});
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_EQ(e.message(), std::string(1024 * 1024, 'x'));
  }
  p.close();
  p.join();
  // join() waited for the second task (1 s of work).
  EXPECT_GT(std::chrono::steady_clock::now() - start, 900ms);
}

// --- _TestPoolWorkerErrors ---

// CPython _TestPoolWorkerErrors.test_async_error_callback
TEST_P(PoolCPythonTest, test_async_error_callback) {
  Pool p(Options());
  std::mutex mu;
  std::string scratchpad;
  auto res =
      p.apply_async(RaiseKeyError, mp::error_callback([&](const Error& e) {
                      std::lock_guard<std::mutex> lock(mu);
                      scratchpad = e.type_name();
                    }));
  EXPECT_THROW(res.get(kLong), KeyError);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(scratchpad, "KeyError");
  }
  p.close();
  p.join();
}

// CPython _TestPoolWorkerErrors.test_unpickleable_result: a result that
// cannot travel fails its task, and no worker is lost over it (one worker
// here, so its pid tells whether it was replaced).
TEST_P(PoolCPythonTest, test_unpickleable_result) {
  Pool p(Options(1));
  const int64_t worker = p.apply(Pid, 0);
  for (int iteration = 0; iteration < 20; ++iteration) {
    std::atomic<bool> errback{false};
    auto res = p.apply_async(
        UnencodableResult,
        mp::error_callback([&](const Error&) { errback = true; }));
    EXPECT_THROW(res.get(kLong), Error);
    EXPECT_TRUE(errback);
    EXPECT_FALSE(res.successful());
  }
  EXPECT_EQ(p.apply(Pid, 0), worker);
  p.close();
  p.join();
}

// --- _TestPoolWorkerLifetime ---

// CPython _TestPoolWorkerLifetime.test_pool_worker_lifetime: with
// maxtasksperchild, workers are replaced (seen here through their pids:
// 3 workers of at most 10 tasks each ran 100 tasks, so at least 10 pids).
TEST_P(PoolCPythonTest, test_pool_worker_lifetime) {
  PoolOptions o = Options(3);
  o.maxtasksperchild = 10;
  Pool p(o);
  EXPECT_EQ(p.processes(), 3);
  std::vector<AsyncResult<std::tuple<int64_t, int64_t>>> results;
  for (int64_t i = 0; i < 100; ++i) {
    results.push_back(p.apply_async(SqrAndPid, i));
  }
  std::set<int64_t> distinct;
  for (size_t j = 0; j < results.size(); ++j) {
    auto [square, pid] = results[j].get(kLong);
    EXPECT_EQ(square, static_cast<int64_t>(j * j));
    distinct.insert(pid);
  }
  EXPECT_GE(distinct.size(), 10u);
  EXPECT_EQ(distinct.count(getpid()), 0u);
  p.close();
  p.join();
}

// CPython _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close
// (issue #10332): closing a pool whose workers have limited lifetimes
// before the tasks completed must not make join() hang.
TEST_P(PoolCPythonTest, test_pool_worker_lifetime_early_close) {
  PoolOptions o = Options(3);
  o.maxtasksperchild = 1;
  Pool p(o);
  std::vector<AsyncResult<int64_t>> results;
  for (int64_t i = 0; i < 6; ++i)
    results.push_back(p.apply_async(SqrWait, i, 300));
  p.close();
  p.join();
  for (size_t j = 0; j < results.size(); ++j) {
    ASSERT_TRUE(results[j].ready());
    EXPECT_EQ(results[j].get(), static_cast<int64_t>(j * j));
  }
}

// CPython _TestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid (0 is
// "unlimited" in mp, Python's None; 0.5 and "12" do not compile).
TEST_P(PoolCPythonTest, test_pool_maxtasksperchild_invalid) {
  PoolOptions o = Options(3);
  o.maxtasksperchild = -1;
  EXPECT_THROW(Pool{o}, ValueError);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolCPythonTest,
                         ::testing::Values("fork", "spawn", "forkserver"));

}  // namespace
}  // namespace mp
