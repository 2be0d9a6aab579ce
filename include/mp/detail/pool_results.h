// Internal to mp (included by mp/pool.h): the untyped handles behind
// mp::AsyncResult and mp::IMapResult. Their state (locks, the outcome, the
// in-flight chunks) lives in process/ (async_result_state.h,
// imap_stream.h); these handles only point at it.
#ifndef MP_DETAIL_POOL_RESULTS_H_
#define MP_DETAIL_POOL_RESULTS_H_

#include <chrono>
#include <functional>
#include <memory>

#include "mp/errors.h"
#include "mp/object.h"

namespace mp::internal {

// Runs once when a task completes, on a pool thread, before the result
// becomes ready: with the value, or with the error (of its own type:
// KeyError arrives as a KeyError).
using CompletionCallback =
    std::function<void(const Object* value, const Error* error)>;

class ResultState;  // process/async_result_state.h

// Shared by the copies of one AsyncResult. Thread-safe.
class ResultHandle {
 public:
  ResultHandle() = default;  // only where a static_assert already failed
  explicit ResultHandle(std::shared_ptr<ResultState> state);

  void Wait() const;
  bool Wait(std::chrono::duration<double> timeout) const;
  bool Ready() const;
  bool Successful() const;  // ValueError if not ready
  // Wait()s, then returns the value or throws the task's error.
  const Object& Get() const;
  // TimeoutError when not ready within `timeout`.
  const Object& Get(std::chrono::duration<double> timeout) const;

 private:
  const Object& ValueOrThrow() const;
  std::shared_ptr<ResultState> state_;
};

class ImapStream;  // process/imap_stream.h

// The consumer's end of an imap / imap_unordered. One consumer at a time.
class StreamHandle {
 public:
  StreamHandle() = default;  // only where a static_assert already failed
  explicit StreamHandle(std::shared_ptr<ImapStream> stream);

  // The next result: false at the end; throws the error of a failed chunk
  // (or of reading the input) in its place in the sequence. Blocks until a
  // result is ready; every chunk completes (a dead worker fails it).
  bool Next(Object& out) const;

 private:
  std::shared_ptr<ImapStream> stream_;
};

}  // namespace mp::internal

#endif  // MP_DETAIL_POOL_RESULTS_H_
