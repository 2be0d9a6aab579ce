// ThreadSanitizer builds only (MP_SANITIZE=thread): tells TSan about
// absl::Mutex, absl::CondVar and absl::Notification.
//
// Debian's libabsl is built without -fsanitize=thread, so its Mutex carries
// none of the annotations it has in a TSan build of absl: TSan sees no
// happens-before edge between an Unlock and the next Lock, and would report
// every ABSL_GUARDED_BY member as a race. The linker routes our calls to
// these functions through the wrappers below (-Wl,--wrap=..., the list in
// tests/tsan/CMakeLists.txt), which add the edges: a release on the mutex's
// address before giving it up, an acquire after taking it. Condition
// functions are wrapped too (EvalTraced).
//
// The symbol names carry Debian's absl inline namespace (debian3); with
// another absl the link fails naming the missing __real_ symbol, rather
// than TSan silently checking nothing.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

namespace {
inline void Acquire(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
inline void Release(const void* p) { __tsan_release(const_cast<void*>(p)); }
// absl evaluates an Await or LockWhen condition holding the lock, but on
// whichever thread happens to hold it - often another thread, inside its
// Unlock - and gives the lock up inside the call, out of the wrappers'
// sight. So every evaluation is bracketed as a critical section of its own.
struct TracedCondition {
  const Condition* condition;
  Mutex* mu;
};
bool EvalTraced(void* arg) {
  auto* t = static_cast<TracedCondition*>(arg);
  Acquire(t->mu);
  const bool result = t->condition->Eval();
  Release(t->mu);
  return result;
}
}  // namespace

// Taking the lock: an acquire once held. Giving it up: a release first.
#define MP_LOCK(sym)             \
  void __real_##sym(Mutex*);     \
  void __wrap_##sym(Mutex* mu) { \
    __real_##sym(mu);            \
    Acquire(mu);                 \
  }
#define MP_TRY_LOCK(sym)              \
  bool __real_##sym(Mutex*);          \
  bool __wrap_##sym(Mutex* mu) {      \
    const bool ok = __real_##sym(mu); \
    if (ok) Acquire(mu);              \
    return ok;                        \
  }
#define MP_UNLOCK(sym)           \
  void __real_##sym(Mutex*);     \
  void __wrap_##sym(Mutex* mu) { \
    Release(mu);                 \
    __real_##sym(mu);            \
  }
extern "C" {

MP_LOCK(_ZN4absl7debian35Mutex4LockEv)
MP_LOCK(_ZN4absl7debian35Mutex10ReaderLockEv)
MP_TRY_LOCK(_ZN4absl7debian35Mutex7TryLockEv)
MP_TRY_LOCK(_ZN4absl7debian35Mutex13ReaderTryLockEv)
MP_UNLOCK(_ZN4absl7debian35Mutex6UnlockEv)
MP_UNLOCK(_ZN4absl7debian35Mutex12ReaderUnlockEv)

void __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex*,
                                                              const Condition&);
void __wrap__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(
    Mutex* mu, const Condition& c) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(mu, tc);
  Acquire(mu);
}
bool __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex*, const Condition&, Duration);
bool __wrap__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  const bool r =
      __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
          mu, tc, d);
  Acquire(mu);
  return r;
}
bool __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex*, const Condition&, Time);
bool __wrap__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  const bool r =
      __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
          mu, tc, t);
  Acquire(mu);
  return r;
}

// Await* and CondVar::Wait*: the lock is given up while waiting and held
// again on return.
void __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex*,
                                                           const Condition&);
void __wrap__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu,
                                                           const Condition& c) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  Release(mu);
  __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(mu, tc);
  Acquire(mu);
}
bool __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex*, const Condition&, Duration);
bool __wrap__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, Duration d) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  Release(mu);
  const bool r =
      __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
          mu, tc, d);
  Acquire(mu);
  return r;
}
bool __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex*, const Condition&, Time);
bool __wrap__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, Time t) {
  TracedCondition traced{&c, mu};
  const Condition tc(&EvalTraced, &traced);
  Release(mu);
  const bool r =
      __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
          mu, tc, t);
  Acquire(mu);
  return r;
}
void __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar*, Mutex*);
void __wrap__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  Release(mu);
  __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(cv, mu);
  Acquire(mu);
}
bool __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    CondVar*, Mutex*, Duration);
bool __wrap__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    CondVar* cv, Mutex* mu, Duration d) {
  Release(mu);
  const bool r =
      __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
          cv, mu, d);
  Acquire(mu);
  return r;
}
bool __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    CondVar*, Mutex*, Time);
bool __wrap__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    CondVar* cv, Mutex* mu, Time t) {
  Release(mu);
  const bool r =
      __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
          cv, mu, t);
  Acquire(mu);
  return r;
}

// Notification: Notify releases, a wait that saw it acquires.
void __real__ZN4absl7debian312Notification6NotifyEv(Notification*);
void __wrap__ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  Release(n);
  __real__ZN4absl7debian312Notification6NotifyEv(n);
}
void __real__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const Notification*);
void __wrap__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const Notification* n) {
  __real__ZNK4absl7debian312Notification19WaitForNotificationEv(n);
  Acquire(n);
}
bool __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification*, Duration);
bool __wrap__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, Duration d) {
  const bool r =
      __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
          n, d);
  if (r) Acquire(n);
  return r;
}

}  // extern "C"
