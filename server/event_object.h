// Event: a flag; wait() parks until it is set.
#ifndef MP_SERVER_EVENT_OBJECT_H_
#define MP_SERVER_EVENT_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"
#include "server/waiter_list.h"

namespace mp::server {

class EventObject : public ServerObject {
 public:
  // Create: no arguments.
  static ObjectMaker Prepare(CreateArgs& args);

  EventObject(uint64_t id, ObjectStore* store, TimerQueue* timers)
      : ServerObject(v1::EVENT, id, store), waiters_(timers) {}

  void Apply(const v1::EventOp& op, const OpContext& ctx, v1::Reply* reply);
  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session, uint64_t call_id) override;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  absl::Mutex mu_;
  bool flag_ ABSL_GUARDED_BY(mu_) = false;
  WaiterList<> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_EVENT_OBJECT_H_
