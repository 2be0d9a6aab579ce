#include "server/event_object.h"

#include <list>

namespace mp::server {

ObjectMaker EventObject::Prepare(CreateArgs& args) {
  return [&args](uint64_t id) {
    return std::make_shared<EventObject>(id, args.store, args.timers);
  };
}

void EventObject::Apply(const v1::EventOp& op, const OpContext& ctx,
                        v1::Reply* reply) {
  switch (op.op_case()) {
    case v1::EventOp::kIsSet: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(flag_), reply);
    }
    case v1::EventOp::kSet: {
      std::list<WaiterList<>::Waiter> woken;
      {
        absl::MutexLock lock(&mu_);
        flag_ = true;
        woken = waiters_.TakeAll();
      }
      // Answered outside the lock: a thousand waiters do not hold up the
      // Event's other users.
      for (auto& w : woken) w.parked.Complete(Object(true));
      return ctx.ReturnNone(reply);
    }
    case v1::EventOp::kClear: {
      absl::MutexLock lock(&mu_);
      flag_ = false;
      return ctx.ReturnNone(reply);
    }
    case v1::EventOp::kWait: {
      const auto& w = op.wait();
      absl::Time deadline = DeadlineOf(w.has_timeout(), w.timeout());
      absl::MutexLock lock(&mu_);
      if (flag_) return ctx.Return(Object(true), reply);
      if (deadline <= absl::Now()) return ctx.Return(Object(false), reply);
      waiters_.Add(ctx.Park(shared_from_this()), 0, deadline, *this);
      return;
    }
    case v1::EventOp::kWaiters: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(waiters_.size())), reply);
    }
    case v1::EventOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Event operation: no operation set");
}

void EventObject::OnParkedTimeout(uint64_t session, uint64_t call_id) {
  WaiterList<>::Waiter w;
  {
    absl::MutexLock lock(&mu_);
    if (!waiters_.Take(session, call_id, &w)) return;
  }
  w.parked.Complete(Object(false));
}

void EventObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  waiters_.TakeSession(session.id());
}

void EventObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(-1);
  waiters_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state(flag_ ? "set" : "clear");
}

}  // namespace mp::server
