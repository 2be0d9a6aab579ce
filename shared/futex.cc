#include "shared/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>

#include "mp/errors.h"

namespace mp::internal {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
              std::atomic<uint32_t>::is_always_lock_free);

Deadline Deadline::After(const Timeout& timeout) {
  Deadline d;
  if (!timeout) return d;
  double seconds = timeout->count();
  if (std::isnan(seconds)) throw ValueError("timeout is NaN");
  if (seconds < 0) seconds = 0;
  if (seconds > 1e9) return d;  // ~31 years: forever
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const double whole = std::floor(seconds);
  long nanos = now.tv_nsec + static_cast<long>((seconds - whole) * 1e9);
  time_t secs = now.tv_sec + static_cast<time_t>(whole) + nanos / 1000000000;
  d.at_ = timespec{secs, nanos % 1000000000};
  return d;
}

bool Deadline::expired() const {
  if (!at_) return false;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > at_->tv_sec ||
         (now.tv_sec == at_->tv_sec && now.tv_nsec >= at_->tv_nsec);
}

void Deadline::SleepUntil() const {
  while (at_ && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &*at_,
                                nullptr) == EINTR) {
  }
}

bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               const Deadline& deadline) {
  if (deadline.expired()) return false;
  // Not FUTEX_PRIVATE_FLAG: the word is in memory shared between processes.
  long rc =
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_BITSET,
              expected, deadline.at(), nullptr, FUTEX_BITSET_MATCH_ANY);
  if (rc != 0 && errno == ETIMEDOUT) return false;
  return true;
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, count,
          nullptr, nullptr, 0);
}

}  // namespace mp::internal
