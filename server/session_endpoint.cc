#include "server/session_endpoint.h"

#include <string>
#include <utility>

#include "common/auth.h"
#include "server/log.h"

namespace mp::server {
namespace {

constexpr uint32_t kProtocolVersion = 1;
// Replies are flushed in messages of about this size.
constexpr size_t kFlushBytes = 1 << 20;

}  // namespace

SessionEndpoint::SessionEndpoint(ManagerService* service, const char* transport)
    : service_(service),
      transport_(transport),
      session_(std::make_shared<Session>(service->NewSessionId(),
                                         service->NewSessionQuota())) {
  session_->Attach(this);
}

SessionEndpoint::~SessionEndpoint() {
  DisarmHandshakeDeadline();
  // Waits for replies other threads are delivering right now.
  session_->Detach();
  session_->End();
  if (registered_) service_->SessionEnded(session_->id());
  if (stage_ == Stage::kReady && LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo, Describe() + " ended");
  }
}

std::string SessionEndpoint::Describe() const {
  return "session " + std::to_string(session_->id()) + " (" + transport_ +
         ", pid " + std::to_string(client_pid_) + ")";
}

void SessionEndpoint::Accepted(std::string peer) {
  accepted_ = true;
  peer_ = std::move(peer);
  const SessionLimits& limits = service_->limits();
  if (limits.max_sessions > 0 &&
      service_->session_count() >= limits.max_sessions) {
    Log(LogLevel::kWarning,
        "refused a connection from " + peer_ + ": the server has " +
            std::to_string(limits.max_sessions) + " sessions (max_sessions)");
    return EndSession(absl::ResourceExhaustedError(
        "the manager serves at most " + std::to_string(limits.max_sessions) +
        " sessions (max_sessions)"));
  }
  service_->SessionStarted(session_, peer_, transport_);
  registered_ = true;
  // A client that connects and never finishes its handshake would keep a
  // connection (an fd) forever: it gets until the deadline.
  if (limits.handshake_timeout > absl::ZeroDuration()) {
    deadline_guard_ = std::make_shared<DeadlineGuard>();
    {
      absl::MutexLock lock(&deadline_guard_->mu);
      deadline_guard_->endpoint = this;
    }
    service_->timers().Schedule(
        absl::Now() + limits.handshake_timeout,
        [guard = std::weak_ptr<DeadlineGuard>(deadline_guard_),
         timeout = limits.handshake_timeout] {
          auto g = guard.lock();
          if (g == nullptr) return;
          absl::MutexLock lock(&g->mu);
          // Disarmed once the handshake is done (the timer thread must
          // not read stage_: the session's thread writes it unlocked).
          if (g->endpoint == nullptr) return;
          Log(LogLevel::kWarning,
              "closing an unauthenticated connection from " +
                  g->endpoint->peer_ + ": no handshake within " +
                  absl::FormatDuration(timeout) + " (handshake_timeout)");
          g->endpoint->Abort();
        });
  }
  {
    // The handshake deadline's timer may already reach this endpoint.
    absl::MutexLock lock(&mu_);
    read_pending_ = true;
  }
  StartRead();
}

bool SessionEndpoint::Deliver(v1::Reply reply) {
  v1::ServerMessage message;
  *message.add_replies() = std::move(reply);
  return Send(std::move(message));
}

void SessionEndpoint::DisarmHandshakeDeadline() {
  if (deadline_guard_ == nullptr) return;
  absl::MutexLock lock(&deadline_guard_->mu);
  deadline_guard_->endpoint = nullptr;
}

void SessionEndpoint::OnReadError(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
  }
  EndSession(std::move(status));
}

void SessionEndpoint::OnRead(bool ok) {
  if (!ok) return OnReadError(absl::OkStatus());
  {
    absl::MutexLock lock(&mu_);
    read_pending_ = false;
  }
  switch (stage_) {
    case Stage::kHello:
      return OnHello();
    case Stage::kProof:
      return OnProof();
    case Stage::kReady:
      break;
  }
  next_call_ = 0;
  RunCalls();
}

