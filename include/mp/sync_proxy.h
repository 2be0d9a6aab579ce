// Proxies for the synchronisation types: Lock, RLock, Semaphore,
// BoundedSemaphore, Condition, Event, Barrier.
//
// Blocking calls are parked on the server, so waiting costs no server
// thread; every one takes a Timeout. Locks are held by the calling
// process's session: if the process dies, the server gives its permits
// back within moments, and the next acquire_ex() reports
// previous_owner_died (like EOWNERDEAD for robust mutexes).
//
// lock()/unlock()/try_lock() make these usable with std::lock_guard,
// std::unique_lock and std::scoped_lock.
//
// Thread safety: any number of threads and processes may use one object at
// once. Ownership follows Python: a Lock or Semaphore permit belongs to the
// process's session (any of its threads may release it), an RLock and a
// Condition's lock to the acquiring thread. What blocks: acquire, wait,
// and lock(); each for at most its timeout (none: until granted). release,
// notify, set, clear, abort, reset and the queries are one round trip.
#ifndef MP_SYNC_PROXY_H_
#define MP_SYNC_PROXY_H_

#include <cstdint>
#include <functional>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

struct AcquireResult {
  bool acquired = false;
  // The previous holder's session ended (its process died) while holding
  // it; whatever it protected may be inconsistent.
  bool previous_owner_died = false;
  // Strictly greater than the token of every acquire of this lock before
  // it, by any process (an RLock's re-entry keeps its first level's); 0
  // when not acquired. Hand it to whatever the lock guards, which refuses
  // a write carrying a token older than one it has seen: a holder that
  // lost the lock (its process paused past the server's lease timeout)
  // cannot overwrite its successor's work.
  uint64_t fencing_token = 0;
  explicit operator bool() const { return acquired; }
};

// The common surface of Lock, RLock, Semaphore and BoundedSemaphore.
class AcquirerProxy : public BaseProxy {
 public:
  using BaseProxy::BaseProxy;

  // False when not blocking and unavailable, or on timeout.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) const {
    return acquire_ex(blocking, timeout).acquired;
  }
  AcquireResult acquire_ex(bool blocking = true,
                           Timeout timeout = std::nullopt) const;
  // acquire(10s): Python's acquire(timeout=10), blocking.
  bool acquire(Timeout timeout) const { return acquire(true, timeout); }
  AcquireResult acquire_ex(Timeout timeout) const {
    return acquire_ex(true, timeout);
  }
  // RuntimeError: releasing an unheld Lock or another thread's RLock;
  // ValueError: a BoundedSemaphore released above its initial value.
  void release() const;

  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return acquire(false); }

  // Acquires parked on it right now (for monitoring and tests).
  int64_t n_waiting() const;

 protected:
  AcquirerProxy() = default;
};

class LockProxy : public AcquirerProxy {
 public:
  LockProxy() = default;
  using AcquirerProxy::AcquirerProxy;
};
// Reentrant; owned by the acquiring thread of the acquiring process.
class RLockProxy : public AcquirerProxy {
 public:
  RLockProxy() = default;
  using AcquirerProxy::AcquirerProxy;
};
class SemaphoreProxy : public AcquirerProxy {
 public:
  SemaphoreProxy() = default;
  using AcquirerProxy::AcquirerProxy;
};
class BoundedSemaphoreProxy : public AcquirerProxy {
 public:
  BoundedSemaphoreProxy() = default;
  using AcquirerProxy::AcquirerProxy;
};

class ConditionProxy : public BaseProxy {
 public:
  ConditionProxy() = default;
  using BaseProxy::BaseProxy;

  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) const;
  bool acquire(Timeout timeout) const { return acquire(true, timeout); }
  void release() const;
  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return acquire(false); }

  // Releases the lock, waits for a notify (or the timeout), reacquires.
  // False on timeout. RuntimeError if the caller does not hold the lock.
  bool wait(Timeout timeout = std::nullopt) const;
  // Waits until `predicate()` holds; returns its last value.
  bool wait_for(const std::function<bool()>& predicate,
                Timeout timeout = std::nullopt) const;
  void notify(int64_t n = 1) const;
  void notify_all() const;
};

class EventProxy : public BaseProxy {
 public:
  EventProxy() = default;
  using BaseProxy::BaseProxy;

  bool is_set() const;
  void set() const;
  void clear() const;
  // True once set; false on timeout.
  bool wait(Timeout timeout = std::nullopt) const;
  // Waits parked on it right now (for monitoring and tests).
  int64_t n_waiting() const;
};

class BarrierProxy : public BaseProxy {
 public:
  BarrierProxy() = default;
  using BaseProxy::BaseProxy;

  // A distinct index in 0..parties-1. BrokenBarrierError if the barrier is
  // or becomes broken (abort, a timeout, a waiting party's process died).
  int64_t wait(Timeout timeout = std::nullopt) const;
  void abort() const;
  void reset() const;
  int64_t parties() const;
  int64_t n_waiting() const;
  bool broken() const;
};

#define MP_PROXY_CONVERSIONS_(Proxy)    \
  Object to_object(const Proxy& proxy); \
  void from_object(const Object& object, Proxy& proxy)
MP_PROXY_CONVERSIONS_(LockProxy);
MP_PROXY_CONVERSIONS_(RLockProxy);
MP_PROXY_CONVERSIONS_(SemaphoreProxy);
MP_PROXY_CONVERSIONS_(BoundedSemaphoreProxy);
MP_PROXY_CONVERSIONS_(ConditionProxy);
MP_PROXY_CONVERSIONS_(EventProxy);
MP_PROXY_CONVERSIONS_(BarrierProxy);

}  // namespace mp

#endif  // MP_SYNC_PROXY_H_
