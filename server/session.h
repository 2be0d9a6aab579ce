// A client's session: the references it holds, the objects it has leases
// on (locks held, parked calls), and the way back to its stream for replies
// that complete later. The session is the lease: when its stream ends, for
// whatever reason, everything it held is given back.
#ifndef MP_SERVER_SESSION_H_
#define MP_SERVER_SESSION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/server_object.h"

namespace mp::server {

// Where a session's late replies go (its stream). Implementations must be
// thread-safe; Deliver returns false once the stream can take no more.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual bool Deliver(v1::Reply reply) = 0;
};

// Thread-safe. Owned by its stream through a shared_ptr; parked calls hold
// weak_ptrs, so a session that ended simply fails to lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `quota`: what the objects this session creates may hold (null: no
  // limit).
  explicit Session(uint64_t id, std::shared_ptr<ByteQuota> quota = nullptr)
      : id_(id), quota_(std::move(quota)) {}
  ~Session();

  uint64_t id() const { return id_; }
  const std::shared_ptr<ByteQuota>& quota() const { return quota_; }

  // The object `id` if this session holds a reference to it; otherwise
  // throws mp::ReferenceError. Holding a reference is what entitles a
  // session to operate on an object.
  std::shared_ptr<ServerObject> Lookup(uint64_t id) const;

  // Adds one reference.
  void AddRef(std::shared_ptr<ServerObject> object);
  // Drops one reference; false if the session held none.
  bool Release(uint64_t id);

  // Records that `object` holds state for this session (a lock permit, a
  // parked call) to be given back by ServerObject::OnSessionEnd.
  void AddLease(const std::shared_ptr<ServerObject>& object);

  // Records that call `call_id` was parked (answered later by Deliver).
  void NoteParked(uint64_t call_id);

  // Sends a reply that completes later than its call. False if the session
  // has ended (the caller must then undo whatever the reply granted).
  bool Deliver(v1::Reply reply);
  void Attach(ReplySink* sink);
  // Waits for in-flight Deliver calls; none reach the sink afterwards.
  void Detach();

  // The reply to `call_id` hands over something that `on_lost` takes back
  // unless the client acknowledges receipt before the session ends.
  void ExpectAck(uint64_t call_id, std::function<void()> on_lost);
  void Acked(uint64_t call_id);

  // The stream is gone: stop delivering, take back unacknowledged replies,
  // give back every lease, drop every reference. Idempotent.
  void End();
  // Like End, but first answers every parked call with the error
  // `type: message` (the server is shutting down), so blocked clients learn
  // why instead of seeing the connection drop.
  void EndWithError(const std::string& type, const std::string& message);
  bool ended() const;

  size_t held_objects() const;
  size_t lease_count() const;
  size_t unacked_count() const;

 private:
  // After ended_ is set: takes back unacknowledged replies, gives back
  // every lease, drops every reference.
  void GiveBackAll();

  struct Held {
    std::shared_ptr<ServerObject> object;
    int64_t count = 0;
  };
  const uint64_t id_;
  const std::shared_ptr<ByteQuota> quota_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Held> held_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::weak_ptr<ServerObject>> leases_
      ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  // Parked calls not answered yet.
  absl::flat_hash_set<uint64_t> parked_ ABSL_GUARDED_BY(mu_);
  // In call order, so lost items return to their queue in order.
  std::map<uint64_t, std::function<void()>> unacked_ ABSL_GUARDED_BY(mu_);

  // Separate from mu_: delivering happens under object locks, and must not
  // wait for a session operation in progress.
  mutable absl::Mutex sink_mu_;
  ReplySink* sink_ ABSL_GUARDED_BY(sink_mu_) = nullptr;
};

}  // namespace mp::server

#endif  // MP_SERVER_SESSION_H_
