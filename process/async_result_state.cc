#include "process/async_result_state.h"

#include <algorithm>
#include <utility>

namespace mp::internal {

void ResultState::Complete(Outcome outcome) {
  CompletionCallback callback;
  {
    absl::MutexLock lock(&mu_);
    if (done_ || completing_) return;
    completing_ = true;
    callback = std::move(on_done_);
  }
  if (callback) {
    try {
      if (outcome.ok) {
        callback(&outcome.value, nullptr);
      } else {
        // The error_callback gets the error as its own type.
        try {
          outcome.Throw();
        } catch (const Error& e) {
          callback(nullptr, &e);
        }
      }
    } catch (...) {
      // A throwing callback must not take the pool down (Python logs it).
    }
  }
  absl::MutexLock lock(&mu_);
  outcome_ = std::move(outcome);
  done_ = true;
}

void ResultState::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &ResultState::Done));
}

bool ResultState::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &ResultState::Done),
                              std::max(timeout, absl::ZeroDuration()));
}

bool ResultState::Ready() {
  absl::MutexLock lock(&mu_);
  return done_;
}

const Outcome& ResultState::outcome() { return outcome_; }

namespace {

absl::Duration ToDuration(std::chrono::duration<double> timeout) {
  // NaN and negative timeouts wait for nothing; huge ones saturate.
  return timeout.count() > 0 ? absl::Seconds(timeout.count())
                             : absl::ZeroDuration();
}

}  // namespace

// mp::AsyncResult's handle (mp/detail/pool_results.h).

ResultHandle::ResultHandle(std::shared_ptr<ResultState> state)
    : state_(std::move(state)) {}

void ResultHandle::Wait() const { state_->Wait(); }

bool ResultHandle::Wait(std::chrono::duration<double> timeout) const {
  return state_->Wait(ToDuration(timeout));
}

bool ResultHandle::Ready() const { return state_->Ready(); }

bool ResultHandle::Successful() const {
  if (!state_->Ready()) throw ValueError("result is not ready");
  return state_->outcome().ok;
}

const Object& ResultHandle::Get() const {
  state_->Wait();
  return ValueOrThrow();
}

const Object& ResultHandle::Get(std::chrono::duration<double> timeout) const {
  if (!state_->Wait(ToDuration(timeout))) {
    throw TimeoutError("result not ready within timeout");
  }
  return ValueOrThrow();
}

const Object& ResultHandle::ValueOrThrow() const {
  const Outcome& o = state_->outcome();
  if (!o.ok) o.Throw();
  return o.value;
}

}  // namespace mp::internal
