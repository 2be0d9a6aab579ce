// One client's session as the server speaks it, whatever carries the
// bytes: the handshake (Hello, Challenge, AuthProof, Welcome), running the
// calls of each message inline on the thread that read it, replies and
// late replies (parked calls) in order, the reply backlog limit that
// pauses a client which does not read, the handshake deadline, and the
// end of the session - which gives back everything it held (the lease).
//
// A transport (server/grpc_transport.h, server/local_transport.h)
// subclasses it: it moves messages and reports completions; every rule
// above lives here once, so no feature works on one transport only.
#ifndef MP_SERVER_SESSION_ENDPOINT_H_
#define MP_SERVER_SESSION_ENDPOINT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "mp/v1/session.pb.h"
#include "server/service.h"
#include "server/session.h"
#include "server/timer_queue.h"

namespace mp::server {

class SessionEndpoint : public ReplySink {
 public:
  // `transport`: "grpc" or "local", for inspection and logs.
  SessionEndpoint(ManagerService* service, const char* transport);
  // Ends the session if the transport has not (its leases are given back).
  ~SessionEndpoint() override;

  SessionEndpoint(const SessionEndpoint&) = delete;
  SessionEndpoint& operator=(const SessionEndpoint&) = delete;

  // A reply to a parked call, from any thread.
  bool Deliver(v1::Reply reply) override;

  uint64_t session_id() const { return session_->id(); }

  // True once the session has finished and nothing is outstanding: the
  // transport may delete this.
  bool Quiescent();

 protected:
  // ---- called by the transport ----
  // A client connected: registers the session and reads its Hello - or,
  // when the server already has max_sessions, refuses it. `peer` describes
  // the client's address.
  void Accepted(std::string peer);
  // The message the transport read into in() arrived (ok), or reading
  // failed: the peer closed or broke the stream (!ok).
  void OnRead(bool ok);
  // The read failed for a reason the client should be told (a malformed
  // or oversized message): ends the session with `status`.
  void OnReadError(absl::Status status);
  // The write StartWrite began (and did not finish at once) completed.
  void OnWriteDone(bool ok);
  // The finish StartFinish began completed.
  void OnFinishDone();
  // Ends the session: replies already queued still go out, then the
  // transport finishes with `status`. Leases are given back now. On the
  // transport's thread for this session (other threads use Abort).
  void EndSession(absl::Status status);

  v1::ClientMessage& in() { return in_; }
  ManagerService* service() const { return service_; }
  bool ready() const { return stage_ == Stage::kReady; }

  // ---- implemented by the transport ----
  // Reads the next message into in(), then calls OnRead. Called on the
  // transport's thread for this session, at most one read at a time.
  virtual void StartRead() = 0;
  // Starts writing `message`. True if it was written at once (no
  // OnWriteDone follows); false if OnWriteDone will report it. At most one
  // write at a time; called with mu_ held.
  virtual bool StartWrite(const v1::ServerMessage& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // The last write is out: ends the stream telling the client `status`.
  // True if done at once; false if OnFinishDone will report it. Called
  // with mu_ held.
  virtual bool StartFinish(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Breaks the stream from any thread (a client that never finished its
  // handshake): pending operations fail, which ends the session.
  virtual void Abort() = 0;

  // Guards the write side; transports guard their own write state with it.
  absl::Mutex mu_;

 private:
  enum class Stage { kHello, kProof, kReady };
  // A message waiting to be written, with its encoded size.
  struct Outgoing {
    v1::ServerMessage message;
    size_t bytes;
  };

  void OnHello();
  void OnProof();
  // Runs the calls of in_ from next_call_ on, then reads the next message
  // - or pauses at the reply backlog limit.
  void RunCalls();
  bool SendOrPause(std::vector<Outgoing> messages);
  bool Send(v1::ServerMessage message);
  void QueueLocked(v1::ServerMessage message, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartNextWritesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Describe() const;

  // The handshake deadline's timer no longer reaches this endpoint: it is
  // ending, or the client authenticated.
  void DisarmHandshakeDeadline();

  // Lets the handshake deadline's timer reach this endpoint only while it
  // lives and has not authenticated.
  struct DeadlineGuard {
    absl::Mutex mu;
    SessionEndpoint* endpoint ABSL_GUARDED_BY(mu);
  };

  ManagerService* const service_;
  const char* const transport_;
  const std::shared_ptr<Session> session_;
  bool accepted_ = false;
  bool registered_ = false;
  std::string peer_;
  std::shared_ptr<DeadlineGuard> deadline_guard_;

  // Touched only by the read chain (one read at a time).
  Stage stage_ = Stage::kHello;
  std::string client_nonce_;
  int64_t client_pid_ = 0;
  std::string server_nonce_;
  v1::ClientMessage in_;
  int next_call_ = 0;  // the next call of in_ to run

  std::deque<Outgoing> outbox_ ABSL_GUARDED_BY(mu_);
  size_t writing_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes of replies queued or being written: the client's backlog.
  size_t backlog_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The call chain stopped at the backlog limit; OnWriteDone resumes it.
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status finish_status_ ABSL_GUARDED_BY(mu_);
  // The message being written (kept alive for an asynchronous write).
  v1::ServerMessage writing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_SESSION_ENDPOINT_H_