// Runs the calls of the message read (in_) from next_call_ on, in order,
// then reads the next message - unless too many reply bytes already wait
// for this client: then it pauses, and OnWriteDone carries on once the
// client has taken enough of them. Without this a client that sends calls
// but does not read could make the server buffer replies without bound.
void SessionEndpoint::RunCalls() {
  const size_t limit = service_->max_reply_backlog_bytes();
  size_t backlog;
  {
    absl::MutexLock lock(&mu_);
    backlog = backlog_bytes_;
  }
  v1::ServerMessage out;
  size_t out_bytes = 0;
  std::vector<Outgoing> full;
  const int count = in_.calls_size();
  while (next_call_ < count) {
    if (backlog >= limit) {
      if (out.replies_size() > 0) full.push_back({std::move(out), out_bytes});
      if (SendOrPause(std::move(full))) return;
      // Writes made room meanwhile (or failed: the next read ends the
      // session): carry on.
      full.clear();
      out = v1::ServerMessage();
      out_bytes = 0;
      absl::MutexLock lock(&mu_);
      backlog = backlog_bytes_;
      continue;
    }
    const v1::Call& call = in_.calls(next_call_++);
    if (call.call_id() == 0) {
      // Fire-and-forget (Release): no reply wanted.
      v1::Reply ignored;
      service_->Execute(call, *session_, &ignored);
      continue;
    }
    v1::Reply* reply = out.add_replies();
    if (!service_->Execute(call, *session_, reply)) {
      out.mutable_replies()->RemoveLast();  // parked: answered later
      continue;
    }
    size_t bytes = reply->ByteSizeLong();
    if (bytes > service_->max_message_bytes()) {
      // The client could not receive it; send an error in its place.
      uint64_t id = reply->call_id();
      reply->Clear();
      reply->set_call_id(id);
      reply->mutable_error()->set_type("ValueError");
      reply->mutable_error()->set_message(
          "reply of " + std::to_string(bytes) +
          " bytes exceeds the message limit of " +
          std::to_string(service_->max_message_bytes()) + " bytes");
      bytes = reply->ByteSizeLong();
    }
    out_bytes += bytes;
    backlog += bytes;
    if (out_bytes >= kFlushBytes) {
      full.push_back({std::move(out), out_bytes});
      out = v1::ServerMessage();
      out_bytes = 0;
    }
  }
  if (out.replies_size() > 0) full.push_back({std::move(out), out_bytes});
  // Replies first, then the next read: the reply is on its way sooner.
  if (SendOrPause(std::move(full))) return;
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    read_pending_ = true;
  }
  StartRead();
}

// Queues `messages`; then, if the backlog is still at the limit, marks the
// call chain paused (OnWriteDone resumes it) and returns true. Never
// pauses a stream whose writes failed: its next read fails and ends it.
bool SessionEndpoint::SendOrPause(std::vector<Outgoing> messages) {
  size_t backlog;
  {
    absl::MutexLock lock(&mu_);
    if (write_failed_ || ending_) return false;
    for (auto& m : messages) QueueLocked(std::move(m.message), m.bytes);
    backlog = backlog_bytes_;
    if (backlog < service_->max_reply_backlog_bytes()) return false;
    paused_ = true;
  }
  if (LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo, Describe() + " paused: " + std::to_string(backlog) +
                             " bytes of replies not yet read by the client "
                             "(max_reply_backlog_bytes)");
  }
  return true;
}

void SessionEndpoint::OnHello() {
  const v1::Hello& hello = in_.hello();
  if (!in_.has_hello() ||
      hello.client_nonce().size() != internal::kNonceBytes) {
    return EndSession(
        absl::UnauthenticatedError("AuthenticationError: expected Hello "
                                   "with a 32-byte client nonce"));
  }
  if (hello.protocol_version() != kProtocolVersion) {
    return EndSession(absl::FailedPreconditionError(
        "protocol version " + std::to_string(hello.protocol_version()) +
        " is not supported (server speaks " + std::to_string(kProtocolVersion) +
        ")"));
  }
  client_pid_ = hello.pid();
  service_->SessionIdentified(session_->id(), hello.pid(), hello.client_name());
  client_nonce_ = hello.client_nonce();
  server_nonce_ = internal::RandomBytes(internal::kNonceBytes);
  v1::ServerMessage out;
  out.mutable_challenge()->set_server_nonce(server_nonce_);
  out.mutable_challenge()->set_server_proof(
      internal::ServerProof(service_->authkey(), client_nonce_, server_nonce_));
  stage_ = Stage::kProof;
  Send(std::move(out));
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    read_pending_ = true;
  }
  StartRead();
}

