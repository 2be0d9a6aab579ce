// The client's session with one manager server: a single stream of
// messages, shared by all of a process's threads, over a ClientTransport
// (gRPC, or the local transport on the same host).
//
// Calls are tagged with ids and may complete out of order. Calls queued
// while a write is in flight leave together in the next message
// (pipelining). There is no reader thread: a thread waiting for a reply
// polls the transport itself when no other thread is doing so
// (leader/follower), so a reply wakes its caller directly.
#ifndef MP_PROXY_CONNECTION_H_
#define MP_PROXY_CONNECTION_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mp/object.h"
#include "mp/tls.h"
#include "mp/transport.h"
#include "mp/v1/session.pb.h"
#include "proxy/client_transport.h"

namespace mp::internal {

struct PendingCall;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Connects and authenticates. Throws AuthenticationError (wrong key, or
  // a server that cannot prove it knows the key) or ConnectionError.
  // With `tls`, over TLS (mutual when it has a client certificate).
  // `transport`: see mp::Transport; kLocal without a local transport at
  // `address` is a ConnectionError, kLocal with TLS a ValueError.
  static std::shared_ptr<Connection> Open(
      const std::string& address, const std::string& authkey,
      const std::optional<TlsOptions>& tls = std::nullopt,
      Transport transport = Transport::kAuto);

  // This process's working connection to `address`, opened on first use
  // (or again after the last one broke, e.g. the server restarted).
  static std::shared_ptr<Connection> Get(
      const std::string& address, const std::string& authkey,
      const std::optional<TlsOptions>& tls = std::nullopt,
      Transport transport = Transport::kAuto);

  // The connection this process should use for `address`: `existing` if it
  // was opened by this process, otherwise this process's own (opened on
  // first use). How a forked child stops using its parent's session.
  static std::shared_ptr<Connection> ForCurrentProcess(
      const std::shared_ptr<Connection>& existing);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `call` and waits for its reply. Throws the reply's error as its
  // mp::Error subtype, ConnectionError when the session is lost,
  // TimeoutError after `timeout`, and ValueError when the call is larger
  // than the server accepts.
  v1::Reply Call(v1::Call call, absl::Duration timeout = kDefaultTimeout);

  // Sends `call` without waiting; Wait() collects the reply.
  std::shared_ptr<PendingCall> CallAsync(v1::Call call);
  v1::Reply Wait(const std::shared_ptr<PendingCall>& pending,
                 absl::Duration timeout = kDefaultTimeout);

  // Gives back one reference, fire-and-forget. Never blocks or throws:
  // it runs from destructors.
  void Release(uint64_t id) noexcept;

  // Sends `call` without a reply (call_id 0): for operations whose success
  // the client already knows (releasing a lock it holds).
  void Send(v1::Call call);

  // Lock permits this process's `thread` holds on object `id`, as far as
  // the client knows: an acquire it saw succeed, not yet released.
  void NoteAcquired(uint64_t id, uint64_t thread);
  // Takes one such permit; false if none is known.
  bool TakeAcquired(uint64_t id, uint64_t thread);

  // Decodes a value from the server: proxy references become handles that
  // own the reference the server handed over.
  Object Decode(const v1::Value& value);
  // Encodes a value for the server. A proxy from another server is a
  // TypeError; one this process's session does not hold yet is attached.
  void Encode(const Object& value, v1::Value* out);

  pid_t owner_pid() const { return owner_pid_; }
  const std::string& address() const { return address_; }
  const std::string& authkey() const { return authkey_; }
  const std::optional<TlsOptions>& tls() const { return tls_; }
  // What was asked for (children ask for the same) and what it became.
  Transport requested_transport() const { return requested_transport_; }
  const char* transport_name() const { return transport_->name(); }
  // The session broke (server gone or restarted); calls fail at once.
  bool broken() const;
  uint64_t server_id() const { return server_id_; }
  uint64_t max_message_bytes() const { return max_message_bytes_; }

  // Non-blocking operations still get a deadline, as a backstop behind the
  // keepalive that detects a dead server.
  static constexpr absl::Duration kDefaultTimeout = absl::Minutes(5);

 private:
  Connection(std::string address, std::string authkey,
             std::optional<TlsOptions> tls, Transport transport);
  // Opens transport_ as requested_transport_ asks.
  void OpenTransport(absl::Time deadline);
  void Handshake();
  // The handshake's steps: a message sent, a message received.
  void HandshakeWrite(const v1::ClientMessage& message, absl::Time deadline);
  v1::ServerMessage HandshakeRead(absl::Time deadline);
  // The server ended the stream during the handshake: throws its reason.
  [[noreturn]] void ThrowHandshakeEnd(absl::Time deadline);
  void Enqueue(v1::Call call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One completion-queue event, waiting at most until `deadline`.
  void PollOnce(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Takes whatever the transport already has, without waiting, unless
  // another thread is the leader (then it is reading anyway). Drops mu_
  // while polling.
  void PollWithoutWaitingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkBrokenLocked(const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  [[noreturn]] void ThrowBrokenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string address_;
  const std::string authkey_;
  const std::optional<TlsOptions> tls_;
  const Transport requested_transport_;
  const pid_t owner_pid_;
  uint64_t server_id_ = 0;
  uint64_t max_message_bytes_ = 0;
  std::unique_ptr<ClientTransport> transport_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool leader_active_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_reason_ ABSL_GUARDED_BY(mu_);
  uint64_t next_call_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<PendingCall>> pending_
      ABSL_GUARDED_BY(mu_);
  std::vector<v1::Call> outbox_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  v1::ClientMessage write_buf_ ABSL_GUARDED_BY(mu_);
  v1::ServerMessage read_buf_;  // owned by the current leader
  // A handshake reply that arrived before its request's write completed.
  std::optional<v1::ServerMessage> early_reply_;
  absl::Mutex held_mu_;
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, int64_t> held_
      ABSL_GUARDED_BY(held_mu_);
};

struct PendingCall {
  uint64_t id = 0;
  bool done = false;  // guarded by the connection's mutex
  v1::Reply reply;
};

}  // namespace mp::internal

#endif  // MP_PROXY_CONNECTION_H_
