// The state behind one mp::AsyncResult: completed once by the pool's
// threads, waited on by any number of callers.
#ifndef MP_PROCESS_ASYNC_RESULT_STATE_H_
#define MP_PROCESS_ASYNC_RESULT_STATE_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mp/detail/pool_results.h"
#include "process/task_outcome.h"

namespace mp::internal {

class ResultState {
 public:
  explicit ResultState(CompletionCallback on_done = {})
      : on_done_(std::move(on_done)) {}

  // The first call wins, later ones are ignored. Runs the callback (outside
  // the lock, swallowing what it throws: a callback must not take the pool
  // down - Python logs it), then makes the result ready: as in Python,
  // whoever waits on the result sees the callback's effects.
  void Complete(Outcome outcome);

  void Wait();
  bool Wait(absl::Duration timeout);  // whether it is ready
  bool Ready();
  // Only once ready (it no longer changes then).
  const Outcome& outcome();

 private:
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; }

  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool completing_ ABSL_GUARDED_BY(mu_) = false;
  CompletionCallback on_done_ ABSL_GUARDED_BY(mu_);
  // Written once, under mu_, before done_; read-only afterwards.
  Outcome outcome_;
};

}  // namespace mp::internal

#endif  // MP_PROCESS_ASYNC_RESULT_STATE_H_
