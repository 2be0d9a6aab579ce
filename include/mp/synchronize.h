// Server-less synchronisation objects, as Python's top-level
// multiprocessing.Lock, RLock, Semaphore, BoundedSemaphore, Condition,
// Event and Barrier: they live in shared memory (an anonymous memfd
// segment), with no manager, and cost a few atomic operations when
// uncontended.
//
// Handles: each object is a cheap-to-copy handle; copies (in this process,
// in fork children, or passed to spawn/forkserver children as Process
// arguments) all refer to the same object. The memory is freed when the
// last handle in any process is gone, also after SIGKILL.
//
// Blocking: every wait takes a Timeout (none: wait forever; negative: 0).
//
// Death of a holder: Lock and RLock are robust - a holder killed even by
// SIGKILL, or a holding thread that exits, never leaves the others blocked:
// a waiter notices within ~50 ms (or at once for a try or an expiring
// timeout) and its acquire_ex() reports previous_owner_died, as the
// manager's locks do. Semaphore permits
// are counts, as in Python: a dead process's permits are not given back.
// A Condition waiter that dies may absorb one notify; a Barrier party that
// dies is not noticed (use a timeout).
//
// Ownership: Lock and RLock are owned by the acquiring thread; release by
// another thread or process raises RuntimeError (Python's Lock allows it;
// a robust lock cannot: its owner is who it checks for death). Re-acquiring a Lock one holds blocks until the
// timeout (RuntimeError with no timeout, instead of Python's hang).
//
// Thread safety: every method may be called from any thread.
#ifndef MP_SYNCHRONIZE_H_
#define MP_SYNCHRONIZE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "mp/detail/shared_segment.h"
#include "mp/object.h"
#include "mp/proxy.h"
#include "mp/sync_proxy.h"

namespace mp {

namespace internal {
// Marks the constructors that wrap an existing segment (conversions, a
// Value's get_lock()).
struct AdoptSegment {};

// What Lock and RLock share.
class RobustLock {
 public:
  // False when not blocking and unavailable, or on timeout.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) const {
    return acquire_ex(blocking, timeout).acquired;
  }
  AcquireResult acquire_ex(bool blocking = true,
                           Timeout timeout = std::nullopt) const;
  // RuntimeError unless the calling thread holds it.
  void release() const;
  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return acquire(false); }
  // Whether the calling thread holds it.
  bool is_owned() const;

  const std::shared_ptr<Segment>& segment() const { return segment_; }

 protected:
  RobustLock(SegmentKind kind);
  RobustLock(AdoptSegment, std::shared_ptr<Segment> segment);

  std::shared_ptr<Segment> segment_;
  void* state_ = nullptr;
};
}  // namespace internal

class Lock : public internal::RobustLock {
 public:
  Lock();
  Lock(internal::AdoptSegment, std::shared_ptr<internal::Segment> segment)
      : RobustLock(internal::AdoptSegment{}, std::move(segment)) {}
};

// Reentrant: the owning thread may acquire it again; it is released when
// released as many times.
class RLock : public internal::RobustLock {
 public:
  RLock();
  RLock(internal::AdoptSegment, std::shared_ptr<internal::Segment> segment)
      : RobustLock(internal::AdoptSegment{}, std::move(segment)) {}
};

class Semaphore {
 public:
  // ValueError if value < 0 or above 2^31 - 1.
  explicit Semaphore(int64_t value = 1);
  Semaphore(internal::AdoptSegment, std::shared_ptr<internal::Segment> s)
      : segment_(std::move(s)) {}

  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) const;
  // previous_owner_died is always false: permits are counts.
  AcquireResult acquire_ex(bool blocking = true,
                           Timeout timeout = std::nullopt) const {
    return {acquire(blocking, timeout), false, 0};
  }
  // BoundedSemaphore: ValueError above the initial value.
  void release() const;
  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return acquire(false); }
  int64_t get_value() const;

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }

 protected:
  Semaphore(int64_t value, bool bounded);
  std::shared_ptr<internal::Segment> segment_;
};

