// CustomExecutor: the bound on custom methods running at once
// (ServerOptions::custom_threads); the rest wait their turn.
#include "server/custom_executor.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace mp::server {
namespace {

constexpr absl::Duration kPatience = absl::Seconds(10);

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

}  // namespace
}  // namespace mp::server
