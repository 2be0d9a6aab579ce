// Array: a fixed-size typed array stored packed; bulk reads and writes move
// packed bytes, never one message per element.
#ifndef MP_SERVER_ARRAY_OBJECT_H_
#define MP_SERVER_ARRAY_OBJECT_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/typecode.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class ArrayObject : public ServerObject {
 public:
  // Create: `typecode`, and `init` a list of initial values or `size` zero
  // elements; its buffer is charged before it is allocated.
  static ObjectMaker Prepare(CreateArgs& args);

  // `packed` holds whole elements of `typecode`.
  // `stored` already holds what the buffer was charged (its size never
  // changes).
  ArrayObject(uint64_t id, ObjectStore* store,
              const internal::TypeCode& typecode, std::string packed,
              StoredBytes stored = StoredBytes())
      : ServerObject(v1::ARRAY, id, store),
        typecode_(typecode),
        data_(std::move(packed)),
        stored_(std::move(stored)) {}

  void Apply(const v1::ArrayOp& op, const OpContext& ctx, v1::Reply* reply);

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  size_t size() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return data_.size() / typecode_.size;
  }
  const internal::TypeCode& typecode_;
  mutable absl::Mutex mu_;
  std::string data_ ABSL_GUARDED_BY(mu_);
  const StoredBytes stored_;
};

}  // namespace mp::server

#endif  // MP_SERVER_ARRAY_OBJECT_H_
