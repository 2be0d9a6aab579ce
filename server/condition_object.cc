#include "server/condition_object.h"

#include <list>

#include "mp/errors.h"
#include "server/object_store.h"

namespace mp::server {

ObjectMaker ConditionObject::Prepare(CreateArgs& args) {
  std::shared_ptr<SemaphoreObject> lock;
  if (args.has_init) {
    if (!args.init.is_proxy()) {
      throw TypeError(std::string("Condition needs a Lock or RLock, not ") +
                      args.init.type_name());
    }
    auto object = std::const_pointer_cast<ServerObject>(
        std::static_pointer_cast<const ServerObject>(args.init.as_proxy()));
    if (object->type() != v1::LOCK && object->type() != v1::RLOCK) {
      throw TypeError("Condition needs a Lock or RLock, not a " +
                      std::string(object->type_name()));
    }
    lock = std::static_pointer_cast<SemaphoreObject>(object);
  } else {
    lock = std::static_pointer_cast<SemaphoreObject>(
        args.store->Add([&args](uint64_t id) {
          return std::make_shared<SemaphoreObject>(v1::RLOCK, id, args.store,
                                                   args.timers, 1);
        }));
  }
  return [&args, lock](uint64_t id) {
    return std::make_shared<ConditionObject>(id, args.store, args.timers, lock);
  };
}

void ConditionObject::Reacquire(WaiterList<Saved>::Waiter w, bool result) {
  Parked parked = w.parked;
  lock_->AcquireAsync(w.extra.holder, w.extra.levels,
                      [parked, result](const Grant&) {
                        return parked.Complete(Object(result));
                      });
}

void ConditionObject::Apply(const v1::ConditionOp& op, const OpContext& ctx,
                            v1::Reply* reply) {
  const uint64_t session = ctx.session()->id();
  switch (op.op_case()) {
    case v1::ConditionOp::kAcquire: {
      v1::AcquirerOp a;
      *a.mutable_acquire() = op.acquire();
      return lock_->Apply(a, ctx, reply);
    }
    case v1::ConditionOp::kRelease: {
      v1::AcquirerOp a;
      *a.mutable_release() = op.release();
      return lock_->Apply(a, ctx, reply);
    }
    case v1::ConditionOp::kWait: {
      const auto& w = op.wait();
      Holder holder{session, w.owner()};
      if (!lock_->IsOwned(holder)) {
        throw RuntimeError("cannot wait on un-acquired lock");
      }
      absl::Time deadline = DeadlineOf(w.has_timeout(), w.timeout());
      absl::MutexLock lock(&mu_);
      Parked parked = ctx.Park(shared_from_this());
      int64_t levels = lock_->ReleaseAll(holder);
      waiters_.Add(parked, Saved{holder, levels}, deadline, *this);
      return;
    }
    case v1::ConditionOp::kNotify:
    case v1::ConditionOp::kNotifyAll: {
      // Python requires the caller to hold the lock; mp does not check
      // (a Lock cannot tell which thread holds it).
      absl::MutexLock lock(&mu_);
      int64_t n = op.has_notify_all() ? static_cast<int64_t>(waiters_.size())
                                      : op.notify().n();
      while (n-- > 0 && !waiters_.empty()) Reacquire(waiters_.PopFront(), true);
      return ctx.ReturnNone(reply);
    }
    case v1::ConditionOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Condition operation: no operation set");
}

void ConditionObject::OnParkedTimeout(uint64_t session, uint64_t call_id) {
  absl::MutexLock lock(&mu_);
  WaiterList<Saved>::Waiter w;
  if (waiters_.Take(session, call_id, &w)) Reacquire(std::move(w), false);
}

void ConditionObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  waiters_.TakeSession(session.id());
}

void ConditionObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(-1);
  waiters_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state("lock " + HexId(lock_->id()));
}

}  // namespace mp::server
