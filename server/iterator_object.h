// A live iterator over a dict or a list, like Python's: it sees changes
// made after it was created, and a dict iterator fails once its dict
// changes size.
#ifndef MP_SERVER_ITERATOR_OBJECT_H_
#define MP_SERVER_ITERATOR_OBJECT_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/v1/session.pb.h"
#include "server/dict_object.h"
#include "server/list_object.h"
#include "server/op_context.h"
#include "server/server_object.h"

namespace mp::server {

class IteratorObject : public ServerObject {
 public:
  IteratorObject(uint64_t id, ObjectStore* store,
                 std::shared_ptr<DictObject> dict, v1::DictOp::Iter::Kind kind)
      : ServerObject(v1::ITERATOR, id, store),
        dict_(std::move(dict)),
        kind_(kind),
        version_(dict_->version()) {}
  IteratorObject(uint64_t id, ObjectStore* store,
                 std::shared_ptr<ListObject> list)
      : ServerObject(v1::ITERATOR, id, store), list_(std::move(list)) {}

  void Apply(const v1::IteratorOp& op, const OpContext& ctx, v1::Reply* reply);

 private:
  const std::shared_ptr<DictObject> dict_;
  const std::shared_ptr<ListObject> list_;
  const v1::DictOp::Iter::Kind kind_ = v1::DictOp::Iter::KEYS;
  const uint64_t version_ = 0;
  absl::Mutex mu_;
  size_t position_ ABSL_GUARDED_BY(mu_) = 0;
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mp::server

#endif  // MP_SERVER_ITERATOR_OBJECT_H_
