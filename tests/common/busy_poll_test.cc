// BusyPoll's policy (common/busy_poll.h): when it spins, for how long, and
// how it backs off. What spinning buys is measured by bench/ (W1, W13).
#include "common/busy_poll.h"

#include <chrono>

#include "gtest/gtest.h"

namespace mp::internal {
namespace {

TEST(BusyPollTest, ZeroBudgetNeverPolls) {
  BusyPoll poll(0);
  int calls = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(poll.Spin([&] {
      ++calls;
      return true;
    }));
  }
  EXPECT_EQ(calls, 0);
}

TEST(BusyPollTest, StopsAtTheFirstSuccess) {
  BusyPoll poll(10'000'000);  // 10 s: only success can end the spin
  int calls = 0;
  EXPECT_TRUE(poll.Spin([&] { return ++calls == 3; }));
  EXPECT_EQ(calls, 3);
}

TEST(BusyPollTest, AFailedSpinLastsItsBudget) {
  BusyPoll poll(2000);
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  EXPECT_FALSE(poll.Spin([&] {
    ++calls;
    return false;
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::microseconds(2000));
  EXPECT_GT(calls, 1);
}

// After n consecutive failed spins the next 2^n - 1 waits (at most
// kMaxSkip) block without polling; one success resets that.
TEST(BusyPollTest, BacksOffAfterFailuresAndRecoversOnSuccess) {
  BusyPoll poll(1);
  int calls = 0;
  auto fail = [&] {
    ++calls;
    return false;
  };
  // Waits until one polls (and fails); returns how many skipped before it.
  auto skips_before_next_poll = [&] {
    for (int skipped = 0;; ++skipped) {
      calls = 0;
      EXPECT_FALSE(poll.Spin(fail));
      if (calls > 0) return skipped;
    }
  };
  EXPECT_EQ(skips_before_next_poll(), 0);  // the first wait polls
  for (int expected : {1, 3, 7, 15, 31, 63, 127, 255, 255}) {
    EXPECT_EQ(skips_before_next_poll(), expected);
  }
  // Skip to the next polling wait and let it succeed: no more skipping.
  auto succeed = [&] {
    ++calls;
    return true;
  };
  bool polled = false;
  while (!polled) {
    calls = 0;
    const bool ok = poll.Spin(succeed);
    polled = calls > 0;
    EXPECT_EQ(ok, polled);
  }
  calls = 0;
  EXPECT_TRUE(poll.Spin(succeed));
  EXPECT_EQ(calls, 1);
  // And a failure after a success starts the back-off from the beginning.
  EXPECT_EQ(skips_before_next_poll(), 0);
  EXPECT_EQ(skips_before_next_poll(), 1);
}

TEST(BusyPollTest, BudgetFromTheEnvironmentAndTheCpuCount) {
  EXPECT_EQ(BusyPoll::BudgetUsFor(nullptr, 2), BusyPoll::kDefaultBudgetUs);
  EXPECT_EQ(BusyPoll::BudgetUsFor("", 8), BusyPoll::kDefaultBudgetUs);
  EXPECT_EQ(BusyPoll::BudgetUsFor(nullptr, 1), 0);  // the peer needs the CPU
  EXPECT_EQ(BusyPoll::BudgetUsFor("0", 8), 0);      // turned off
  EXPECT_EQ(BusyPoll::BudgetUsFor("120", 1), 120);  // asked for: given
  EXPECT_EQ(BusyPoll::BudgetUsFor("99999999", 2), BusyPoll::kMaxBudgetUs);
  EXPECT_EQ(BusyPoll::BudgetUsFor("-5", 2), BusyPoll::kDefaultBudgetUs);
  EXPECT_EQ(BusyPoll::BudgetUsFor("fast", 2), BusyPoll::kDefaultBudgetUs);
  EXPECT_EQ(BusyPoll::BudgetUsFor("12us", 2), BusyPoll::kDefaultBudgetUs);
}

}  // namespace
}  // namespace mp::internal
