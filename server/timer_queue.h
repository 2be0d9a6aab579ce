// Deadlines for parked operations: one thread for every timeout on the
// server, so a thousand waiters with timeouts cost one thread, not a
// thousand.
#ifndef MP_SERVER_TIMER_QUEUE_H_
#define MP_SERVER_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mp::server {

// Thread-safe. Callbacks run on the timer thread, never under the queue's
// lock, and may schedule or cancel timers.
class TimerQueue {
 public:
  using Id = uint64_t;

  TimerQueue();
  ~TimerQueue();  // cancels what is left and joins the thread

  Id Schedule(absl::Time when, std::function<void()> callback);
  // False if the timer already ran (or is running) or never existed.
  bool Cancel(Id id);

 private:
  void Run();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::multimap<absl::Time, Id> by_time_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Id, std::pair<absl::Time, std::function<void()>>> timers_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mp::server

#endif  // MP_SERVER_TIMER_QUEUE_H_
