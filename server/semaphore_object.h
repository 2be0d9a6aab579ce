// Lock, RLock, Semaphore and BoundedSemaphore: counted permits with FIFO
// waiters parked on the object (no thread per waiter), whose holders are
// sessions - a session that ends gives back what it held, and the next
// acquirer learns that the previous owner died.
#ifndef MP_SERVER_SEMAPHORE_OBJECT_H_
#define MP_SERVER_SEMAPHORE_OBJECT_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"
#include "server/timer_queue.h"
#include "server/waiter_list.h"

namespace mp::server {

// Who holds a permit: a thread of a session (RLock ownership is per thread).
struct Holder {
  uint64_t session = 0;
  uint64_t thread = 0;
  friend bool operator==(const Holder& a, const Holder& b) {
    return a.session == b.session && a.thread == b.thread;
  }
};

// What an acquire that succeeded is told.
struct Grant {
  bool previous_owner_died = false;
  // Strictly greater than any before it on this object (an RLock's
  // re-entry keeps its first level's).
  uint64_t fencing_token = 0;
};

class SemaphoreObject : public ServerObject {
 public:
  using Granted = std::function<bool(const Grant&)>;

  // Create: Lock, RLock, or a (Bounded)Semaphore of initial value `size`.
  static ObjectMaker Prepare(CreateArgs& args);

  // `initial`: 1 for Lock and RLock.
  SemaphoreObject(v1::ObjectType type, uint64_t id, ObjectStore* store,
                  TimerQueue* timers, int64_t initial);

  void Apply(const v1::AcquirerOp& op, const OpContext& ctx, v1::Reply* reply);
  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session, uint64_t call_id) override;

  // For Condition. Acquires for `holder` (restoring an RLock's recursion
  // `count`), calling `granted` when it holds the lock; if `granted`
  // returns false (its session is gone) the permit is given back. Never
  // blocks the calling thread.
  void AcquireAsync(Holder holder, int64_t count, Granted granted);
  // Releases completely for `holder` (all RLock levels); returns the levels
  // released. Throws RuntimeError when `holder` does not hold it (RLock) or
  // it is not held (Lock).
  int64_t ReleaseAll(Holder holder);
  // Whether `holder` holds it (RLock), or anyone does (Lock).
  bool IsOwned(Holder holder) const;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  // A parked acquire: a client's call, or (call_id 0, never timing out) a
  // Condition's waiter taking its lock back.
  struct Acquirer {
    Holder holder;
    int64_t count = 1;  // RLock levels to take
    Granted granted;
  };

  bool IsRLock() const { return type() == v1::RLOCK; }
  bool AvailableLocked(const Holder& h) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a permit for `h` (or RLock levels): a new fencing token, unless
  // an RLock's holder re-enters; clears owner_died_.
  Grant TakeLocked(const Holder& h, int64_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseLocked(const Holder& h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands free permits to waiters in FIFO order.
  void GrantLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a permit for `h` and tells `granted`; gives it back if `granted`
  // reports that its session has ended.
  void GrantToLocked(const Holder& h, int64_t count, const Granted& granted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t initial_;
  mutable absl::Mutex mu_;
  int64_t value_ ABSL_GUARDED_BY(mu_);
  // Permits taken per session, given back when the session ends.
  absl::flat_hash_map<uint64_t, int64_t> held_by_session_ ABSL_GUARDED_BY(mu_);
  std::optional<Holder> rlock_owner_ ABSL_GUARDED_BY(mu_);
  int64_t rlock_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool owner_died_ ABSL_GUARDED_BY(mu_) = false;
  // The last fencing token handed out; 0 before the first acquire.
  uint64_t fencing_token_ ABSL_GUARDED_BY(mu_) = 0;
  WaiterList<Acquirer> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_SEMAPHORE_OBJECT_H_
