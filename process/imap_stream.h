// imap / imap_unordered: the input read lazily into chunks, at most a
// window of chunks in flight ahead of the consumer, and the chunks' values
// handed out one at a time - in input order (imap) or as chunks complete
// (imap_unordered).
#ifndef MP_PROCESS_IMAP_STREAM_H_
#define MP_PROCESS_IMAP_STREAM_H_

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "process/pool_core.h"

namespace mp::internal {

class ImapStream : public std::enable_shared_from_this<ImapStream> {
 public:
  // `next_input` yields the next item (false at the end) and may throw;
  // it is called only from Next(), under the stream's lock. The window is
  // 2 * processes chunks.
  static std::shared_ptr<ImapStream> Create(
      std::shared_ptr<PoolCore> core, LocatedFunction fn,
      std::function<bool(Object&)> next_input, size_t chunksize, bool ordered);

  // See StreamHandle::Next (mp/detail/pool_results.h).
  bool Next(Object& out);

 private:
  ImapStream(std::shared_ptr<PoolCore> core, LocatedFunction fn,
             std::function<bool(Object&)> next_input, size_t chunksize,
             bool ordered);

  // Reads input and queues chunks until the window is full or the input
  // ends (or throws: the chunk being filled then fails with it, after the
  // chunks before it, as in CPython's imap).
  void SubmitMore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NextChunkDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ordered_ ? done_.count(next_yield_) > 0 : !done_.empty();
  }

  const std::shared_ptr<PoolCore> core_;
  const LocatedFunction fn_;
  const size_t chunksize_;
  const bool ordered_;
  const size_t window_;

  absl::Mutex mu_;
  std::function<bool(Object&)> next_input_ ABSL_GUARDED_BY(mu_);
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  size_t next_submit_ ABSL_GUARDED_BY(mu_) = 0;  // chunk index
  size_t next_yield_ ABSL_GUARDED_BY(mu_) = 0;   // ordered: chunk to yield
  size_t consumed_chunks_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<size_t, Outcome> done_ ABSL_GUARDED_BY(mu_);  // by chunk index
  std::deque<Object> ready_ ABSL_GUARDED_BY(mu_);        // the current chunk's
  std::exception_ptr input_error_ ABSL_GUARDED_BY(mu_);
  size_t error_index_ ABSL_GUARDED_BY(mu_) = 0;  // the chunk it replaces
};

}  // namespace mp::internal

#endif  // MP_PROCESS_IMAP_STREAM_H_
