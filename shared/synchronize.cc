#include "mp/synchronize.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <new>
#include <string>

#include "common/fd_ref.h"
#include "mp/errors.h"
#include "shared/futex.h"
#include "shared/robust_lock.h"
#include "shared/segment.h"

namespace mp {
namespace internal {
namespace {

// A Semaphore: lock-free; `count` is the futex word.
struct SemaphoreState {
  std::atomic<uint32_t> count;
  std::atomic<uint32_t> waiters;
  uint32_t max_value;  // BoundedSemaphore: the initial value; else UINT32_MAX
};

struct EventState {
  std::atomic<uint32_t> flag;
  std::atomic<uint32_t> seq;  // the futex word: bumped by set()
};

// A Condition's own state, beside its lock (in another segment).
struct ConditionState {
  pthread_mutex_t mutex;      // guards waiters and signals
  uint32_t waiters;           // registered and not yet woken
  uint32_t signals;           // wakeups handed out, not yet taken
  std::atomic<uint32_t> seq;  // the futex word: bumped by notify
};

struct BarrierState {
  pthread_mutex_t mutex;  // guards the rest but seq
  uint32_t parties;
  uint32_t count;       // parties waiting in this generation
  uint32_t generation;  // bumped when the barrier fills or is reset
  uint32_t reset_mark;  // generation + 1 of the last reset with waiters
  uint32_t broken;
  int64_t default_timeout_ns;  // -1: none
  std::atomic<uint32_t> seq;   // the futex word: bumped on any change
};

template <class State>
std::shared_ptr<Segment> CreateStateSegment(SegmentKind kind) {
  auto segment = Segment::Create(kind, sizeof(State), 0, 0, 0, 0);
  new (segment->payload()) State{};
  return segment;
}

template <class State>
State* StateOf(const std::shared_ptr<Segment>& segment) {
  return reinterpret_cast<State*>(segment->payload());
}

void CheckSize(const std::shared_ptr<Segment>& segment, size_t size) {
  if (segment->header().payload_size < size) {
    throw ValueError("shared object too small for its kind");
  }
}

// The Object of a synchronisation object: its segment, whose header says
// its kind.
std::shared_ptr<Segment> FromObject(const Object& value, SegmentKind kind,
                                    size_t state_size, const char* what) {
  auto segment = SegmentFromObject(value, kind, 0, what);
  CheckSize(segment, state_size);
  return segment;
}

// Locks a Condition's or Barrier's internal mutex. Its holders never block
// while holding it, so a dead holder only interrupted a few stores.
bool LockInternal(pthread_mutex_t* mutex) {
  return LockMutex(mutex, Deadline{}) == LockOutcome::kOwnerDied;
}

}  // namespace

// ---- Lock, RLock ----

RobustLock::RobustLock(SegmentKind kind) {
  segment_ = Segment::Create(kind, kLockAreaSize, kHasLock, 0, 0, 0);
  InitRobustLock(segment_->payload(), kind == SegmentKind::kRLock);
  state_ = segment_->payload();
}

RobustLock::RobustLock(AdoptSegment, std::shared_ptr<Segment> segment)
    : segment_(std::move(segment)) {
  if (!segment_ || !SegmentHasLock(*segment_)) {
    throw TypeError("this shared object has no lock");
  }
  CheckSize(segment_, kLockAreaSize);
  state_ = segment_->payload();
}

AcquireResult RobustLock::acquire_ex(bool blocking, Timeout timeout) const {
  return AcquireRobust(static_cast<RobustLockState*>(state_), blocking,
                       timeout);
}

void RobustLock::release() const {
  ReleaseRobust(static_cast<RobustLockState*>(state_));
}

bool RobustLock::is_owned() const {
  return HeldByMe(static_cast<RobustLockState*>(state_));
}

}  // namespace internal

using internal::AdoptSegment;
using internal::Segment;
using internal::SegmentKind;

Lock::Lock() : RobustLock(SegmentKind::kLock) {}
RLock::RLock() : RobustLock(SegmentKind::kRLock) {}

// ---- Semaphore, BoundedSemaphore ----

Semaphore::Semaphore(int64_t value) : Semaphore(value, false) {}

Semaphore::Semaphore(int64_t value, bool bounded) {
  if (value < 0) throw ValueError("semaphore initial value must be >= 0");
  if (value > INT32_MAX) throw ValueError("semaphore initial value too large");
  segment_ = internal::CreateStateSegment<internal::SemaphoreState>(
      bounded ? SegmentKind::kBoundedSemaphore : SegmentKind::kSemaphore);
  auto* s = internal::StateOf<internal::SemaphoreState>(segment_);
  s->count = static_cast<uint32_t>(value);
  s->max_value = bounded ? static_cast<uint32_t>(value) : UINT32_MAX;
}

bool Semaphore::acquire(bool blocking, Timeout timeout) const {
  auto* s = internal::StateOf<internal::SemaphoreState>(segment_);
  const internal::Deadline deadline =
      blocking ? internal::Deadline::After(timeout) : internal::Deadline::Now();
  for (;;) {
    uint32_t c = s->count.load();
    while (c > 0) {
      if (s->count.compare_exchange_weak(c, c - 1)) return true;
    }
    if (deadline.expired()) return false;
    // Registered before the last look at the count: a release either sees
    // the waiter or changes the count the futex checks.
    s->waiters.fetch_add(1);
    bool in_time = s->count.load() > 0 || FutexWait(&s->count, 0, deadline);
    s->waiters.fetch_sub(1);
    if (!in_time && s->count.load() == 0) return false;
  }
}

void Semaphore::release() const {
  auto* s = internal::StateOf<internal::SemaphoreState>(segment_);
  uint32_t c = s->count.load();
  do {
    if (c >= s->max_value) {
      throw ValueError(s->max_value == UINT32_MAX
                           ? "semaphore value too large"
                           : "semaphore or lock released too many times");
    }
  } while (!s->count.compare_exchange_weak(c, c + 1));
  if (s->waiters.load() > 0) internal::FutexWake(&s->count, 1);
}

int64_t Semaphore::get_value() const {
  return internal::StateOf<internal::SemaphoreState>(segment_)->count.load();
}

// ---- Event ----

Event::Event()
    : segment_(internal::CreateStateSegment<internal::EventState>(
          SegmentKind::kEvent)) {}

bool Event::is_set() const {
  return internal::StateOf<internal::EventState>(segment_)->flag.load() != 0;
}

void Event::set() const {
  auto* s = internal::StateOf<internal::EventState>(segment_);
  s->flag.store(1);
  s->seq.fetch_add(1);
  internal::FutexWake(&s->seq, INT_MAX);
}

void Event::clear() const {
  internal::StateOf<internal::EventState>(segment_)->flag.store(0);
}

bool Event::wait(Timeout timeout) const {
  auto* s = internal::StateOf<internal::EventState>(segment_);
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  for (;;) {
    if (s->flag.load()) return true;
    const uint32_t seq = s->seq.load();
    if (s->flag.load()) return true;
    if (!internal::FutexWait(&s->seq, seq, deadline)) {
      return s->flag.load() != 0;
    }
  }
}

// ---- Condition ----

Condition::Condition()
    : segment_(internal::CreateStateSegment<internal::ConditionState>(
          SegmentKind::kCondition)),
      lock_(AdoptSegment{}, RLock().segment()) {
  internal::InitRobustMutex(
      &internal::StateOf<internal::ConditionState>(segment_)->mutex);
}

Condition::Condition(const Lock& lock)
    : segment_(internal::CreateStateSegment<internal::ConditionState>(
          SegmentKind::kCondition)),
      lock_(AdoptSegment{}, lock.segment()) {
  internal::InitRobustMutex(
      &internal::StateOf<internal::ConditionState>(segment_)->mutex);
}

Condition::Condition(const RLock& lock)
    : segment_(internal::CreateStateSegment<internal::ConditionState>(
          SegmentKind::kCondition)),
      lock_(AdoptSegment{}, lock.segment()) {
  internal::InitRobustMutex(
      &internal::StateOf<internal::ConditionState>(segment_)->mutex);
}

Condition::Condition(AdoptSegment, std::shared_ptr<Segment> s,
                     std::shared_ptr<Segment> lock_segment)
    : segment_(std::move(s)), lock_(AdoptSegment{}, std::move(lock_segment)) {}

bool Condition::wait(Timeout timeout) const {
  auto* s = internal::StateOf<internal::ConditionState>(segment_);
  auto* lock = static_cast<internal::RobustLockState*>(lock_.state());
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  internal::LockInternal(&s->mutex);
  uint32_t levels = 0;
  try {
    levels = internal::ReleaseAllRobust(lock);
  } catch (...) {
    pthread_mutex_unlock(&s->mutex);
    throw;
  }
  ++s->waiters;
  bool woken = false;
  for (;;) {
    if (s->signals > 0) {
      --s->signals;
      woken = true;
      break;
    }
    const uint32_t seq = s->seq.load();
    pthread_mutex_unlock(&s->mutex);
    const bool in_time = internal::FutexWait(&s->seq, seq, deadline);
    internal::LockInternal(&s->mutex);
    if (!in_time) {
      if (s->signals > 0) {
        --s->signals;
        woken = true;
      }
      break;
    }
  }
  --s->waiters;
  pthread_mutex_unlock(&s->mutex);
  internal::RestoreRobust(lock, levels);
  return woken;
}

bool Condition::wait_for(const std::function<bool()>& predicate,
                         Timeout timeout) const {
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  bool result = predicate();
  while (!result) {
    if (deadline.expired()) break;
    Timeout left;
    if (!deadline.forever()) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      const timespec* at = deadline.at();
      left = std::chrono::duration<double>(
          static_cast<double>(at->tv_sec - now.tv_sec) +
          static_cast<double>(at->tv_nsec - now.tv_nsec) * 1e-9);
    }
    wait(left);
    result = predicate();
  }
  return result;
}

