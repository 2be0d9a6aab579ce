// CustomExecutor's leader/followers: a task submitted from a loop's turn
// starts on the thread that ran the turn, and the loop goes on meanwhile on
// another thread.
#include "server/custom_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace mp::server {
namespace {

constexpr absl::Duration kPatience = absl::Seconds(10);

TEST(CustomExecutorTest, KeptTaskRunsOnTheTurnsThreadWhileTheLoopMovesOn) {
  CustomExecutor executor(2);
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
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(
            +[](int* r) { return *r == 2; }, &running),
        kPatience));
  }
  release.Notify();
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(
      absl::Condition(+[](int* d) { return *d == 6; }, &done), kPatience));
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
