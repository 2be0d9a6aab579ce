#include "server/iterator_object.h"

#include <algorithm>

#include "mp/errors.h"

namespace mp::server {

void IteratorObject::Apply(const v1::IteratorOp& op, const OpContext& ctx,
                           v1::Reply* reply) {
  if (!op.has_next()) {
    throw ValueError("malformed iterator operation: no operation set");
  }
  constexpr size_t kMaxBatch = 4096;
  size_t max = std::clamp<size_t>(op.next().max_items(), 1, kMaxBatch);
  Object::List out;
  {
    absl::MutexLock lock(&mu_);
    // Like Python's iterators, an exhausted iterator stays exhausted.
    if (!exhausted_) {
      // A batch that would not fit in one reply is a ValueError, before
      // the iterator moves on. (It cannot be cut short instead: clients
      // take a short batch for the end.)
      if (dict_) {
        dict_->IterNext(&position_, version_, kind_, max, ctx, &out);
      } else {
        list_->IterNext(&position_, max, ctx, &out);
      }
      exhausted_ = out.size() < max;
    }
  }
  ctx.Return(Object::list(std::move(out)), reply);
}

}  // namespace mp::server
