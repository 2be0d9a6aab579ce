// Compound assignment on proxy items (issue 16): `d[k] += v` and the rest
// are one server-side step with Python's arithmetic.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using namespace std::chrono_literals;
using testing::L;

class InplaceTest : public testing::ManagerTest {};

// Forks `n` children that run body(i) concurrently, runs `then` in the
// parent, and waits for them; true if every one exited 0.
bool RunChildren(int n, const std::function<void(int)>& body,
                 const std::function<void()>& then) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        body(i);
      } catch (const std::exception& e) {
        fprintf(stderr, "child %d: %s\n", i, e.what());
        code = 1;
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  then();
  bool ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok;
}

// The lost update of cpython #137233: 4 processes each add 1 N times to one
// dict value, one list element, one Namespace attribute and one Array
// element, all starting together; every increment must be there.
TEST_F(InplaceTest, ConcurrentIncrementsFromFourProcessesLoseNothing) {
  constexpr int kProcesses = 4;
  constexpr int kN = 300;
  DictProxy d = m().dict({{"k", 0}});
  ListProxy l = m().list({0});
  NamespaceProxy ns = m().Namespace();
  ns["x"] = 0;
  ArrayProxy<int64_t> a = m().Array<int64_t>(1);
  EventProxy go = m().Event();
  bool ok = RunChildren(
      kProcesses,
      [&](int) {
        if (!go.wait(30s)) throw TimeoutError("no start signal");
        for (int i = 0; i < kN; ++i) {
          d["k"] += 1;
          l[0] += 1;
          ns["x"] += 1;
          a[0] += 1;
        }
      },
      [&] { go.set(); });  // all forked: they start (nearly) together
  ASSERT_TRUE(ok);
  EXPECT_EQ(d["k"].get(), Object(kProcesses * kN));
  EXPECT_EQ(l[0].get(), Object(kProcesses * kN));
  EXPECT_EQ(ns["x"].get(), Object(kProcesses * kN));
  EXPECT_EQ(a.get(0), kProcesses * kN);
}

TEST_F(InplaceTest, ReturnsTheNewValue) {
  DictProxy d = m().dict({{"n", 40}});
  EXPECT_EQ(d["n"] += 2, Object(42));
  EXPECT_EQ(d.inplace("n", InplaceOp::kSub, 2), Object(40));
  EXPECT_EQ(d["n"].get(), Object(40));
}

// Python's rules, not C++'s: the results of `x op= y` in Python 3.11.
TEST_F(InplaceTest, NumbersFollowPython) {
  DictProxy d = m().dict();
  auto run = [&](Object start, auto op, Object operand) {
    d["v"] = start;
    return op(d["v"], operand);
  };
  auto add = [](auto r, const Object& v) { return r += v; };
  auto sub = [](auto r, const Object& v) { return r -= v; };
  auto mul = [](auto r, const Object& v) { return r *= v; };
  auto div = [](auto r, const Object& v) { return r /= v; };
  auto floordiv = [](auto r, const Object& v) { return r.floordiv_assign(v); };
  auto mod = [](auto r, const Object& v) { return r %= v; };
  auto band = [](auto r, const Object& v) { return r &= v; };
  auto bor = [](auto r, const Object& v) { return r |= v; };
  auto bxor = [](auto r, const Object& v) { return r ^= v; };
  auto shl = [](auto r, const Object& v) { return r <<= v; };
  auto shr = [](auto r, const Object& v) { return r >>= v; };

  EXPECT_EQ(run(1, add, 2), Object(3));
  EXPECT_TRUE(run(1, add, 0.5).is_float());
  EXPECT_EQ(run(1, add, 0.5), Object(1.5));
  EXPECT_EQ(run(true, add, true), Object(2));  // bool is an int
  EXPECT_TRUE(run(true, add, true).is_int());
  EXPECT_EQ(run(5, sub, 7), Object(-2));
  EXPECT_EQ(run(6, mul, 7), Object(42));
  EXPECT_EQ(run(7, div, 2), Object(3.5));  // true division
  EXPECT_TRUE(run(6, div, 2).is_float());
  EXPECT_EQ(run(-7, floordiv, 2), Object(-4));  // floors
  EXPECT_EQ(run(7, floordiv, -2), Object(-4));
  EXPECT_EQ(run(7.5, floordiv, 2), Object(3.0));
  EXPECT_EQ(run(-7, mod, 3), Object(2));  // sign of the divisor
  EXPECT_EQ(run(7, mod, -3), Object(-2));
  EXPECT_EQ(run(-7.5, mod, 2), Object(0.5));
  EXPECT_EQ(run(0b1100, band, 0b1010), Object(0b1000));
  EXPECT_EQ(run(0b1100, bor, 0b1010), Object(0b1110));
  EXPECT_EQ(run(0b1100, bxor, 0b1010), Object(0b0110));
  EXPECT_TRUE(run(true, band, false).is_bool());
  EXPECT_EQ(run(true, bxor, true), Object(false));
  EXPECT_EQ(run(3, shl, 4), Object(48));
  EXPECT_EQ(run(-17, shr, 2), Object(-5));  // arithmetic shift, as Python
  EXPECT_EQ(run(-1, shr, 100), Object(-1));
}

