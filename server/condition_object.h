// Condition: waits release the (R)Lock and park; notify hands each woken
// waiter back to the lock's queue, and the wait returns once it holds the
// lock again - as threading.Condition does, with no thread per waiter.
#ifndef MP_SERVER_CONDITION_OBJECT_H_
#define MP_SERVER_CONDITION_OBJECT_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/semaphore_object.h"
#include "server/server_object.h"
#include "server/waiter_list.h"

namespace mp::server {

class ConditionObject : public ServerObject {
 public:
  // Create: `init` an optional Lock or RLock proxy; a new RLock without.
  static ObjectMaker Prepare(CreateArgs& args);

  ConditionObject(uint64_t id, ObjectStore* store, TimerQueue* timers,
                  std::shared_ptr<SemaphoreObject> lock)
      : ServerObject(v1::CONDITION, id, store),
        lock_(std::move(lock)),
        waiters_(timers) {}

  void Apply(const v1::ConditionOp& op, const OpContext& ctx, v1::Reply* reply);
  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session, uint64_t call_id) override;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  struct Saved {
    Holder holder;
    int64_t levels = 1;  // RLock recursion to restore
  };
  // Hands `w` back to the lock; its wait returns `result` once reacquired.
  void Reacquire(WaiterList<Saved>::Waiter w, bool result);

  const std::shared_ptr<SemaphoreObject> lock_;
  absl::Mutex mu_;
  WaiterList<Saved> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_CONDITION_OBJECT_H_