void Condition::notify(int64_t n) const {
  if (!lock_.is_owned()) {
    throw RuntimeError("cannot notify on un-acquired lock");
  }
  if (n <= 0) return;
  auto* s = internal::StateOf<internal::ConditionState>(segment_);
  internal::LockInternal(&s->mutex);
  const uint32_t idle = s->waiters - std::min(s->waiters, s->signals);
  const auto k =
      static_cast<uint32_t>(std::min<int64_t>(n, static_cast<int64_t>(idle)));
  if (k > 0) {
    s->signals += k;
    s->seq.fetch_add(1);
    internal::FutexWake(&s->seq, static_cast<int>(k));
  }
  pthread_mutex_unlock(&s->mutex);
}

void Condition::notify_all() const { notify(INT32_MAX); }

// ---- Barrier ----

Barrier::Barrier(int64_t parties, Timeout timeout) {
  if (parties < 1 || parties > INT32_MAX) {
    throw ValueError("parties must be >= 1");
  }
  int64_t default_ns = -1;
  if (timeout) {
    if (std::isnan(timeout->count())) throw ValueError("timeout is NaN");
    default_ns =
        static_cast<int64_t>(std::clamp(timeout->count(), 0.0, 9e9) * 1e9);
  }
  segment_ = internal::CreateStateSegment<internal::BarrierState>(
      SegmentKind::kBarrier);
  auto* s = internal::StateOf<internal::BarrierState>(segment_);
  internal::InitRobustMutex(&s->mutex);
  s->parties = static_cast<uint32_t>(parties);
  s->default_timeout_ns = default_ns;
}

