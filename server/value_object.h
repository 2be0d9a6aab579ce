// Value: one typed scalar (the array module's typecodes), with atomic
// read-modify-write operations Python's Value lacks.
#ifndef MP_SERVER_VALUE_OBJECT_H_
#define MP_SERVER_VALUE_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/typecode.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class ValueObject : public ServerObject {
 public:
  // Create: `typecode`, and `init` the initial value (default 0, or b'\0'
  // for 'c').
  static ObjectMaker Prepare(CreateArgs& args);

  // Throws ValueError/TypeError when `initial` does not fit `typecode`.
  ValueObject(uint64_t id, ObjectStore* store,
              const internal::TypeCode& typecode, const Object& initial);

  void Apply(const v1::ValueOp& op, const OpContext& ctx, v1::Reply* reply);

  // Round-trips `v` through the element type: checks kind and range and
  // applies the type's precision (e.g. float32 rounding).
  static Object Normalize(const internal::TypeCode& tc, const Object& v);

 private:
  const internal::TypeCode& typecode_;
  mutable absl::Mutex mu_;
  Object value_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_VALUE_OBJECT_H_
