// Parked calls of one object, keyed for cancellation by session and for
// timeouts by (session, call).
#ifndef MP_SERVER_WAITER_LIST_H_
#define MP_SERVER_WAITER_LIST_H_

#include <cstdint>
#include <list>
#include <memory>
#include <utility>

#include "server/op_context.h"
#include "server/timer_queue.h"

namespace mp::server {

// Not thread-safe: guarded by its object's mutex. `Extra` is per-waiter
// data (a Barrier index, a Queue's pending items).
template <class Extra = int>
class WaiterList {
 public:
  struct Waiter {
    Parked parked;
    Extra extra{};
  };

  explicit WaiterList(TimerQueue* timers) : timers_(timers) {}
  ~WaiterList() { Clear(); }

  // Adds a waiter parked on `owner`. At `deadline` (never for
  // InfiniteFuture) the timer thread calls owner.OnParkedTimeout(session,
  // call) if `owner` still lives: the one timeout path of every parked call.
  void Add(Parked parked, Extra extra, absl::Time deadline,
           ServerObject& owner) {
    if (deadline != absl::InfiniteFuture()) {
      std::weak_ptr<ServerObject> weak = owner.shared_from_this();
      parked.timer = timers_->Schedule(
          deadline,
          [weak, session = parked.session_id, call_id = parked.call_id] {
            if (auto self = weak.lock())
              self->OnParkedTimeout(session, call_id);
          });
    }
    waiters_.push_back(Waiter{std::move(parked), std::move(extra)});
  }

  bool empty() const { return waiters_.empty(); }
  // The sessions of the parked calls, in arrival order (for inspection).
  template <class Repeated>
  void AppendSessions(Repeated* out) const {
    for (const Waiter& w : waiters_) out->Add(w.parked.session_id);
  }
  size_t size() const { return waiters_.size(); }

  const Waiter& front() const { return waiters_.front(); }
  Waiter PopFront() {
    Waiter w = std::move(waiters_.front());
    waiters_.pop_front();
    if (w.parked.timer != 0) timers_->Cancel(w.parked.timer);
    return w;
  }

  // Removes the waiter for (session, call); false if it is gone already.
  // Leaves its timer alone (the caller is that timer, or cancels it).
  bool Take(uint64_t session, uint64_t call_id, Waiter* out) {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->parked.session_id == session && it->parked.call_id == call_id) {
        *out = std::move(*it);
        waiters_.erase(it);
        return true;
      }
    }
    return false;
  }

  // Removes and returns every waiter of `session`.
  std::list<Waiter> TakeSession(uint64_t session) {
    std::list<Waiter> out;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->parked.session_id == session) {
        if (it->parked.timer != 0) timers_->Cancel(it->parked.timer);
        out.splice(out.end(), waiters_, it++);
      } else {
        ++it;
      }
    }
    return out;
  }

  std::list<Waiter> TakeAll() {
    std::list<Waiter> out;
    out.swap(waiters_);
    for (Waiter& w : out) {
      if (w.parked.timer != 0) timers_->Cancel(w.parked.timer);
    }
    return out;
  }

  void Clear() { TakeAll(); }

  std::list<Waiter>& all() { return waiters_; }

 private:
  TimerQueue* timers_;
  std::list<Waiter> waiters_;
};

}  // namespace mp::server

#endif  // MP_SERVER_WAITER_LIST_H_