int64_t Barrier::wait(Timeout timeout) const {
  auto* s = internal::StateOf<internal::BarrierState>(segment_);
  if (!timeout && s->default_timeout_ns >= 0) {
    timeout = std::chrono::duration<double>(
        static_cast<double>(s->default_timeout_ns) * 1e-9);
  }
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  auto wake_all = [s] {
    s->seq.fetch_add(1);
    internal::FutexWake(&s->seq, INT_MAX);
  };
  if (internal::LockInternal(&s->mutex)) {
    s->broken = 1;  // a party died mid-update
    wake_all();
  }
  if (s->broken) {
    pthread_mutex_unlock(&s->mutex);
    throw BrokenBarrierError("the barrier is broken");
  }
  const uint32_t generation = s->generation;
  const int64_t index = s->count++;
  if (s->count == s->parties) {
    s->count = 0;
    ++s->generation;
    wake_all();
    pthread_mutex_unlock(&s->mutex);
    return index;
  }
  for (;;) {
    const uint32_t seq = s->seq.load();
    pthread_mutex_unlock(&s->mutex);
    const bool in_time = internal::FutexWait(&s->seq, seq, deadline);
    internal::LockInternal(&s->mutex);
    if (s->generation != generation) {
      const bool reset = s->reset_mark == generation + 1;
      pthread_mutex_unlock(&s->mutex);
      if (reset) throw BrokenBarrierError("the barrier was reset");
      return index;
    }
    if (s->broken || !in_time) {
      if (!s->broken) {
        s->broken = 1;
        wake_all();
      }
      --s->count;
      pthread_mutex_unlock(&s->mutex);
      throw BrokenBarrierError(in_time ? "the barrier is broken"
                                       : "the barrier timed out");
    }
  }
}

void Barrier::abort() const {
  auto* s = internal::StateOf<internal::BarrierState>(segment_);
  internal::LockInternal(&s->mutex);
  s->broken = 1;
  s->seq.fetch_add(1);
  internal::FutexWake(&s->seq, INT_MAX);
  pthread_mutex_unlock(&s->mutex);
}

