#include "process/map_chunks.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "process/async_result_state.h"

namespace mp::internal {
namespace {

// The values of a map as its chunks complete, in any order. Each chunk's
// list is kept as it arrived, and the map's one list is made once, when
// the last chunk is in: no list of n placeholders to fill (its fresh pages
// were a tenth of a large map's time in the caller, bench W7).
class Gather {
 public:
  Gather(size_t n, size_t chunks) : n_(n), remaining_(chunks) {
    chunks_.resize(chunks);
  }

  // Keeps chunk `index`'s values; the whole list once it was the last.
  std::optional<Object::List> Add(size_t index, Object values) {
    absl::MutexLock lock(&mu_);
    chunks_[index] = std::move(values);
    if (--remaining_ > 0) return std::nullopt;
    Object::List all;
    all.reserve(n_);
    for (const Object& chunk : chunks_) {
      const Object::List& part = chunk.as_list();
      all.insert(all.end(), part.begin(), part.end());
    }
    chunks_.clear();
    return all;
  }

 private:
  const size_t n_;
  absl::Mutex mu_;
  std::vector<Object> chunks_ ABSL_GUARDED_BY(mu_);  // each a list
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
  auto list = std::make_shared<const Object::List>(std::move(items));
  for (size_t start = 0; start < n; start += chunksize) {
    Job job;
    job.fn = fn;
    job.list = list;
    job.begin = start;
    job.end = std::min(n, start + chunksize);
    job.deliver = [state, gather, index = start / chunksize](Outcome o) {
      if (!o.ok) return state->Complete(std::move(o));
      if (std::optional<Object::List> all =
              gather->Add(index, std::move(o.value))) {
        state->Complete(Outcome::Value(Object::list(std::move(*all))));
      }
    };
    core.Push(std::move(job));
  }
  return state;
}

}  // namespace mp::internal
