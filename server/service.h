// The manager's operations: runs calls for sessions against the object
// store. Transport-free; server/session_stream.h carries calls to it.
#ifndef MP_SERVER_SERVICE_H_
#define MP_SERVER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/synchronization/notification.h"
#include "mp/v1/session.grpc.pb.h"
#include "server/object_store.h"
#include "server/op_context.h"
#include "server/timer_queue.h"
#include "server/session.h"

namespace mp::server {

// Thread-safe.
class ManagerService {
 public:
  ManagerService(std::string authkey, size_t max_message_bytes);

  // The generated async service the sessions are served through.
  v1::Manager::AsyncService& grpc_service() { return grpc_service_; }

  // Runs one call for `session`, filling `reply`. Never throws: failures
  // become the reply's error. Returns false when the call was parked: its
  // reply will be delivered later through the session.
  bool Execute(const v1::Call& call, server::Session& session, v1::Reply* reply);

  const std::string& authkey() const { return authkey_; }
  size_t max_message_bytes() const { return max_message_bytes_; }
  uint64_t server_id() const { return server_id_; }
  ObjectStore& store() { return store_; }

  size_t session_count() const { return sessions_.load(); }
  void SessionStarted() { sessions_.fetch_add(1); }
  void SessionEnded() { sessions_.fetch_sub(1); }
  uint64_t NewSessionId() { return next_session_id_.fetch_add(1); }

  // Set by the Shutdown operation (or the owner); whoever runs the server
  // waits for it. Safe to call any number of times from any thread.
  void RequestShutdown() {
    if (!shutdown_flag_.exchange(true)) shutdown_requested_.Notify();
  }
  absl::Notification& shutdown_requested() { return shutdown_requested_; }

 private:
  void ExecuteOrThrow(const v1::Call& call, const OpContext& ctx,
                      v1::Reply* reply);
  void Create(const v1::Create& create, server::Session& session,
              v1::Reply* reply);

  v1::Manager::AsyncService grpc_service_;
  const std::string authkey_;
  const size_t max_message_bytes_;
  const uint64_t server_id_;
  TimerQueue timers_;
  ObjectStore store_;
  std::atomic<size_t> sessions_{0};
  std::atomic<uint64_t> next_session_id_{1};
  std::atomic<bool> shutdown_flag_{false};
  absl::Notification shutdown_requested_;
};

}  // namespace mp::server

#endif  // MP_SERVER_SERVICE_H_