void Barrier::reset() const {
  auto* s = internal::StateOf<internal::BarrierState>(segment_);
  internal::LockInternal(&s->mutex);
  if (s->count > 0 && !s->broken) {
    s->reset_mark = s->generation + 1;
    ++s->generation;
  } else if (s->count > 0) {
    // Broken with parties still leaving: they raise anyway; a new
    // generation starts now.
    ++s->generation;
    s->reset_mark = s->generation;  // matches no waiter's generation + 1
  }
  s->count = 0;
  s->broken = 0;
  s->seq.fetch_add(1);
  internal::FutexWake(&s->seq, INT_MAX);
  pthread_mutex_unlock(&s->mutex);
}

int64_t Barrier::parties() const {
  return internal::StateOf<internal::BarrierState>(segment_)->parties;
}

int64_t Barrier::n_waiting() const {
  auto* s = internal::StateOf<internal::BarrierState>(segment_);
  internal::LockInternal(&s->mutex);
  const int64_t n = s->broken ? 0 : s->count;
  pthread_mutex_unlock(&s->mutex);
  return n;
}

bool Barrier::broken() const {
  return __atomic_load_n(
             &internal::StateOf<internal::BarrierState>(segment_)->broken,
             __ATOMIC_ACQUIRE) != 0;
}

// ---- conversions ----

namespace {
template <class T>
void FromSync(const Object& object, T& out, SegmentKind kind, size_t size,
              const char* what) {
  out = T(AdoptSegment{}, internal::FromObject(object, kind, size, what));
}
}  // namespace

Object to_object(const Lock& lock) {
  return internal::SegmentToObject(lock.segment());
}
void from_object(const Object& object, Lock& lock) {
  FromSync(object, lock, SegmentKind::kLock, internal::kLockAreaSize,
           "mp::Lock");
}
Object to_object(const RLock& lock) {
  return internal::SegmentToObject(lock.segment());
}
void from_object(const Object& object, RLock& lock) {
  // A synchronized Value's or Array's get_lock() is an RLock too.
  auto segment = internal::AnySegmentFromObject(object, "mp::RLock");
  const SegmentKind kind = segment->kind();
  if (kind != SegmentKind::kRLock && kind != SegmentKind::kValue &&
      kind != SegmentKind::kArray) {
    throw TypeError("expected mp::RLock, got another shared object");
  }
  lock = RLock(AdoptSegment{}, std::move(segment));
}
Object to_object(const Semaphore& semaphore) {
  return internal::SegmentToObject(semaphore.segment());
}
void from_object(const Object& object, Semaphore& semaphore) {
  FromSync(object, semaphore, SegmentKind::kSemaphore,
           sizeof(internal::SemaphoreState), "mp::Semaphore");
}
Object to_object(const BoundedSemaphore& semaphore) {
  return internal::SegmentToObject(semaphore.segment());
}
void from_object(const Object& object, BoundedSemaphore& semaphore) {
  FromSync(object, semaphore, SegmentKind::kBoundedSemaphore,
           sizeof(internal::SemaphoreState), "mp::BoundedSemaphore");
}
Object to_object(const Event& event) {
  return internal::SegmentToObject(event.segment());
}
void from_object(const Object& object, Event& event) {
  FromSync(object, event, SegmentKind::kEvent, sizeof(internal::EventState),
           "mp::Event");
}
Object to_object(const Condition& condition) {
  return Object::tuple({internal::SegmentToObject(condition.segment()),
                        internal::SegmentToObject(condition.lock_segment())});
}
void from_object(const Object& object, Condition& condition) {
  if (!object.is_tuple() || object.as_list().size() != 2) {
    throw TypeError(std::string("expected mp::Condition, got ") +
                    object.type_name());
  }
  const auto& items = object.as_list();
  auto segment =
      internal::FromObject(items[0], SegmentKind::kCondition,
                           sizeof(internal::ConditionState), "mp::Condition");
  auto lock = internal::AnySegmentFromObject(items[1], "mp::Condition's lock");
  condition = Condition(AdoptSegment{}, std::move(segment), std::move(lock));
}
Object to_object(const Barrier& barrier) {
  return internal::SegmentToObject(barrier.segment());
}
void from_object(const Object& object, Barrier& barrier) {
  FromSync(object, barrier, SegmentKind::kBarrier,
           sizeof(internal::BarrierState), "mp::Barrier");
}

}  // namespace mp
