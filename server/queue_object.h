// Queue and JoinableQueue: FIFO with maxsize; blocked gets and puts are
// parked on the object and completed by whoever makes room or brings an
// item. An item is handed to a parked getter only if its session can still
// take the reply; otherwise it stays at the head of the queue.
#ifndef MP_SERVER_QUEUE_OBJECT_H_
#define MP_SERVER_QUEUE_OBJECT_H_

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/byte_quota.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"
#include "server/waiter_list.h"

namespace mp::server {

class QueueObject : public ServerObject {
 public:
  // Create: Queue or JoinableQueue of maxsize `size` (<= 0: unbounded).
  static ObjectMaker Prepare(CreateArgs& args);

  // `stored`: the creator's quota, charged for every item put (queued or
  // waiting to go in) until a get takes it out.
  QueueObject(v1::ObjectType type, uint64_t id, ObjectStore* store,
              TimerQueue* timers, int64_t maxsize,
              StoredBytes stored = StoredBytes())
      : ServerObject(type, id, store),
        maxsize_(maxsize),
        stored_(std::move(stored)),
        getters_(timers),
        putters_(timers),
        joiners_(timers) {}

  void Apply(const v1::QueueOp& op, const OpContext& ctx, v1::Reply* reply);
  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session, uint64_t call_id) override;

  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  struct Getter {
    uint32_t max_items = 0;  // 0: a single get (reply is the item)
  };
  struct Putter {
    Object::List items;  // still to go in, in order
  };

  bool HasRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return maxsize_ <= 0 || static_cast<int64_t>(items_.size()) < maxsize_;
  }
  // Appends `item` and serves parked getters.
  void AcceptLocked(Object item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands queued items, oldest first, to parked getters that can still
  // take a reply. (Getters only wait on an empty queue, so an item that
  // arrives for one goes straight to it.)
  void ServeGettersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves parked putters' items in while there is room.
  void AdmitPuttersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts items a consumer never acknowledged back at the head.
  std::function<void()> ReturnToHead(Object::List items);

  const int64_t maxsize_;
  absl::Mutex mu_;
  std::deque<Object> items_ ABSL_GUARDED_BY(mu_);
  StoredBytes stored_ ABSL_GUARDED_BY(mu_);
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  WaiterList<Getter> getters_ ABSL_GUARDED_BY(mu_);
  WaiterList<Putter> putters_ ABSL_GUARDED_BY(mu_);
  WaiterList<> joiners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_QUEUE_OBJECT_H_
