#include "server/timer_queue.h"

namespace mp::server {

TimerQueue::TimerQueue() : thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

TimerQueue::Id TimerQueue::Schedule(absl::Time when,
                                    std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  Id id = next_id_++;
  by_time_.emplace(when, id);
  timers_.emplace(id, std::make_pair(when, std::move(callback)));
  return id;
}

bool TimerQueue::Cancel(Id id) {
  std::function<void()> dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  auto range = by_time_.equal_range(it->second.first);
  for (auto t = range.first; t != range.second; ++t) {
    if (t->second == id) {
      by_time_.erase(t);
      break;
    }
  }
  dropped = std::move(it->second.second);
  timers_.erase(it);
  return true;
}

void TimerQueue::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time wake =
        by_time_.empty() ? absl::InfiniteFuture() : by_time_.begin()->first;
    // Wake at the earliest deadline, or sooner when an earlier timer is
    // scheduled meanwhile (absl re-evaluates this on every unlock).
    auto changed = [this, wake]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!by_time_.empty() && by_time_.begin()->first < wake);
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), wake);
    while (!stopping_ && !by_time_.empty() &&
           by_time_.begin()->first <= absl::Now()) {
      Id id = by_time_.begin()->second;
      by_time_.erase(by_time_.begin());
      auto node = timers_.extract(id);
      if (node.empty()) continue;
      std::function<void()> callback = std::move(node.mapped().second);
      mu_.Unlock();
      callback();
      callback = nullptr;
      mu_.Lock();
    }
  }
}

}  // namespace mp::server
