#include "server/semaphore_object.h"

#include <utility>
#include <vector>

#include "mp/errors.h"

namespace mp::server {
namespace {

// An acquire's reply: (acquired, previous_owner_died, fencing_token).
Object AcquireReply(const Grant& grant) {
  return Object::tuple({true, grant.previous_owner_died,
                        static_cast<int64_t>(grant.fencing_token)});
}
Object NotAcquiredReply() { return Object::tuple({false, false, 0}); }

}  // namespace

ObjectMaker SemaphoreObject::Prepare(CreateArgs& args) {
  const v1::ObjectType type = args.request.type();
  const int64_t value =
      (type == v1::LOCK || type == v1::RLOCK) ? 1 : args.request.size();
  if (value < 0) {
    throw ValueError("semaphore initial value must be >= 0, not " +
                     std::to_string(value));
  }
  return [&args, type, value](uint64_t id) {
    return std::make_shared<SemaphoreObject>(type, id, args.store, args.timers,
                                             value);
  };
}

SemaphoreObject::SemaphoreObject(v1::ObjectType type, uint64_t id,
                                 ObjectStore* store, TimerQueue* timers,
                                 int64_t initial)
    : ServerObject(type, id, store),
      initial_(initial),
      value_(initial),
      waiters_(timers) {}

bool SemaphoreObject::AvailableLocked(const Holder& h) const {
  if (IsRLock()) return !rlock_owner_ || *rlock_owner_ == h;
  return value_ > 0;
}

Grant SemaphoreObject::TakeLocked(const Holder& h, int64_t count) {
  if (IsRLock()) {
    if (rlock_count_ == 0) ++fencing_token_;
    rlock_owner_ = h;
    rlock_count_ += count;
  } else {
    ++fencing_token_;
    --value_;
    ++held_by_session_[h.session];
  }
  return Grant{std::exchange(owner_died_, false), fencing_token_};
}

void SemaphoreObject::ReleaseLocked(const Holder& h) {
  if (IsRLock()) {
    if (!rlock_owner_ || !(*rlock_owner_ == h)) {
      throw RuntimeError("cannot release un-acquired lock");
    }
    if (--rlock_count_ == 0) rlock_owner_.reset();
  } else {
    if (type() == v1::LOCK && value_ >= 1) {
      throw RuntimeError("release unlocked lock");
    }
    if (type() == v1::BOUNDED_SEMAPHORE && value_ >= initial_) {
      throw ValueError("Semaphore released too many times");
    }
    ++value_;
    // Python lets any thread release a Lock or Semaphore: charge the
    // releasing session if it holds a permit, otherwise any holder.
    auto it = held_by_session_.find(h.session);
    if (it == held_by_session_.end()) it = held_by_session_.begin();
    if (it != held_by_session_.end() && --it->second == 0) {
      held_by_session_.erase(it);
    }
  }
  GrantLocked();
}

void SemaphoreObject::GrantLocked() {
  while (!waiters_.empty() && AvailableLocked(waiters_.front().extra.holder)) {
    auto w = waiters_.PopFront();
    GrantToLocked(w.extra.holder, w.extra.count, w.extra.granted);
  }
}

void SemaphoreObject::GrantToLocked(const Holder& h, int64_t count,
                                    const Granted& granted) {
  const Grant grant = TakeLocked(h, count);
  if (granted(grant)) return;
  // Its session ended on the way: give the permit back, keep the flag for
  // the next acquirer (the token is spent: tokens only ever grow).
  owner_died_ = grant.previous_owner_died;
  if (IsRLock()) {
    rlock_count_ -= count;
    if (rlock_count_ == 0) rlock_owner_.reset();
  } else {
    ++value_;
    auto it = held_by_session_.find(h.session);
    if (it != held_by_session_.end() && --it->second == 0) {
      held_by_session_.erase(it);
    }
  }
}

void SemaphoreObject::Apply(const v1::AcquirerOp& op, const OpContext& ctx,
                            v1::Reply* reply) {
  const uint64_t session = ctx.session()->id();
  switch (op.op_case()) {
    case v1::AcquirerOp::kAcquire: {
      const auto& a = op.acquire();
      Holder h{session, a.owner()};
      absl::MutexLock lock(&mu_);
      // FIFO: a free permit goes to the longest waiter first.
      if (AvailableLocked(h) &&
          (waiters_.empty() ||
           (IsRLock() && rlock_owner_ && *rlock_owner_ == h))) {
        const Grant grant = TakeLocked(h, 1);
        ctx.session()->AddLease(shared_from_this());
        return ctx.Return(AcquireReply(grant), reply);
      }
      absl::Time deadline = DeadlineOf(a.has_timeout(), a.timeout());
      if (!a.blocking() || deadline <= absl::Now()) {
        return ctx.Return(NotAcquiredReply(), reply);
      }
      Parked parked = ctx.Park(shared_from_this());
      Acquirer acquirer{h, 1, [parked](const Grant& grant) {
                          return parked.Complete(AcquireReply(grant));
                        }};
      waiters_.Add(parked, std::move(acquirer), deadline, *this);
      return;
    }
    case v1::AcquirerOp::kRelease: {
      absl::MutexLock lock(&mu_);
      ReleaseLocked(Holder{session, op.release().owner()});
      return ctx.ReturnNone(reply);
    }
    case v1::AcquirerOp::kState: {
      absl::MutexLock lock(&mu_);
      int64_t value = IsRLock() ? (rlock_owner_ ? 0 : 1) : value_;
      return ctx.Return(
          Object::dict({{"value", value},
                        {"waiters", static_cast<int64_t>(waiters_.size())}}),
          reply);
    }
    case v1::AcquirerOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed acquirer operation: no operation set");
}

void SemaphoreObject::OnParkedTimeout(uint64_t session, uint64_t call_id) {
  WaiterList<Acquirer>::Waiter w;
  {
    absl::MutexLock lock(&mu_);
    if (!waiters_.Take(session, call_id, &w)) return;
  }
  w.parked.Complete(NotAcquiredReply());
}

void SemaphoreObject::AcquireAsync(Holder holder, int64_t count,
                                   Granted granted) {
  absl::MutexLock lock(&mu_);
  if (AvailableLocked(holder) && waiters_.empty()) {
    GrantToLocked(holder, count, granted);
    return;
  }
  // Not a call of its own: it never times out, and goes with its session.
  Parked internal;
  internal.session_id = holder.session;
  waiters_.Add(std::move(internal), Acquirer{holder, count, std::move(granted)},
               absl::InfiniteFuture(), *this);
}

int64_t SemaphoreObject::ReleaseAll(Holder holder) {
  absl::MutexLock lock(&mu_);
  if (IsRLock()) {
    if (!rlock_owner_ || !(*rlock_owner_ == holder)) {
      throw RuntimeError("cannot release un-acquired lock");
    }
    int64_t levels = rlock_count_;
    rlock_count_ = 0;
    rlock_owner_.reset();
    GrantLocked();
    return levels;
  }
  ReleaseLocked(holder);
  return 1;
}

bool SemaphoreObject::IsOwned(Holder holder) const {
  absl::MutexLock lock(&mu_);
  if (IsRLock()) return rlock_owner_ && *rlock_owner_ == holder;
  return value_ < initial_;
}

void SemaphoreObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = session.id();
  // Its parked acquires are cancelled: they will never take a permit.
  waiters_.TakeSession(id);
  // What it held is given back, and the next acquirer is told.
  if (IsRLock()) {
    if (rlock_owner_ && rlock_owner_->session == id) {
      rlock_owner_.reset();
      rlock_count_ = 0;
      owner_died_ = true;
    }
  } else {
    auto it = held_by_session_.find(id);
    if (it != held_by_session_.end()) {
      value_ += it->second;
      held_by_session_.erase(it);
      owner_died_ = true;
    }
  }
  GrantLocked();
}

void SemaphoreObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(-1);
  info->set_fencing_token(fencing_token_);
  if (rlock_owner_) info->add_holder_sessions(rlock_owner_->session);
  for (const auto& [session, permits] : held_by_session_) {
    for (int64_t i = 0; i < permits; ++i) {
      info->add_holder_sessions(session);
    }
  }
  waiters_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state(IsRLock()            ? (rlock_owner_ ? "locked" : "unlocked")
                  : type() == v1::LOCK ? (value_ > 0 ? "unlocked" : "locked")
                                       : "value " + std::to_string(value_));
}

}  // namespace mp::server
