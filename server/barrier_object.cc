#include "server/barrier_object.h"

#include <algorithm>
#include <list>

#include "mp/errors.h"

namespace mp::server {

ObjectMaker BarrierObject::Prepare(CreateArgs& args) {
  const int64_t parties = args.request.size();
  if (parties < 1) {
    throw ValueError("Barrier parties must be >= 1, not " +
                     std::to_string(parties));
  }
  const absl::Duration timeout = absl::Microseconds(
      std::max<int64_t>(0, args.request.barrier_timeout_micros()));
  return [&args, parties, timeout](uint64_t id) {
    return std::make_shared<BarrierObject>(id, args.store, args.timers, parties,
                                           timeout);
  };
}

void BarrierObject::BreakLocked() {
  broken_ = true;
  arrived_ = 0;
  for (auto& w : waiters_.TakeAll()) w.parked.Fail(BrokenBarrierError(""));
}

void BarrierObject::Apply(const v1::BarrierOp& op, const OpContext& ctx,
                          v1::Reply* reply) {
  switch (op.op_case()) {
    case v1::BarrierOp::kWait: {
      const auto& w = op.wait();
      absl::Time deadline = w.has_timeout() ? DeadlineOf(true, w.timeout())
                            : default_timeout_ > absl::ZeroDuration()
                                ? absl::Now() + default_timeout_
                                : absl::InfiniteFuture();
      absl::MutexLock lock(&mu_);
      if (broken_) throw BrokenBarrierError("");
      const int64_t index = arrived_++;
      if (arrived_ == parties_) {
        // The last party releases everyone; the barrier is ready for the
        // next round.
        arrived_ = 0;
        for (auto& waiter : waiters_.TakeAll()) {
          waiter.parked.Complete(Object(waiter.extra));
        }
        return ctx.Return(Object(index), reply);
      }
      if (deadline <= absl::Now()) {
        BreakLocked();
        throw BrokenBarrierError("");
      }
      waiters_.Add(ctx.Park(shared_from_this()), index, deadline, *this);
      return;
    }
    case v1::BarrierOp::kAbort: {
      absl::MutexLock lock(&mu_);
      BreakLocked();
      return ctx.ReturnNone(reply);
    }
    case v1::BarrierOp::kReset: {
      absl::MutexLock lock(&mu_);
      if (!waiters_.empty()) BreakLocked();
      broken_ = false;
      arrived_ = 0;
      return ctx.ReturnNone(reply);
    }
    case v1::BarrierOp::kParties:
      return ctx.Return(Object(parties_), reply);
    case v1::BarrierOp::kNWaiting: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(waiters_.size())), reply);
    }
    case v1::BarrierOp::kBroken: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(broken_), reply);
    }
    case v1::BarrierOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Barrier operation: no operation set");
}

void BarrierObject::OnParkedTimeout(uint64_t session, uint64_t call_id) {
  absl::MutexLock lock(&mu_);
  WaiterList<int64_t>::Waiter w;
  if (!waiters_.Take(session, call_id, &w)) return;
  w.parked.Fail(BrokenBarrierError(""));
  BreakLocked();
}

void BarrierObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  // A waiting party died: nobody else may wait for it forever.
  if (!waiters_.TakeSession(session.id()).empty()) BreakLocked();
}

void BarrierObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(parties_);
  waiters_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state(broken_ ? "broken"
                          : std::to_string(waiters_.size()) + " of " +
                                std::to_string(parties_) + " waiting");
}

}  // namespace mp::server