class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int64_t value = 1) : Semaphore(value, true) {}
  BoundedSemaphore(internal::AdoptSegment, std::shared_ptr<internal::Segment> s)
      : Semaphore(internal::AdoptSegment{}, std::move(s)) {}
};

class Event {
 public:
  Event();
  Event(internal::AdoptSegment, std::shared_ptr<internal::Segment> s)
      : segment_(std::move(s)) {}

  bool is_set() const;
  void set() const;
  void clear() const;
  // True once set; false on timeout.
  bool wait(Timeout timeout = std::nullopt) const;

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }

 private:
  std::shared_ptr<internal::Segment> segment_;
};

class Condition {
 public:
  Condition();  // with a new RLock
  explicit Condition(const Lock& lock);
  explicit Condition(const RLock& lock);
  Condition(internal::AdoptSegment, std::shared_ptr<internal::Segment> s,
            std::shared_ptr<internal::Segment> lock_segment);

  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) const {
    return lock_.acquire(blocking, timeout);
  }
  void release() const { lock_.release(); }
  void lock() const { acquire(); }
  void unlock() const { release(); }
  bool try_lock() const { return acquire(false); }

  // Releases the lock (every level of an RLock), waits for a notify or the
  // timeout, reacquires. False on timeout. RuntimeError if the calling
  // thread does not hold the lock.
  bool wait(Timeout timeout = std::nullopt) const;
  // Waits until `predicate()` holds (checked with the lock held); returns
  // its last value.
  bool wait_for(const std::function<bool()>& predicate,
                Timeout timeout = std::nullopt) const;
  // Wakes up to n waiters. RuntimeError if the caller does not hold the
  // lock.
  void notify(int64_t n = 1) const;
  void notify_all() const;

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }
  const std::shared_ptr<internal::Segment>& lock_segment() const {
    return lock_.segment();
  }

 private:
  // Lock and RLock share this interface; the lock's kind is in its segment.
  class AnyLock : public internal::RobustLock {
   public:
    AnyLock(internal::AdoptSegment, std::shared_ptr<internal::Segment> s)
        : RobustLock(internal::AdoptSegment{}, std::move(s)) {}
    void* state() const { return state_; }
  };
  std::shared_ptr<internal::Segment> segment_;
  AnyLock lock_;
};

class Barrier {
 public:
  // ValueError unless parties >= 1. `timeout`: the default of wait().
  // (parties = 1 only so that conversions can default-construct one.)
  explicit Barrier(int64_t parties = 1, Timeout timeout = std::nullopt);
  Barrier(internal::AdoptSegment, std::shared_ptr<internal::Segment> s)
      : segment_(std::move(s)) {}

  // A distinct index in 0..parties-1. BrokenBarrierError if the barrier is
  // or becomes broken (abort, reset while waiting, a wait timing out).
  int64_t wait(Timeout timeout = std::nullopt) const;
  void abort() const;
  // Back to the initial state; parties waiting get BrokenBarrierError.
  void reset() const;
  int64_t parties() const;
  int64_t n_waiting() const;
  bool broken() const;

  const std::shared_ptr<internal::Segment>& segment() const { return segment_; }

 private:
  std::shared_ptr<internal::Segment> segment_;
};

// Process arguments (see mp/process.h): the child gets a handle to the
// same object under every start method.
Object to_object(const Lock& lock);
void from_object(const Object& object, Lock& lock);
Object to_object(const RLock& lock);
void from_object(const Object& object, RLock& lock);
Object to_object(const Semaphore& semaphore);
void from_object(const Object& object, Semaphore& semaphore);
Object to_object(const BoundedSemaphore& semaphore);
void from_object(const Object& object, BoundedSemaphore& semaphore);
Object to_object(const Event& event);
void from_object(const Object& object, Event& event);
Object to_object(const Condition& condition);
void from_object(const Object& object, Condition& condition);
Object to_object(const Barrier& barrier);
void from_object(const Object& object, Barrier& barrier);

}  // namespace mp

#endif  // MP_SYNCHRONIZE_H_
