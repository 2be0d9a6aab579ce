// The manager's operations: runs calls for sessions against the object
// store. Transport-free; server/session_stream.h carries calls to it.
#ifndef MP_SERVER_SERVICE_H_
#define MP_SERVER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "mp/v1/session.pb.h"
#include "server/custom_executor.h"
#include "server/object_store.h"
#include "server/op_context.h"
#include "server/session.h"
#include "server/session_limits.h"
#include "server/timer_queue.h"

namespace mp::server {

// Thread-safe.
class ManagerService {
 public:
  ManagerService(std::string authkey, SessionLimits limits);

  // Runs one call for `session`, filling `reply`. Never throws: failures
  // become the reply's error. Returns false when the call was parked: its
  // reply will be delivered later through the session.
  bool Execute(const v1::Call& call, server::Session& session,
               v1::Reply* reply);

  const std::string& authkey() const { return authkey_; }
  const SessionLimits& limits() const { return limits_; }
  TimerQueue& timers() { return timers_; }
  size_t max_message_bytes() const { return limits_.max_message_bytes; }
  size_t max_reply_backlog_bytes() const {
    return limits_.max_reply_backlog_bytes;
  }
  uint64_t server_id() const { return server_id_; }
  ObjectStore& store() { return store_; }

  // The registry of live sessions, for counting and inspection. `peer`
  // describes the client's address; `transport` is "grpc" or "local".
  size_t session_count() const;
  void SessionStarted(const std::shared_ptr<Session>& session, std::string peer,
                      std::string transport);
  void SessionIdentified(uint64_t session_id, int64_t pid,
                         std::string client_name);
  void SessionEnded(uint64_t session_id);
  uint64_t NewSessionId() { return next_session_id_.fetch_add(1); }
  // A new session's stored-bytes quota; null when there is no limit.
  std::shared_ptr<ByteQuota> NewSessionQuota() const {
    if (limits_.max_stored_bytes_per_session == 0) return nullptr;
    return std::make_shared<ByteQuota>(limits_.max_stored_bytes_per_session);
  }

  // Ends every session, answering its parked calls (blocked acquires,
  // gets, waits) with ConnectionError `reason` first. For shutdown.
  void EndAllSessions(const std::string& reason);

  // "session 3 (peer ipv4:127.0.0.1:4242, pid 77, client 'worker')", for
  // logs.
  std::string DescribeSession(uint64_t session_id) const;

  // The threads that run custom methods and the local transport's loops.
  CustomExecutor* executor() { return &custom_executor_; }

  // What `mp-manager inspect` prints.
  void Inspect(v1::Inspection* out) const;

  // Set by the Shutdown operation (or the owner); whoever runs the server
  // waits for it. Safe to call any number of times from any thread.
  void RequestShutdown() {
    if (!shutdown_flag_.exchange(true)) shutdown_requested_.Notify();
  }
  absl::Notification& shutdown_requested() { return shutdown_requested_; }

 private:
  void ExecuteOrThrow(const v1::Call& call, const OpContext& ctx,
                      v1::Reply* reply);
  void Create(const v1::Create& create, const OpContext& ctx, v1::Reply* reply);
  // Hands `object` to the caller if it is of the requested type (a name
  // bound to another type is a TypeError).
  void CreateCustom(const v1::Create& create, const OpContext& ctx,
                    v1::Reply* reply);
  void ReturnNamed(const v1::Create& create,
                   const std::shared_ptr<ServerObject>& object,
                   const OpContext& ctx, v1::Reply* reply);

  struct SessionEntry {
    std::weak_ptr<Session> session;
    std::string peer;
    std::string transport;
    int64_t pid = 0;
    std::string client_name;
    absl::Time started;
  };

  const std::string authkey_;
  const SessionLimits limits_;
  const uint64_t server_id_;
  const absl::Time started_ = absl::Now();
  TimerQueue timers_;
  ObjectStore store_;
  mutable absl::Mutex sessions_mu_;
  absl::flat_hash_map<uint64_t, SessionEntry> sessions_
      ABSL_GUARDED_BY(sessions_mu_);
  std::atomic<uint64_t> next_session_id_{1};
  std::atomic<bool> shutdown_flag_{false};
  absl::Notification shutdown_requested_;
  // Runs custom types' methods. Last: destroyed (its running methods
  // finished) before the objects and timers they use.
  CustomExecutor custom_executor_;
};

}  // namespace mp::server

#endif  // MP_SERVER_SERVICE_H_
