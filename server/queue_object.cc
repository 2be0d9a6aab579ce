#include "server/queue_object.h"

#include <algorithm>
#include <list>
#include <utility>

#include "mp/errors.h"

namespace mp::server {

ObjectMaker QueueObject::Prepare(CreateArgs& args) {
  const v1::ObjectType type = args.request.type();
  const int64_t maxsize = args.request.size();
  return [&args, type, maxsize](uint64_t id) {
    return std::make_shared<QueueObject>(type, id, args.store, args.timers,
                                         maxsize, std::move(args.stored));
  };
}

std::function<void()> QueueObject::ReturnToHead(Object::List items) {
  std::weak_ptr<ServerObject> weak = shared_from_this();
  return [weak, items = std::move(items)] {
    auto self = weak.lock();
    if (self == nullptr) return;
    auto& q = static_cast<QueueObject&>(*self);
    absl::MutexLock lock(&q.mu_);
    q.stored_.ForceChange(q.stored_.SizeOfAll(items), 0);  // back, as before
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      q.items_.push_front(*it);
    }
    q.ServeGettersLocked();  // a parked getter may be waiting for these
  };
}

void QueueObject::ServeGettersLocked() {
  while (!getters_.empty() && !items_.empty()) {
    auto getter = getters_.PopFront();
    const Object& item = items_.front();
    Object reply = getter.extra.max_items == 0 ? item : Object::list({item});
    // A consumer that is gone leaves the item for the next one.
    if (getter.parked.CompleteWithAck(reply, ReturnToHead({item}))) {
      stored_.Change(0, stored_.SizeOf(item));
      items_.pop_front();
    }
  }
}

void QueueObject::AcceptLocked(Object item) {
  if (type() == v1::JOINABLE_QUEUE) ++unfinished_;
  items_.push_back(std::move(item));
  ServeGettersLocked();
}

void QueueObject::AdmitPuttersLocked() {
  while (!putters_.empty() && HasRoomLocked()) {
    auto& front = putters_.all().front();
    while (!front.extra.items.empty() && HasRoomLocked()) {
      Object item = std::move(front.extra.items.front());
      front.extra.items.erase(front.extra.items.begin());
      AcceptLocked(std::move(item));
    }
    if (!front.extra.items.empty()) break;
    putters_.PopFront().parked.Complete(Object());
  }
}

