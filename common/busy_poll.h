// Spin-then-block for the local transport's waits: before a thread sleeps
// for a reply (client) or for the next request (server reactor), it polls
// without blocking for a short budget.
//
// Why: on the 2-core VMs mp is measured on, a same-host round trip is
// mostly the cost of two sleeps and two wake-ups, not of moving bytes.
// A 48-byte ping-pong over a unix socket (bench/floor.cc's shape, epoll on
// the echo side) takes 24.7-26.3 us when both sides block; 18.8-19.4 us
// when only the caller polls for up to 30 us first; 8.5-8.9 us when both
// sides do (2026-12-02, load average 1). A wait that the peer answers
// within the budget never sleeps.
//
// The cost is CPU: a failed spin burns its whole budget. So the budget is
// small (kDefaultBudget), there is none on a one-CPU machine (the peer
// could not run while we spin), and each BusyPoll adapts: after a spin that
// found nothing, the next 1, 3, 7, ... up to kMaxSkip waits block at once;
// one spin that succeeds ends the back-off. An idle server therefore spins
// once after its last request and then sleeps.
//
// Thread safety: a BusyPoll belongs to one waiting thread at a time (the
// caller serializes), like the socket it polls.
#ifndef MP_COMMON_BUSY_POLL_H_
#define MP_COMMON_BUSY_POLL_H_

#include <chrono>
#include <cstdint>

namespace mp::internal {

class BusyPoll {
 public:
  // Spin budget per wait when MP_BUSY_POLL_US does not set one.
  static constexpr int64_t kDefaultBudgetUs = 50;
  // MP_BUSY_POLL_US above this is taken as this.
  static constexpr int64_t kMaxBudgetUs = 10'000;
  // The most consecutive waits that block without spinning after failures.
  static constexpr uint32_t kMaxSkip = 255;

  // The process's budget in microseconds: MP_BUSY_POLL_US if set (0 turns
  // spinning off; at most kMaxBudgetUs), else kDefaultBudgetUs when
  // more than one CPU is online, else 0. Read once.
  static int64_t DefaultBudgetUs();
  // DefaultBudgetUs's rule, for `env` (MP_BUSY_POLL_US's value, or null)
  // and the number of CPUs online.
  static int64_t BudgetUsFor(const char* env, long cpus_online);

  explicit BusyPoll(int64_t budget_us = DefaultBudgetUs())
      : budget_(std::chrono::microseconds(budget_us)) {}

  // Calls `try_once` (non-blocking; true when the wait is over: data came,
  // or an error to report) until it returns true or this wait's budget is
  // spent. Returns whether it did; false means the caller should block.
  template <typename TryOnce>
  bool Spin(TryOnce&& try_once) {
    if (budget_.count() <= 0) return false;
    if (skip_ > 0) {
      --skip_;
      return false;
    }
    const auto start = Clock::now();
    do {
      if (try_once()) {
        backoff_ = 0;
        return true;
      }
    } while (Clock::now() - start < budget_);
    backoff_ = backoff_ >= kMaxSkip / 2 ? kMaxSkip : backoff_ * 2 + 1;
    skip_ = backoff_;
    return false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  const Clock::duration budget_;
  uint32_t skip_ = 0;     // waits left that block without spinning
  uint32_t backoff_ = 0;  // skip_ after the next failed spin
};

}  // namespace mp::internal

#endif  // MP_COMMON_BUSY_POLL_H_
