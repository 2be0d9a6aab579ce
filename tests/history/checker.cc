#include <time.h>

#include <algorithm>
#include <bitset>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "tests/history/history.h"

namespace mp::history {

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t OpLog::Invoke(int32_t process, OpKind kind, int64_t arg,
                      int64_t aux) {
  int64_t index = next.fetch_add(1);
  if (index >= kCapacity) return -1;
  Slot& slot = slots[index];
  slot.op.process = process;
  slot.op.kind = kind;
  slot.op.arg = arg;
  slot.op.aux = aux;
  slot.op.invoke_ns = MonotonicNanos();
  slot.published.store(1, std::memory_order_release);
  return index;
}

void OpLog::Complete(int64_t index, OpStatus status, int64_t result,
                     int64_t aux) {
  if (index < 0) return;
  Slot& slot = slots[index];
  slot.op.result = result;
  if (aux != 0) slot.op.aux = aux;
  slot.op.complete_ns = MonotonicNanos();
  slot.status.store(static_cast<int32_t>(status), std::memory_order_release);
}

std::vector<Op> OpLog::Snapshot() const {
  std::vector<Op> ops;
  int64_t n = std::min(next.load(), kCapacity);
  for (int64_t i = 0; i < n; ++i) {
    const Slot& slot = slots[i];
    if (slot.published.load(std::memory_order_acquire) == 0) continue;
    Op op = slot.op;
    op.status = static_cast<OpStatus>(
        slot.status.load(std::memory_order_acquire));
    ops.push_back(op);
  }
  return ops;
}

namespace {

CheckResult Fail(const std::string& why) { return {false, why}; }

}  // namespace

CheckResult CheckFencing(const std::vector<Op>& ops) {
  std::vector<Op> accepted;
  std::vector<Op> acquires;
  int refused = 0;
  for (const Op& op : ops) {
    if (op.status != OpStatus::kOk) continue;
    if (op.kind == OpKind::kRegisterWrite) {
      if (op.result == 1) {
        accepted.push_back(op);
      } else {
        ++refused;
      }
    } else if (op.kind == OpKind::kAcquire) {
      acquires.push_back(op);
    }
  }
  std::sort(accepted.begin(), accepted.end(),
            [](const Op& a, const Op& b) { return a.aux < b.aux; });
  std::map<int64_t, int32_t> token_owner;
  for (size_t i = 0; i < accepted.size(); ++i) {
    const Op& w = accepted[i];
    if (i > 0 && w.arg < accepted[i - 1].arg) {
      std::ostringstream why;
      why << "write #" << w.aux << " by process " << w.process
          << " was accepted with token " << w.arg << " after write #"
          << accepted[i - 1].aux << " with the newer token "
          << accepted[i - 1].arg;
      return Fail(why.str());
    }
    auto [it, fresh] = token_owner.emplace(w.arg, w.process);
    if (!fresh && it->second != w.process) {
      std::ostringstream why;
      why << "token " << w.arg << " was used by processes " << it->second
          << " and " << w.process;
      return Fail(why.str());
    }
  }
  // Acquires that did not overlap: the later one's token is larger.
  std::sort(acquires.begin(), acquires.end(),
            [](const Op& a, const Op& b) { return a.invoke_ns < b.invoke_ns; });
  std::set<int64_t> tokens;
  for (const Op& a : acquires) {
    if (a.result <= 0 || !tokens.insert(a.result).second) {
      return Fail("acquire by process " + std::to_string(a.process) +
                  " got token " + std::to_string(a.result) +
                  ", which is not positive or was handed out before");
    }
  }
  // Sorted by completion, a prefix maximum lets each acquire be compared
  // with every acquire that completed before it was invoked.
  std::vector<const Op*> by_completion;
  for (const Op& a : acquires) by_completion.push_back(&a);
  std::sort(by_completion.begin(), by_completion.end(),
            [](const Op* a, const Op* b) {
              return a->complete_ns < b->complete_ns;
            });
  size_t done = 0;
  int64_t max_done_token = 0;
  for (const Op& a : acquires) {
    while (done < by_completion.size() &&
           by_completion[done]->complete_ns < a.invoke_ns) {
      max_done_token = std::max(max_done_token, by_completion[done]->result);
      ++done;
    }
    if (a.result <= max_done_token) {
      return Fail("acquire by process " + std::to_string(a.process) +
                  " got token " + std::to_string(a.result) +
                  ", not newer than token " + std::to_string(max_done_token) +
                  " of an acquire that completed before it began");
    }
  }
  std::ostringstream summary;
  summary << acquires.size() << " acquires, " << accepted.size()
          << " writes accepted, " << refused << " stale writes refused";
  return {true, summary.str()};
}

CheckResult CheckQueue(const std::vector<Op>& ops) {
  std::set<int64_t> put_invoked, put_completed;
  std::map<int64_t, int32_t> got_by;
  int pending_gets = 0;
  for (const Op& op : ops) {
    if (op.kind == OpKind::kQueuePut) {
      put_invoked.insert(op.arg);
      if (op.status == OpStatus::kOk) put_completed.insert(op.arg);
    } else if (op.kind == OpKind::kQueueGet) {
      if (op.status == OpStatus::kPending) ++pending_gets;
      if (op.status != OpStatus::kOk) continue;
      auto [it, fresh] = got_by.emplace(op.result, op.process);
      if (!fresh) {
        return Fail("item " + std::to_string(op.result) +
                    " was got twice, by processes " +
                    std::to_string(it->second) + " and " +
                    std::to_string(op.process));
      }
    }
  }
  for (const auto& [item, process] : got_by) {
    if (!put_invoked.count(item)) {
      return Fail("process " + std::to_string(process) + " got item " +
                  std::to_string(item) + ", which nobody put");
    }
  }
  int64_t missing = 0;
  int64_t first_missing = -1;
  for (int64_t item : put_completed) {
    if (!got_by.count(item)) {
      if (missing++ == 0) first_missing = item;
    }
  }
  if (missing > pending_gets) {
    return Fail(std::to_string(missing) + " acknowledged items (first: " +
                std::to_string(first_missing) +
                ") were never got, more than the " +
                std::to_string(pending_gets) + " gets whose outcome is unknown");
  }
  std::ostringstream summary;
  summary << put_completed.size() << " puts acknowledged, " << got_by.size()
          << " items got, " << missing << " in the hands of "
          << pending_gets << " interrupted gets";
  return {true, summary.str()};
}

namespace {

using Linearized = std::bitset<kMaxCounterOps>;

struct Entry {
  bool is_call;
  int op;  // index into the counter ops
  int64_t time;
  Entry* prev = nullptr;
  Entry* next = nullptr;
  Entry* match = nullptr;  // the call's return entry (null if pending)
};

// Applies `op` to `value`; false if the op's recorded result is impossible
// from `value`.
bool Step(const Op& op, int64_t value, int64_t* after) {
  bool known = op.status == OpStatus::kOk;
  switch (op.kind) {
    case OpKind::kCounterFetchAdd:
      if (known && op.result != value) return false;
      *after = value + op.arg;
      return true;
    case OpKind::kCounterCas: {
      bool swaps = value == op.arg;
      if (known && op.result != (swaps ? 1 : 0)) return false;
      *after = swaps ? op.aux : value;
      return true;
    }
    case OpKind::kCounterRead:
      if (known && op.result != value) return false;
      *after = value;
      return true;
    default:
      return false;
  }
}

struct StateHash {
  size_t operator()(const std::pair<Linearized, int64_t>& s) const {
    return std::hash<Linearized>()(s.first) ^
           (std::hash<int64_t>()(s.second) * 0x9e3779b97f4a7c15ULL);
  }
};

}  // namespace

CheckResult CheckCounterLinearizable(const std::vector<Op>& all_ops,
                                     int64_t initial) {
  std::vector<Op> ops;
  for (const Op& op : all_ops) {
    bool counter = op.kind == OpKind::kCounterFetchAdd ||
                   op.kind == OpKind::kCounterCas ||
                   op.kind == OpKind::kCounterRead;
    // A failed counter op (an error with a definite "not applied") has no
    // effect; pending ones may have had theirs.
    if (counter && op.status != OpStatus::kFailed) ops.push_back(op);
  }
  if (ops.size() > kMaxCounterOps) {
    return Fail("the counter history has " + std::to_string(ops.size()) +
                " operations, more than the checker's " +
                std::to_string(kMaxCounterOps));
  }
  // Calls and returns in time order; at equal times calls first, so two
  // operations that touch at an instant count as concurrent (the lenient
  // reading: never a false alarm from clock granularity).
  std::vector<Entry> entries;
  entries.reserve(ops.size() * 2);
  int must_linearize = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    entries.push_back({true, static_cast<int>(i), ops[i].invoke_ns});
    if (ops[i].status == OpStatus::kOk) {
      entries.push_back({false, static_cast<int>(i), ops[i].complete_ns});
      ++must_linearize;
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) {
                     if (a.time != b.time) return a.time < b.time;
                     return a.is_call && !b.is_call;
                   });
  std::vector<Entry*> call_of(ops.size(), nullptr);
  Entry head{true, -1, 0};
  Entry* last = &head;
  for (Entry& e : entries) {
    e.prev = last;
    last->next = &e;
    last = &e;
    if (e.is_call) call_of[e.op] = &e;
  }
  for (Entry& e : entries) {
    if (!e.is_call) call_of[e.op]->match = &e;
  }

