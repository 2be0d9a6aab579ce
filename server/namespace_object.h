// Namespace: named attributes, like types.SimpleNamespace.
#ifndef MP_SERVER_NAMESPACE_OBJECT_H_
#define MP_SERVER_NAMESPACE_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class NamespaceObject : public ServerObject {
 public:
  // Create: `init` an optional dict of attributes, named by str.
  static ObjectMaker Prepare(CreateArgs& args);

  // `stored` already holds what `initial` was charged.
  NamespaceObject(uint64_t id, ObjectStore* store, Dict initial,
                  StoredBytes stored = StoredBytes())
      : ServerObject(v1::NAMESPACE, id, store),
        attrs_(std::move(initial)),
        stored_(std::move(stored)) {}

  void Apply(const v1::NamespaceOp& op, const OpContext& ctx, v1::Reply* reply);

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  mutable absl::Mutex mu_;
  Dict attrs_ ABSL_GUARDED_BY(mu_);  // str -> value, in assignment order
  StoredBytes stored_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_NAMESPACE_OBJECT_H_
