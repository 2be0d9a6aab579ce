// Barrier: parties meet; a party that times out, aborts, or whose session
// ends breaks it for everyone waiting (BrokenBarrierError), never a hang.
#ifndef MP_SERVER_BARRIER_OBJECT_H_
#define MP_SERVER_BARRIER_OBJECT_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"
#include "server/waiter_list.h"

namespace mp::server {

class BarrierObject : public ServerObject {
 public:
  // Create: `size` parties (>= 1) and `barrier_timeout_micros` (0: none).
  static ObjectMaker Prepare(CreateArgs& args);

  BarrierObject(uint64_t id, ObjectStore* store, TimerQueue* timers,
                int64_t parties, absl::Duration default_timeout)
      : ServerObject(v1::BARRIER, id, store),
        parties_(parties),
        default_timeout_(default_timeout),
        waiters_(timers) {}

  void Apply(const v1::BarrierOp& op, const OpContext& ctx, v1::Reply* reply);
  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session, uint64_t call_id) override;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  void BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t parties_;
  const absl::Duration default_timeout_;  // ZeroDuration: none
  absl::Mutex mu_;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  int64_t arrived_ ABSL_GUARDED_BY(mu_) = 0;
  WaiterList<int64_t> waiters_ ABSL_GUARDED_BY(mu_);  // extra: index
};

}  // namespace mp::server

#endif  // MP_SERVER_BARRIER_OBJECT_H_