  auto lift = [](Entry* call) {
    call->prev->next = call->next;
    if (call->next) call->next->prev = call->prev;
    if (Entry* ret = call->match) {
      ret->prev->next = ret->next;
      if (ret->next) ret->next->prev = ret->prev;
    }
  };
  auto unlift = [](Entry* call) {
    if (Entry* ret = call->match) {
      ret->prev->next = ret;
      if (ret->next) ret->next->prev = ret;
    }
    call->prev->next = call;
    if (call->next) call->next->prev = call;
  };

  Linearized linearized;
  int linearized_ok = 0;
  int64_t value = initial;
  std::unordered_set<std::pair<Linearized, int64_t>, StateHash> seen;
  std::vector<std::pair<Entry*, int64_t>> stack;  // (call, value before)
  Entry* entry = head.next;
  int64_t steps = 0;
  constexpr int64_t kStepBudget = 50'000'000;
  while (linearized_ok < must_linearize) {
    if (++steps > kStepBudget) {
      return Fail("the linearizability search gave up after " +
                  std::to_string(kStepBudget) + " steps");
    }
    if (entry != nullptr && entry->is_call) {
      int64_t after = 0;
      const Op& op = ops[entry->op];
      if (Step(op, value, &after)) {
        Linearized next = linearized;
        next.set(entry->op);
        if (seen.insert({next, after}).second) {
          stack.push_back({entry, value});
          linearized = next;
          value = after;
          if (op.status == OpStatus::kOk) ++linearized_ok;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry->next;
      continue;
    }
    // A return whose operation is not linearized yet (or the end of the
    // list): nothing later can go first, so undo the last choice.
    if (stack.empty()) {
      std::ostringstream why;
      why << "the counter history is not linearizable";
      if (entry != nullptr) {
        const Op& op = ops[entry->op];
        why << ": no order explains process " << op.process << "'s "
            << (op.kind == OpKind::kCounterFetchAdd ? "fetch_add("
                : op.kind == OpKind::kCounterCas    ? "compare_exchange("
                                                    : "read(")
            << op.arg << ") returning " << op.result;
      }
      return Fail(why.str());
    }
    auto [call, before] = stack.back();
    stack.pop_back();
    linearized.reset(call->op);
    if (ops[call->op].status == OpStatus::kOk) --linearized_ok;
    value = before;
    unlift(call);
    entry = call->next;
  }
  std::ostringstream summary;
  summary << ops.size() << " counter operations linearizable ("
          << must_linearize << " completed), final value " << value;
  return {true, summary.str()};
}

}  // namespace mp::history
