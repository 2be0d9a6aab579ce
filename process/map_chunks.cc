#include "process/map_chunks.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "process/async_result_state.h"

namespace mp::internal {
namespace {

// The values of a map as its chunks complete, in any order.
class Gather {
 public:
  Gather(size_t n, size_t chunks) : remaining_(chunks) { values_.resize(n); }

  // Stores one chunk's values at `start`; the whole list once it was the
  // last chunk.
  std::optional<Object::List> Add(size_t start, const Object::List& values) {
    absl::MutexLock lock(&mu_);
    const size_t n = std::min(values.size(), values_.size() - start);
    std::copy_n(values.begin(), n, values_.begin() + start);
    if (--remaining_ > 0) return std::nullopt;
    return std::move(values_);
  }

 private:
  absl::Mutex mu_;
  Object::List values_ ABSL_GUARDED_BY(mu_);
  size_t remaining_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

size_t DefaultChunksize(size_t n, int processes) {
  if (n == 0) return 1;
  const size_t per = static_cast<size_t>(processes) * 4;
  return std::max<size_t>(1, (n + per - 1) / per);
}

std::shared_ptr<ResultState> SubmitChunks(PoolCore& core,
                                          const LocatedFunction& fn,
                                          Object::List items, size_t chunksize,
                                          CompletionCallback done) {
  auto state = std::make_shared<ResultState>(std::move(done));
  const size_t n = items.size();
  if (n == 0) {
    state->Complete(Outcome::Value(Object::list({})));
    return state;
  }
  if (chunksize == 0) chunksize = DefaultChunksize(n, core.processes());
  auto gather = std::make_shared<Gather>(n, (n + chunksize - 1) / chunksize);
  for (size_t start = 0; start < n; start += chunksize) {
    Job job;
    job.fn = fn;
    const size_t stop = std::min(n, start + chunksize);
    job.items.assign(std::make_move_iterator(items.begin() + start),
                     std::make_move_iterator(items.begin() + stop));
    job.deliver = [state, gather, start](Outcome o) {
      if (!o.ok) return state->Complete(std::move(o));
      if (std::optional<Object::List> all =
              gather->Add(start, o.value.as_list())) {
        state->Complete(Outcome::Value(Object::list(std::move(*all))));
      }
    };
    core.Push(std::move(job));
  }
  return state;
}

}  // namespace mp::internal
