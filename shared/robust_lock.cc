#include "shared/robust_lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "mp/errors.h"

namespace mp::internal {

void InitRobustMutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    throw RuntimeError(std::string("pthread_mutex_init: ") + std::strerror(rc));
  }
}

void InitRobustLock(void* memory, bool recursive) {
  auto* state = new (memory) RobustLockState{};
  InitRobustMutex(&state->mutex);
  state->recursive = recursive ? 1 : 0;
}

namespace {

// gettid() is a system call (~50 ns); the tid is cached per thread, and a
// fork child (whose one thread has a new tid) drops the cache it inherited.
std::atomic<uint32_t> fork_generation{1};

uint32_t ThreadId() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  thread_local uint32_t generation = 0;
  thread_local uint32_t tid = 0;
  const uint32_t now = fork_generation.load(std::memory_order_relaxed);
  if (generation != now) {
    tid = static_cast<uint32_t>(syscall(SYS_gettid));
    generation = now;
  }
  return tid;
}

}  // namespace

bool HeldByMe(const pthread_mutex_t* mutex) {
  // glibc keeps the futex word (owner tid | flags) in __data.__lock; the
  // kernel's robust-list cleanup clears the tid when the owner dies, so a
  // recycled tid never inherits a dead owner's lock.
  const auto word = static_cast<uint32_t>(
      __atomic_load_n(&mutex->__data.__lock, __ATOMIC_ACQUIRE));
  return (word & FUTEX_TID_MASK) == ThreadId();
}

LockOutcome LockMutex(pthread_mutex_t* mutex, const Deadline& deadline) {
  int rc;
  if (deadline.forever()) {
    rc = pthread_mutex_lock(mutex);
  } else if (deadline.expired()) {
    rc = pthread_mutex_trylock(mutex);
  } else {
    rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, deadline.at());
  }
  switch (rc) {
    case 0:
      return LockOutcome::kAcquired;
    case EOWNERDEAD:
      pthread_mutex_consistent(mutex);
      return LockOutcome::kOwnerDied;
    case EBUSY:
    case ETIMEDOUT:
      return LockOutcome::kBusy;
    default:
      throw RuntimeError(std::string("cannot lock a shared lock: ") +
                         std::strerror(rc));
  }
}

AcquireResult AcquireRobust(RobustLockState* state, bool blocking,
                            const Timeout& timeout) {
  if (HeldByMe(&state->mutex)) {
    if (state->recursive) {
      ++state->count;
      return {true, false, state->tokens};
    }
    // A Lock is not reentrant: as with Python's, the thread would wait for
    // its own release, which cannot come (only the holder releases here).
    if (!blocking) return {};
    Deadline deadline = Deadline::After(timeout);
    if (deadline.forever()) {
      throw RuntimeError(
          "deadlock: this thread already holds the Lock (use an RLock)");
    }
    deadline.SleepUntil();
    return {};
  }
  const Deadline deadline =
      blocking ? Deadline::After(timeout) : Deadline::Now();
  const LockOutcome outcome = LockMutex(&state->mutex, deadline);
  if (outcome == LockOutcome::kBusy) return {};
  state->count = 1;
  return {true, outcome == LockOutcome::kOwnerDied, ++state->tokens};
}

void ReleaseRobust(RobustLockState* state) {
  if (!HeldByMe(&state->mutex)) {
    throw RuntimeError("cannot release un-acquired lock");
  }
  if (--state->count == 0) pthread_mutex_unlock(&state->mutex);
}

uint32_t ReleaseAllRobust(RobustLockState* state) {
  if (!HeldByMe(&state->mutex)) {
    throw RuntimeError("cannot wait on un-acquired lock");
  }
  const uint32_t levels = state->count;
  state->count = 0;
  pthread_mutex_unlock(&state->mutex);
  return levels;
}

void RestoreRobust(RobustLockState* state, uint32_t levels) {
  LockMutex(&state->mutex, Deadline{});
  state->count = levels;
  ++state->tokens;
}

}  // namespace mp::internal
