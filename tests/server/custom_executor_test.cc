// CustomExecutor (server/custom_executor.h): a task submitted from a
// loop's turn runs on the turn's thread with the loop parked; the loop
// stays with that thread when the task is quick and moves on to another
// when it is not; at most `size()` tasks run at once.
#include "server/custom_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace mp::server {
namespace {

constexpr absl::Duration kPatience = absl::Seconds(10);

// A task that blocks past the hand-off time loses its loop: a later turn
// runs on another thread while the task still runs.
TEST(CustomExecutorTest, KeptTaskRunsOnTheTurnsThreadWhileTheLoopMovesOn) {
  CustomExecutor executor(2, absl::Milliseconds(1));
  absl::Mutex mu;
  std::thread::id turn_thread;
  std::thread::id task_thread;
  std::thread::id later_turn_thread;
  absl::Notification task_started, later_turn_ran, stop, ended;
  std::atomic<int> turns{0};
  executor.StartLoop(
      [&] {
        const int turn = ++turns;
        if (turn == 1) {
          {
            absl::MutexLock lock(&mu);
            turn_thread = std::this_thread::get_id();
          }
          executor.Submit([&] {
            {
              absl::MutexLock lock(&mu);
              task_thread = std::this_thread::get_id();
            }
            task_started.Notify();
            // Blocks until a later turn ran: only possible if the loop
            // went on without this thread.
            later_turn_ran.WaitForNotificationWithTimeout(kPatience);
          });
          return true;
        }
        if (turn == 2) {
          task_started.WaitForNotificationWithTimeout(kPatience);
          {
            absl::MutexLock lock(&mu);
            later_turn_thread = std::this_thread::get_id();
          }
          later_turn_ran.Notify();
          return true;
        }
        stop.WaitForNotificationWithTimeout(kPatience);
        return false;
      },
      &ended);
  ASSERT_TRUE(later_turn_ran.WaitForNotificationWithTimeout(kPatience))
      << "the loop did not go on while the kept task ran";
  stop.Notify();
  ASSERT_TRUE(ended.WaitForNotificationWithTimeout(kPatience));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(task_thread, turn_thread)
      << "the task was queued for another thread instead of kept";
  EXPECT_NE(later_turn_thread, turn_thread);
}

// A quick task gives its loop back to the same thread: no other thread
// serves it (the hand-off time is far beyond the test's length), and every
// task ran, on the turn's thread.
TEST(CustomExecutorTest, QuickKeptTasksKeepTheLoopOnItsThread) {
  CustomExecutor executor(2, absl::Hours(1));
  constexpr int kTasks = 100;
  absl::Mutex mu;
  std::vector<std::thread::id> turn_threads, task_threads;
  absl::Notification ended;
  executor.StartLoop(
      [&] {
        absl::MutexLock lock(&mu);
        turn_threads.push_back(std::this_thread::get_id());
        if (turn_threads.size() > kTasks) return false;
        executor.Submit([&] {
          absl::MutexLock lock(&mu);
          task_threads.push_back(std::this_thread::get_id());
        });
        return true;
      },
      &ended);
  ASSERT_TRUE(ended.WaitForNotificationWithTimeout(kPatience));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(turn_threads.size(), kTasks + 1u);
  ASSERT_EQ(task_threads.size(), static_cast<size_t>(kTasks));
  for (const std::thread::id& id : turn_threads) {
    EXPECT_EQ(id, turn_threads[0]) << "the loop moved to another thread";
  }
  for (const std::thread::id& id : task_threads) {
    EXPECT_EQ(id, turn_threads[0]) << "a task was queued instead of kept";
  }
}

TEST(CustomExecutorTest, AtMostSizeTasksRunAtOnceAndTheRestWait) {
  CustomExecutor executor(2);
  absl::Mutex mu;
  int running = 0, most = 0, done = 0;
  absl::Notification release;
  for (int i = 0; i < 6; ++i) {
    executor.Submit([&] {
      {
        absl::MutexLock lock(&mu);
        most = std::max(most, ++running);
      }
      release.WaitForNotificationWithTimeout(kPatience);
      absl::MutexLock lock(&mu);
      --running;
      ++done;
    });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(
        mu.AwaitWithTimeout(absl::Condition(
                                +[](int* r) { return *r == 2; }, &running),
                            kPatience));
  }
  release.Notify();
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* d) { return *d == 6; }, &done),
                                  kPatience));
  EXPECT_EQ(most, 2);
}

TEST(CustomExecutorTest, LoopsAreServedWhileEveryTaskSlotIsBusy) {
  CustomExecutor executor(1);
  absl::Notification release, task_running, ended;
  executor.Submit([&] {
    task_running.Notify();
    release.WaitForNotificationWithTimeout(kPatience);
  });
  ASSERT_TRUE(task_running.WaitForNotificationWithTimeout(kPatience));
  std::atomic<int> turns{0};
  // With the one task slot taken, a task submitted from the turn is
  // queued, not kept, and the loop keeps its thread.
  std::atomic<bool> queued_ran{false};
  executor.StartLoop(
      [&] {
        if (++turns == 1) {
          executor.Submit([&] { queued_ran = true; });
          return true;
        }
        return false;
      },
      &ended);
  ASSERT_TRUE(ended.WaitForNotificationWithTimeout(kPatience))
      << "a loop waited for a task slot";
  EXPECT_FALSE(queued_ran.load());
  release.Notify();
}

}  // namespace
}  // namespace mp::server
