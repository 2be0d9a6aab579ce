// dict: insertion-ordered, Python 3.7+ semantics.
#ifndef MP_SERVER_DICT_OBJECT_H_
#define MP_SERVER_DICT_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class DictObject : public ServerObject {
 public:
  // Create: `init` an optional dict of initial contents.
  static ObjectMaker Prepare(CreateArgs& args);

  // `stored` already holds what `initial` was charged.
  DictObject(uint64_t id, ObjectStore* store, Dict initial,
             StoredBytes stored = StoredBytes())
      : ServerObject(v1::DICT, id, store),
        dict_(std::move(initial)),
        stored_(std::move(stored)) {}

  void Apply(const v1::DictOp& op, const OpContext& ctx, v1::Reply* reply);

  // Live iteration (see IteratorObject): appends up to `max` items from
  // slot `*slot` on, advancing it. Throws RuntimeError when the dict changed
  // size since `version` was taken.
  // A ValueError, before the iterator moves on, when the items would not
  // fit in one reply.
  uint64_t version() const;
  void IterNext(size_t* slot, uint64_t version, v1::DictOp::Iter::Kind kind,
                size_t max, const OpContext& ctx, Object::List* out) const;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  // A lower bound of a reply carrying the keys and/or values, counted no
  // further than just past the limit.
  size_t ReplyBytesLocked(const OpContext& ctx, bool keys, bool values) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Dict dict_ ABSL_GUARDED_BY(mu_);
  StoredBytes stored_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_DICT_OBJECT_H_
