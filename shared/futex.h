// Deadlines and futex waits on words in shared memory (process-shared
// futexes: FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline).
// The kernel drops a killed waiter from the futex queue, so a wake is never
// spent on a dead process.
#ifndef MP_SHARED_FUTEX_H_
#define MP_SHARED_FUTEX_H_

#include <time.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "mp/proxy.h"

namespace mp::internal {

// An absolute point on CLOCK_MONOTONIC, or none (wait forever).
class Deadline {
 public:
  // No timeout: forever; a negative one counts as 0 (as Python's).
  // ValueError for NaN.
  static Deadline After(const Timeout& timeout);
  static Deadline Now() { return After(std::chrono::duration<double>(0)); }

  bool forever() const { return !at_; }
  bool expired() const;
  const timespec* at() const { return at_ ? &*at_ : nullptr; }
  // Sleeps until the deadline (which must not be forever).
  void SleepUntil() const;

 private:
  std::optional<timespec> at_;
};

// Sleeps while `*word == expected`, until woken or the deadline. False when
// the deadline passed; true otherwise (woken, the word changed, a signal):
// callers re-check their condition either way.
bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               const Deadline& deadline);
void FutexWake(std::atomic<uint32_t>* word, int count);

}  // namespace mp::internal

#endif  // MP_SHARED_FUTEX_H_
