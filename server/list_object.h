// list: Python's list semantics, including slices and negative indices.
#ifndef MP_SERVER_LIST_OBJECT_H_
#define MP_SERVER_LIST_OBJECT_H_

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class ListObject : public ServerObject {
 public:
  // Create: `init` an optional list (or tuple) of initial items.
  static ObjectMaker Prepare(CreateArgs& args);

  // `stored` already holds what `initial` was charged.
  ListObject(uint64_t id, ObjectStore* store, Object::List initial,
             StoredBytes stored = StoredBytes())
      : ServerObject(v1::LIST, id, store),
        items_(std::move(initial)),
        stored_(std::move(stored)) {}

  void Apply(const v1::ListOp& op, const OpContext& ctx, v1::Reply* reply);

  // Live iteration like Python's list iterator: by index, seeing changes.
  // Appends up to `max` items; a ValueError, before anything is copied,
  // when they would not fit in one reply.
  void IterNext(size_t* index, size_t max, const OpContext& ctx,
                Object::List* out) const;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  // Removes items_[start:stop] (step 1, Python's clamping) into `dropped`,
  // to be destroyed outside the lock, to make room for `added_bytes` of new
  // items (charged first: MemoryError changes nothing); returns where the
  // cut was.
  int64_t CutLocked(std::optional<int64_t> start, std::optional<int64_t> stop,
                    size_t added_bytes, Object::List* dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Object::List items_ ABSL_GUARDED_BY(mu_);
  StoredBytes stored_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_LIST_OBJECT_H_
