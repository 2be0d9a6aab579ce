// The robust, process-shared mutex behind mp::Lock, mp::RLock and the lock
// of a synchronized Value or Array. A pthread mutex with
// PTHREAD_PROCESS_SHARED and PTHREAD_MUTEX_ROBUST: when its holder dies
// (even by SIGKILL) the kernel marks it, and the next locker gets
// EOWNERDEAD, makes it consistent and reports previous_owner_died.
#ifndef MP_SHARED_ROBUST_LOCK_H_
#define MP_SHARED_ROBUST_LOCK_H_

#include <pthread.h>

#include <cstdint>

#include "mp/sync_proxy.h"
#include "shared/futex.h"
#include "shared/segment.h"

namespace mp::internal {

struct RobustLockState {
  pthread_mutex_t mutex;
  uint32_t recursive;
  uint32_t count;   // levels the owner holds (1 for a Lock)
  uint64_t tokens;  // fencing tokens handed out
};
static_assert(sizeof(RobustLockState) <= kLockAreaSize);

void InitRobustLock(void* state, bool recursive);
// A bare robust mutex (the internal one of Condition and Barrier).
void InitRobustMutex(pthread_mutex_t* mutex);

enum class LockOutcome { kAcquired, kOwnerDied, kBusy };
// Locks `mutex` by `deadline` (already expired: a try).
LockOutcome LockMutex(pthread_mutex_t* mutex, const Deadline& deadline);
// Whether the calling thread holds `mutex` (the futex word names its tid;
// after its owner died the kernel clears the tid).
bool HeldByMe(const pthread_mutex_t* mutex);

AcquireResult AcquireRobust(RobustLockState* state, bool blocking,
                            const Timeout& timeout);
// RuntimeError unless the calling thread holds it.
void ReleaseRobust(RobustLockState* state);
// For Condition::wait: releases every level, returns how many; and back.
uint32_t ReleaseAllRobust(RobustLockState* state);
void RestoreRobust(RobustLockState* state, uint32_t levels);

}  // namespace mp::internal

#endif  // MP_SHARED_ROBUST_LOCK_H_