void QueueObject::Apply(const v1::QueueOp& op, const OpContext& ctx,
                        v1::Reply* reply) {
  switch (op.op_case()) {
    case v1::QueueOp::kPut:
    case v1::QueueOp::kPutMany: {
      Object::List items;
      bool block;
      absl::Time deadline;
      if (op.has_put()) {
        items.push_back(ctx.Decode(op.put().value()));
        block = op.put().block();
        deadline = DeadlineOf(op.put().has_timeout(), op.put().timeout());
      } else {
        for (const auto& v : op.put_many().values().items()) {
          items.push_back(ctx.Decode(v));
        }
        block = op.put_many().block();
        deadline =
            DeadlineOf(op.put_many().has_timeout(), op.put_many().timeout());
      }
      absl::MutexLock lock(&mu_);
      // Charged whether they go in now or wait for room.
      const size_t bytes = stored_.SizeOfAll(items);
      const bool room_for_all =
          maxsize_ <= 0 ||
          (putters_.empty() &&
           static_cast<int64_t>(items_.size() + items.size()) <= maxsize_);
      if (room_for_all) {
        stored_.Change(bytes, 0);
        for (Object& item : items) AcceptLocked(std::move(item));
        return ctx.ReturnNone(reply);
      }
      if (!block || deadline <= absl::Now()) throw Full("queue is full");
      stored_.Change(bytes, 0);
      // Whatever fits goes in now, in order; the rest waits its turn.
      if (putters_.empty()) {
        size_t n = 0;
        while (n < items.size() && HasRoomLocked()) {
          AcceptLocked(std::move(items[n++]));
        }
        items.erase(items.begin(), items.begin() + n);
      }
      putters_.Add(ctx.Park(shared_from_this()), Putter{std::move(items)},
                   deadline, *this);
      return;
    }
    case v1::QueueOp::kGet:
    case v1::QueueOp::kGetMany: {
      const bool many = op.has_get_many();
      const uint32_t max_items =
          many ? std::max<uint32_t>(1, op.get_many().max_items()) : 0;
      const bool block = many ? op.get_many().block() : op.get().block();
      const absl::Time deadline =
          many
              ? DeadlineOf(op.get_many().has_timeout(), op.get_many().timeout())
              : DeadlineOf(op.get().has_timeout(), op.get().timeout());
      absl::MutexLock lock(&mu_);
      if (!items_.empty()) {
        if (!many) {
          // Before it leaves the queue (it came in one message, so it fits).
          ctx.CheckReplySize(ctx.ReplyBytes(items_.front()));
          Object item = std::move(items_.front());
          items_.pop_front();
          stored_.Change(0, stored_.SizeOf(item));
          AdmitPuttersLocked();
          return ctx.ReturnWithAck(item, reply, ReturnToHead({item}));
        }
        // As many as one reply carries (at least one): the rest stays.
        Object::List out;
        size_t bytes = 0;
        while (!items_.empty() && out.size() < max_items) {
          const size_t item_bytes = ctx.ReplyBytes(items_.front());
          if (out.empty()) {
            ctx.CheckReplySize(item_bytes);  // it stays if it cannot go
          } else if (bytes + item_bytes > ctx.max_reply_bytes()) {
            break;
          }
          bytes += item_bytes;
          out.push_back(std::move(items_.front()));
          items_.pop_front();
        }
        stored_.Change(0, stored_.SizeOfAll(out));
        AdmitPuttersLocked();
        Object batch = Object::list(out);
        return ctx.ReturnWithAck(batch, reply, ReturnToHead(std::move(out)));
      }
      if (!block || deadline <= absl::Now()) throw Empty("queue is empty");
      getters_.Add(ctx.Park(shared_from_this()), Getter{max_items}, deadline,
                   *this);
      return;
    }
    case v1::QueueOp::kQsize: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(static_cast<int64_t>(items_.size())), reply);
    }
    case v1::QueueOp::kEmpty: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(items_.empty()), reply);
    }
    case v1::QueueOp::kFull: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(Object(!HasRoomLocked()), reply);
    }
    case v1::QueueOp::kTaskDone: {
      if (type() != v1::JOINABLE_QUEUE) {
        throw TypeError("task_done() needs a JoinableQueue");
      }
      absl::MutexLock lock(&mu_);
      if (unfinished_ <= 0)
        throw ValueError("task_done() called too many times");
      if (--unfinished_ == 0) {
        for (auto& j : joiners_.TakeAll()) j.parked.Complete(Object(true));
      }
      return ctx.ReturnNone(reply);
    }
    case v1::QueueOp::kJoin: {
      if (type() != v1::JOINABLE_QUEUE) {
        throw TypeError("join() needs a JoinableQueue");
      }
      absl::Time deadline =
          DeadlineOf(op.join().has_timeout(), op.join().timeout());
      absl::MutexLock lock(&mu_);
      if (unfinished_ == 0) return ctx.Return(Object(true), reply);
      if (deadline <= absl::Now()) return ctx.Return(Object(false), reply);
      joiners_.Add(ctx.Park(shared_from_this()), 0, deadline, *this);
      return;
    }
    case v1::QueueOp::kWaiters: {
      absl::MutexLock lock(&mu_);
      return ctx.Return(
          Object::dict({{"getters", static_cast<int64_t>(getters_.size())},
                        {"putters", static_cast<int64_t>(putters_.size())},
                        {"joiners", static_cast<int64_t>(joiners_.size())}}),
          reply);
    }
    case v1::QueueOp::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed Queue operation: no operation set");
}

void QueueObject::OnParkedTimeout(uint64_t session, uint64_t call_id) {
  absl::MutexLock lock(&mu_);
  WaiterList<Getter>::Waiter g;
  if (getters_.Take(session, call_id, &g)) {
    g.parked.Fail(Empty("queue is empty"));
    return;
  }
  WaiterList<Putter>::Waiter p;
  if (putters_.Take(session, call_id, &p)) {
    stored_.Change(0, stored_.SizeOfAll(p.extra.items));
    p.parked.Fail(Full("queue is full"));
    return;
  }
  WaiterList<>::Waiter j;
  if (joiners_.Take(session, call_id, &j)) j.parked.Complete(Object(false));
}

void QueueObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  // Its parked gets will never take an item, its parked puts never add
  // theirs (they were never acknowledged), its joins are dropped.
  getters_.TakeSession(session.id());
  for (const auto& putter : putters_.TakeSession(session.id())) {
    stored_.Change(0, stored_.SizeOfAll(putter.extra.items));
  }
  joiners_.TakeSession(session.id());
  AdmitPuttersLocked();
}

void QueueObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(static_cast<int64_t>(items_.size()));
  getters_.AppendSessions(info->mutable_waiter_sessions());
  putters_.AppendSessions(info->mutable_waiter_sessions());
  joiners_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state("maxsize " + std::to_string(maxsize_) + ", " +
                  std::to_string(getters_.size()) + " getting, " +
                  std::to_string(putters_.size()) + " putting" +
                  (type() == v1::JOINABLE_QUEUE
                       ? ", " + std::to_string(unfinished_) + " unfinished, " +
                             std::to_string(joiners_.size()) + " joining"
                       : std::string()));
}

}  // namespace mp::server