TEST_F(InplaceTest, SequencesConcatenateAndRepeat) {
  DictProxy d = m().dict({{"s", "ab"},
                          {"b", Object::bytes("x")},
                          {"l", L({1})},
                          {"t", Object::tuple({1})}});
  EXPECT_EQ(d["s"] += "cd", Object("abcd"));
  EXPECT_EQ(d["s"] *= 2, Object("abcdabcd"));
  EXPECT_EQ(d["b"] += Object::bytes("y"), Object::bytes("xy"));
  EXPECT_EQ(d["l"] += L({2, 3}), L({1, 2, 3}));
  EXPECT_EQ(d["l"] += Object::tuple({4}), L({1, 2, 3, 4}));  // list += any
  EXPECT_EQ(d["t"] *= 3, Object::tuple({1, 1, 1}));
  EXPECT_THROW(d["t"] += L({2}), TypeError);  // tuple += only a tuple
  EXPECT_EQ(d["l"] *= 0, L({}));
  d["n"] = 2;
  EXPECT_EQ(d["n"] *= "ab", Object("abab"));  // int * str, as in Python
}

TEST_F(InplaceTest, ErrorsNameTheProblemAndChangeNothing) {
  DictProxy d = m().dict({{"n", 7}, {"f", 1.5}, {"s", "a"}});
  for (auto op : {InplaceOp::kTrueDiv, InplaceOp::kFloorDiv, InplaceOp::kMod}) {
    EXPECT_THROW(d.inplace("n", op, 0), ZeroDivisionError);
    EXPECT_THROW(d.inplace("f", op, 0.0), ZeroDivisionError);
  }
  try {
    d["n"] /= 0;
    ADD_FAILURE() << "nothing thrown";
  } catch (const ZeroDivisionError& e) {
    EXPECT_STREQ(e.what(), "ZeroDivisionError: division by zero");
  }
  try {
    d["s"] += 1;
    ADD_FAILURE() << "nothing thrown";
  } catch (const TypeError& e) {
    EXPECT_EQ(e.message(),
              "unsupported operand type(s) for +=: 'str' and 'int'");
  }
  EXPECT_THROW(d["f"] &= 1, TypeError);
  EXPECT_THROW(d["missing"] += 1, KeyError);
  d["big"] = INT64_MAX;
  EXPECT_THROW(d["big"] += 1, ValueError);  // int64, not Python's bigint
  EXPECT_THROW(d["big"] <<= 1, ValueError);
  EXPECT_THROW(d["n"] >>= -1, ValueError);  // negative shift count
  d["min"] = INT64_MIN;
  EXPECT_THROW(d["min"].floordiv_assign(-1), ValueError);
  EXPECT_EQ(d["min"] %= -1, Object(0));
  // A repetition past the server's element limit is refused before
  // anything is allocated.
  EXPECT_THROW(d["s"] *= int64_t{1} << 40, ValueError);
  EXPECT_EQ(d["n"].get(), Object(7));
  EXPECT_EQ(d["f"].get(), Object(1.5));
  EXPECT_EQ(d["s"].get(), Object("a"));
  EXPECT_EQ(d["big"].get(), Object(INT64_MAX));
  EXPECT_EQ(d.size(), 5u);  // nothing added

  ListProxy l = m().list({1});
  EXPECT_THROW(l[1] += 1, IndexError);
  EXPECT_EQ(l[-1] += 1, Object(2));
  NamespaceProxy ns = m().Namespace();
  EXPECT_THROW(ns["unset"] += 1, AttributeError);
}

TEST_F(InplaceTest, ArrayElementsKeepTheirTypecode) {
  ArrayProxy<int8_t> a = m().Array<int8_t>({100, 0});
  EXPECT_EQ(a[0] += 27, Object(127));
  EXPECT_THROW(a[0] += 1, ValueError);  // out of the typecode's range
  EXPECT_EQ(a.get(0), 127);
  EXPECT_THROW(a[1] += 0.5, TypeError);  // an int array takes ints
  EXPECT_THROW(a[1] += "x", TypeError);
  EXPECT_THROW(a[2] += 1, IndexError);
  ArrayProxy<double> f = m().Array<double>({1.0});
  EXPECT_EQ(f[0] /= 4, Object(0.25));
  ArrayProxy<Object> c = m().Array('c', 1);
  EXPECT_THROW(c[0] += Object::bytes("x"), TypeError);
}

}  // namespace
}  // namespace mp