void SessionEndpoint::OnProof() {
  std::string expected =
      internal::ClientProof(service_->authkey(), server_nonce_, client_nonce_);
  if (!in_.has_auth() ||
      !internal::ProofsEqual(in_.auth().client_proof(), expected)) {
    Log(LogLevel::kWarning,
        "client " + peer_ + " failed authentication (wrong authkey)");
    return EndSession(absl::UnauthenticatedError(
        "AuthenticationError: digest mismatch (wrong authkey)"));
  }
  stage_ = Stage::kReady;
  DisarmHandshakeDeadline();
  if (LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo, Describe() + " opened by " + peer_);
  }
  v1::ServerMessage out;
  v1::Welcome* welcome = out.mutable_welcome();
  welcome->set_session_id(session_->id());
  welcome->set_server_id(service_->server_id());
  welcome->set_max_message_bytes(service_->max_message_bytes());
  Send(std::move(out));
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    read_pending_ = true;
  }
  StartRead();
}

// Queues one message; false once the stream can take no more.
bool SessionEndpoint::Send(v1::ServerMessage message) {
  const size_t bytes = message.ByteSizeLong();
  absl::MutexLock lock(&mu_);
  if (write_failed_ || ending_) return false;
  QueueLocked(std::move(message), bytes);
  return true;
}

void SessionEndpoint::QueueLocked(v1::ServerMessage message, size_t bytes) {
  backlog_bytes_ += bytes;
  outbox_.push_back({std::move(message), bytes});
  if (!write_pending_) StartNextWritesLocked();
}

void SessionEndpoint::StartNextWritesLocked() {
  // A transport that writes at once (the local one, when the socket has
  // room) takes the whole outbox here.
  while (!outbox_.empty()) {
    writing_ = std::move(outbox_.front().message);
    writing_bytes_ = outbox_.front().bytes;
    outbox_.pop_front();
    if (!StartWrite(writing_)) {
      write_pending_ = true;
      return;
    }
    backlog_bytes_ -= writing_bytes_;
    writing_bytes_ = 0;
  }
  if (ending_) StartFinishLocked();
}

void SessionEndpoint::OnWriteDone(bool ok) {
  bool resume = false;
  {
    absl::MutexLock lock(&mu_);
    write_pending_ = false;
    backlog_bytes_ -= writing_bytes_;
    writing_bytes_ = 0;
    if (!ok) {
      write_failed_ = true;
      outbox_.clear();
      backlog_bytes_ = 0;
    }
    // (A paused stream is never ending: only its read chain ends it.)
    if (paused_ &&
        (!ok || backlog_bytes_ < service_->max_reply_backlog_bytes())) {
      paused_ = false;
      resume = true;
    }
    if (ok) {
      StartNextWritesLocked();
    } else if (ending_) {
      StartFinishLocked();
    }
  }
  if (!resume) return;
  // The client is gone: the paused read chain ends the session.
  if (!ok) return EndSession(absl::OkStatus());
  RunCalls();  // this stream's transport thread, like OnRead
}

void SessionEndpoint::EndSession(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    ending_ = true;
    finish_status_ = std::move(status);
    if (!write_pending_) StartFinishLocked();
  }
  // The lease ends with the stream: locks held are given back, parked
  // calls cancelled, references dropped - now, not when the last
  // completion trickles in.
  session_->Detach();
  session_->End();
}

void SessionEndpoint::StartFinishLocked() {
  if (finish_started_) return;
  finish_started_ = true;
  finish_pending_ = !StartFinish(finish_status_);
}

void SessionEndpoint::OnFinishDone() {
  absl::MutexLock lock(&mu_);
  finish_pending_ = false;
}

bool SessionEndpoint::Quiescent() {
  absl::MutexLock lock(&mu_);
  return finish_started_ && !finish_pending_ && !read_pending_ &&
         !write_pending_;
}

}  // namespace mp::server
