// What an operation needs besides its object: the calling session (to
// resolve proxy references it sends and to hand it the ones it receives),
// and, for calls that block, a way to park and answer later.
#ifndef MP_SERVER_OP_CONTEXT_H_
#define MP_SERVER_OP_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/session.h"
#include "server/timer_queue.h"

namespace mp::server {

// Encodes values for `session`: each proxy reference in them gives the
// session one reference. Replies may wrap stored values in two more levels
// than a client may send (internal::kMaxReplyNestingDepth).
inline void EncodeFor(Session& session, const Object& value, v1::Value* out) {
  internal::EncodeValue(
      value, out,
      [&session](const ObjectRef& ref, v1::ProxyRef* pb) {
        auto& object = static_cast<const ServerObject&>(ref);
        session.AddRef(
            std::const_pointer_cast<ServerObject>(object.shared_from_this()));
        pb->set_id(object.id());
        pb->set_type(object.type());
        if (object.type() == v1::CUSTOM) {
          pb->set_type_name(std::string(object.type_name()));
        }
      },
      internal::kMaxReplyNestingDepth);
}

// A call parked on an object, answered later from whichever thread
// completes it. Copyable.
struct Parked {
  std::weak_ptr<Session> session;
  uint64_t session_id = 0;
  uint64_t call_id = 0;
  TimerQueue::Id timer = 0;

  // Each returns false when the session has ended: the caller must then
  // undo whatever the reply would have granted.
  bool Complete(const Object& value) const {
    auto s = session.lock();
    if (s == nullptr || s->ended()) return false;
    v1::Reply reply;
    reply.set_call_id(call_id);
    EncodeFor(*s, value, reply.mutable_value());
    return s->Deliver(std::move(reply));
  }
  // Like Complete, for a reply the client must acknowledge; `on_lost`
  // takes back what it carried if the session ends before the ack.
  bool CompleteWithAck(const Object& value,
                       std::function<void()> on_lost) const {
    auto s = session.lock();
    if (s == nullptr || s->ended()) return false;
    v1::Reply reply;
    reply.set_call_id(call_id);
    reply.set_ack_required(true);
    EncodeFor(*s, value, reply.mutable_value());
    s->ExpectAck(call_id, std::move(on_lost));
    if (s->Deliver(std::move(reply))) return true;
    s->Acked(call_id);  // never sent: the caller keeps the item
    return false;
  }
  bool Fail(const Error& error) const {
    auto s = session.lock();
    if (s == nullptr || s->ended()) return false;
    v1::Reply reply;
    reply.set_call_id(call_id);
    reply.mutable_error()->set_type(error.type_name());
    reply.mutable_error()->set_message(error.message());
    return s->Deliver(std::move(reply));
  }
};

class OpContext {
 public:
  // `max_reply_bytes`: the largest reply the client takes (the server's
  // max_message_bytes); 0: unchecked.
  OpContext(Session* session, uint64_t call_id = 0,
            TimerQueue* timers = nullptr, size_t max_reply_bytes = 0)
      : session_(session),
        call_id_(call_id),
        timers_(timers),
        max_reply_bytes_(max_reply_bytes == 0 ? SIZE_MAX : max_reply_bytes) {}

  // Decodes a value from the caller. A proxy reference must name an object
  // the caller holds (mp::ReferenceError otherwise); a value nested deeper
  // than internal::kMaxNestingDepth is a ValueError, for this call only.
  Object Decode(const v1::Value& value) const {
    return internal::DecodeValue(
        value,
        [this](const v1::ProxyRef& ref) {
          return Object::proxy(session_->Lookup(ref.id()));
        },
        internal::kMaxNestingDepth);
  }

  void Encode(const Object& value, v1::Value* out) const {
    EncodeFor(*session_, value, out);
  }

  // A value whose encoding would exceed the reply limit is refused with
  // ValueError before it is encoded. Calls that copy many elements into a
  // reply check before they copy (ReplyBytes, CheckReplySize).
  void Return(const Object& value, v1::Reply* reply) const {
    CheckReplySize(ReplyBytes(value));
    Encode(value, reply->mutable_value());
  }

  // The reply limit (SIZE_MAX: unchecked).
  size_t max_reply_bytes() const { return max_reply_bytes_; }
  // A lower bound of what `value` adds to a reply, counted no further than
  // just past the limit.
  size_t ReplyBytes(const Object& value) const {
    return internal::WireSizeAtLeast(value, max_reply_bytes_);
  }
  template <class Range>
  size_t ReplyBytesOfAll(const Range& values) const {
    size_t total = 0;
    for (const Object& v : values) {
      if (total > max_reply_bytes_) break;
      total += ReplyBytes(v);
    }
    return total;
  }
  // Throws ValueError when a reply of at least `bytes` could not be sent.
  void CheckReplySize(size_t bytes) const {
    if (bytes <= max_reply_bytes_) return;
    throw ValueError("the reply would take more than " +
                     std::to_string(max_reply_bytes_) +
                     " bytes, the server's message limit (max_message_bytes)"
                     "; ask for less at a time");
  }
  void ReturnNone(v1::Reply* reply) const {
    reply->mutable_value()->mutable_none();
  }
  // Return for a reply the client must acknowledge (see Reply.ack_required).
  void ReturnWithAck(const Object& value, v1::Reply* reply,
                     std::function<void()> on_lost) const {
    Return(value, reply);
    reply->set_ack_required(true);
    session_->ExpectAck(call_id_, std::move(on_lost));
  }

  // Parks the call: no reply now; the returned handle answers it later.
  // `object` gets a lease on the session, so the call is cancelled
  // (OnSessionEnd) if the session ends first.
  Parked Park(const std::shared_ptr<ServerObject>& object) const {
    session_->AddLease(object);
    return ParkCall();
  }
  // Parks the call with no object to cancel it: for a call whose work is
  // done elsewhere (a custom type's constructor on the pool). If the
  // session ends first, the session answers it and Complete/Fail return
  // false.
  Parked ParkCall() const {
    deferred_ = true;
    session_->NoteParked(call_id_);
    Parked p;
    p.session = session_->weak_from_this();
    p.session_id = session_->id();
    p.call_id = call_id_;
    return p;
  }
  bool deferred() const { return deferred_; }

  Session* session() const { return session_; }
  TimerQueue* timers() const { return timers_; }

 private:
  Session* session_;
  uint64_t call_id_;
  TimerQueue* timers_;
  size_t max_reply_bytes_;
  mutable bool deferred_ = false;
};

// A wire timeout as a deadline (InfiniteFuture when absent).
template <class TimeoutMessage>
absl::Time DeadlineOf(bool has_timeout, const TimeoutMessage& timeout) {
  if (!has_timeout) return absl::InfiniteFuture();
  return absl::Now() +
         absl::Microseconds(std::max<int64_t>(0, timeout.micros()));
}

}  // namespace mp::server

#endif  // MP_SERVER_OP_CONTEXT_H_
