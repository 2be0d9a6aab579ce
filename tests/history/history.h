// A Jepsen-style history: every operation client processes performed on
// the manager's objects, with the time it was invoked and the time it
// completed, and the checkers that decide whether the history is one a
// correct server could have produced.
//
// Operations are recorded by the client processes themselves into a
// MAP_SHARED log (see OpLog): a slot is claimed and filled at invoke, and
// completed after the call returns. A client SIGKILLed in between leaves
// its operation kPending: indeterminate, it may or may not have taken
// effect, which is exactly what the checkers must allow for (Jepsen's
// "info" operations). Times are CLOCK_MONOTONIC, which is one clock for
// every process on the host, so "A completed before B was invoked" is
// meaningful across processes.
#ifndef MP_TESTS_HISTORY_HISTORY_H_
#define MP_TESTS_HISTORY_HISTORY_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace mp::history {

enum class OpKind : int32_t {
  kAcquire,          // Lock.acquire_ex: result = fencing token
  kRegisterWrite,    // guarded register: arg = token; result = 1 accepted,
                     // 0 refused; aux = acceptance sequence number
  kQueuePut,         // arg = unique item
  kQueueGet,         // result = item (kFailed: Empty)
  kCounterFetchAdd,  // arg = delta; result = the value before
  kCounterCas,       // arg = expected, aux = desired; result = 1 swapped
  kCounterRead,      // result = value
};

enum class OpStatus : int32_t {
  kPending,  // invoked, never completed (the process died or the call
             // raised an error that leaves its effect unknown)
  kOk,
  kFailed,   // completed with a definite "did not happen" (queue Empty)
};

struct Op {
  int32_t process = 0;
  OpKind kind = OpKind::kAcquire;
  int64_t arg = 0;
  int64_t aux = 0;
  int64_t result = 0;
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;  // meaningless while kPending
  OpStatus status = OpStatus::kPending;
};

// Fixed-capacity, append-only, shared between processes by living in a
// MAP_SHARED mapping made before fork. A writer claims a slot with one
// atomic increment; `published` marks the slot's invoke fields complete,
// so a writer killed between the claim and the publication leaves a slot
// the reader skips (it was never invoked as far as the server knows).
struct OpLog {
  static constexpr int64_t kCapacity = 1 << 17;

  struct Slot {
    Op op;
    std::atomic<int32_t> published{0};
    std::atomic<int32_t> status{static_cast<int32_t>(OpStatus::kPending)};
  };

  std::atomic<int64_t> next{0};
  Slot slots[kCapacity];

  // -1 when the log is full (the caller then skips the operation).
  int64_t Invoke(int32_t process, OpKind kind, int64_t arg, int64_t aux = 0);
  void Complete(int64_t slot, OpStatus status, int64_t result,
                int64_t aux = 0);
  // Every published operation, in slot order.
  std::vector<Op> Snapshot() const;
};

int64_t MonotonicNanos();

struct CheckResult {
  bool ok = true;
  std::string explanation;  // the first violation, or a summary if ok
};

// Fencing: the guarded register accepted writes in the order of their
// acceptance numbers; their tokens must never decrease, one token belongs
// to one process, and lock acquires that did not overlap in time got
// increasing tokens.
CheckResult CheckFencing(const std::vector<Op>& ops);

// Queue: every item got was put, no item was got twice, and every item
// whose put completed is got by the end - except at most one item per get
// whose outcome is unknown (a consumer killed while an item was on its way
// to it).
CheckResult CheckQueue(const std::vector<Op>& ops);

// Counter: the fetch_add/compare_exchange/read history is linearizable
// with respect to a single integer starting at `initial` (the
// Wing-Gong-Lowe search with memoisation of (linearized set, value)).
// Pending operations may be linearized anywhere after their invocation or
// not at all. At most kMaxCounterOps operations.
inline constexpr int kMaxCounterOps = 256;
CheckResult CheckCounterLinearizable(const std::vector<Op>& ops,
                                     int64_t initial);

}  // namespace mp::history

#endif  // MP_TESTS_HISTORY_HISTORY_H_
