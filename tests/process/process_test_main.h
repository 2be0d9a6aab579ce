// The main() shared by the process and pool test binaries
// (process_test_main.cc): mp::init runs first (a spawned child runs its task
// there and exits), one manager serves the whole binary, and the binary
// fails if any child process is left behind after the suite. Also the
// helpers those tests share.
#ifndef MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
#define MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/mp.h"

namespace mp::testing {

// The binary's manager (a real mp-manager process), alive while tests run.
Manager& SharedManager();

// This process's children, zombies included, with their argv[0].
struct ChildProcess {
  pid_t pid;
  std::string argv0;
};
std::vector<ChildProcess> ChildProcesses();

// 0, 1, ..., n-1: the usual pool inputs.
std::vector<int64_t> Range(int64_t n);

// A lazy range of f(0), f(1), ..., f(count - 1) (count < 0: unbounded): f
// runs for an element only when a consumer dereferences it. What
// std::views::iota(0) | std::views::transform(f) is, written out because
// clang 14 cannot compile libstdc++ 12's views.
template <class F>
class GeneratedRange {
 public:
  GeneratedRange(int64_t count, F f) : count_(count), f_(std::move(f)) {}

  class iterator {
   public:
    using value_type = std::decay_t<std::invoke_result_t<F&, int64_t>>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const GeneratedRange* range, int64_t i) : range_(range), i_(i) {}
    value_type operator*() const { return range_->f_(i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) { return iterator(range_, i_++); }
    friend bool operator==(const iterator& a, const iterator& b) {
      return a.i_ == b.i_;
    }

   private:
    const GeneratedRange* range_ = nullptr;
    int64_t i_ = 0;
  };

  iterator begin() const { return iterator(this, 0); }
  iterator end() const {
    return iterator(this,
                    count_ < 0 ? std::numeric_limits<int64_t>::max() : count_);
  }

 private:
  int64_t count_;
  mutable F f_;
};

// Pool tests parameterised by start method ("fork", "spawn", "forkserver").
class StartMethodPoolTest : public ::testing::TestWithParam<std::string> {
 protected:
  PoolOptions Options(int processes = 2) const {
    PoolOptions o;
    o.processes = processes;
    o.context = GetParam();
    return o;
  }
};

}  // namespace mp::testing

#endif  // MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
