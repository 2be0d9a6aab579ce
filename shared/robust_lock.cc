#include "shared/robust_lock.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
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

void InitRobustLock(void* memory, bool recursive) {
  auto* state = new (memory) RobustLockState{};
  state->recursive = recursive ? 1 : 0;
}

namespace {

constexpr uint64_t kTidMask = kLockWaiters - 1;

// What /proc/<tid>/stat says of a thread.
struct ThreadStat {
  enum { kGone, kAlive, kUnknown } status;
  uint64_t start_time;  // field 22, clock ticks since boot
};

ThreadStat ReadThreadStat(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return {errno == ENOENT || errno == ESRCH ? ThreadStat::kGone
                                              : ThreadStat::kUnknown,
            0};
  }
  char buf[1024];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf) - 1);
  } while (n < 0 && errno == EINTR);
  const int read_errno = errno;
  close(fd);
  if (n < 0) {
    return {read_errno == ESRCH ? ThreadStat::kGone : ThreadStat::kUnknown, 0};
  }
  buf[n] = '\0';
  // "tid (comm) S ppid ...": comm may hold spaces and parentheses, so the
  // fields are counted from the last ')'. Field 3 is the state, 22 the
  // start time.
  const char* p = std::strrchr(buf, ')');
  if (!p) return {ThreadStat::kUnknown, 0};
  ++p;
  char state = 0;
  uint64_t start = 0;
  for (int field = 3; field <= 22; ++field) {
    while (*p == ' ') ++p;
    if (!*p) return {ThreadStat::kUnknown, 0};
    if (field == 3) state = *p;
    if (field == 22) start = std::strtoull(p, nullptr, 10);
    while (*p && *p != ' ') ++p;
  }
  if (state == 'Z' || state == 'X' || state == 'x')
    return {ThreadStat::kGone, 0};
  return {ThreadStat::kAlive, start};
}

// The identity is read once per thread (an open+read of /proc, ~10 us); a
// fork child's one thread has a new tid, so the child drops the copy it
// inherited (only the forking thread exists there, so resetting its own
// thread_local is enough).
}  // namespace

__thread uint64_t self_identity_cache = 0;

uint64_t ReadSelfIdentity() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { self_identity_cache = 0; });
    return true;
  }();
  (void)registered;
  const auto tid = static_cast<uint64_t>(syscall(SYS_gettid));
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/task/%llu/stat",
                static_cast<unsigned long long>(tid));
  const ThreadStat stat = ReadThreadStat(path);
  if (stat.status != ThreadStat::kAlive) {
    throw RuntimeError(std::string("mp::Lock needs /proc: cannot read ") +
                       path);
  }
  self_identity_cache = (stat.start_time << 32) | (tid & kTidMask);
  return self_identity_cache;
}

namespace {

// The futex is the word's low half (tid and waiters bit).
std::atomic<uint32_t>* FutexHalf(RobustLockState* state) {
  static_assert(std::endian::native == std::endian::little ||
                std::endian::native == std::endian::big);
  auto* bytes = reinterpret_cast<char*>(&state->word);
  if constexpr (std::endian::native == std::endian::big) bytes += 4;
  return reinterpret_cast<std::atomic<uint32_t>*>(bytes);
}

AcquireResult Took(RobustLockState* state, bool owner_died) {
  state->count = 1;
  return {true, owner_died, ++state->tokens};
}

// Replaces a gone owner's identity by ours (keeping the waiters bit: others
// may sleep).
bool TakeOver(RobustLockState* state, uint64_t seen, uint64_t me) {
  return OwnerGone(seen & ~kLockWaiters) &&
         state->word.compare_exchange_strong(seen, me | kLockWaiters,
                                             std::memory_order_acquire,
                                             std::memory_order_relaxed);
}

[[gnu::noinline]] AcquireResult AcquireContended(RobustLockState* state,
                                                 uint64_t me,
                                                 const Deadline& deadline) {
  std::atomic<uint32_t>* futex = FutexHalf(state);
  for (;;) {
    uint64_t seen = state->word.load(std::memory_order_relaxed);
    if (seen == 0) {
      // A woken waiter cannot know whether others still sleep: it sets the
      // waiters bit, so its release wakes the next (Drepper's mutex 3).
      if (state->word.compare_exchange_weak(seen, me | kLockWaiters,
                                            std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
        return Took(state, false);
      }
      continue;
    }
    if (deadline.expired()) {
      // A try, or the timeout: one last look whether the owner is gone.
      if (TakeOver(state, seen, me)) return Took(state, true);
      if (state->word.load(std::memory_order_relaxed) == seen) return {};
      continue;  // it changed meanwhile: look again
    }
    if (!(seen & kLockWaiters)) {
      if (!state->word.compare_exchange_weak(seen, seen | kLockWaiters,
                                             std::memory_order_relaxed)) {
        continue;
      }
      seen |= kLockWaiters;
    }
    Deadline slice =
        Deadline::After(std::chrono::duration<double>(kLivenessSlice));
    if (!deadline.forever()) {
      const timespec* a = deadline.at();
      const timespec* b = slice.at();
      if (a->tv_sec < b->tv_sec ||
          (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec)) {
        slice = deadline;
      }
    }
    if (FutexWait(futex, static_cast<uint32_t>(seen), slice)) continue;
    // The slice ended with the lock still taken (by the same owner?).
    if (state->word.load(std::memory_order_relaxed) == seen &&
        TakeOver(state, seen, me)) {
      return Took(state, true);
    }
  }
}

}  // namespace

void WakeOneWaiter(RobustLockState* state) { FutexWake(FutexHalf(state), 1); }

void ThrowNotHeld(const char* what) { throw RuntimeError(what); }

bool OwnerGone(uint64_t identity) {
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%llu/stat",
                static_cast<unsigned long long>(identity & kTidMask));
  // /proc/<tid> exists for any thread of the pid namespace, listed or not.
  const ThreadStat stat = ReadThreadStat(path);
  switch (stat.status) {
    case ThreadStat::kGone:
      return true;
    case ThreadStat::kAlive:
      return static_cast<uint32_t>(stat.start_time) != (identity >> 32);
    case ThreadStat::kUnknown:
      break;
  }
  return false;  // cannot tell (EMFILE...): look again after the next slice
}

AcquireResult AcquireRobustSlow(RobustLockState* state, uint64_t me,
                                uint64_t seen, bool blocking,
                                const Timeout& timeout) {
  if ((seen & ~kLockWaiters) == me) {
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
  return AcquireContended(
      state, me, blocking ? Deadline::After(timeout) : Deadline::Now());
}

uint32_t ReleaseAllRobust(RobustLockState* state) {
  if (!HeldByMe(state)) {
    throw RuntimeError("cannot wait on un-acquired lock");
  }
  const uint32_t levels = state->count;
  state->count = 0;
  if (state->word.exchange(0, std::memory_order_release) & kLockWaiters) {
    WakeOneWaiter(state);
  }
  return levels;
}

void RestoreRobust(RobustLockState* state, uint32_t levels) {
  AcquireContended(state, SelfIdentity(), Deadline{});
  state->count = levels;
}

}  // namespace mp::internal
