#include "server/session_stream.h"

#include <chrono>
#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "server/log.h"
#include "server/session.h"

namespace mp::server {
namespace {

constexpr uint32_t kProtocolVersion = 1;
// Replies are flushed in messages of about this size.
constexpr size_t kFlushBytes = 1 << 20;

class SessionStream;

// A message waiting to be written, with its encoded size.
struct Outgoing {
  v1::ServerMessage message;
  size_t bytes;
};

// A completion-queue tag: which stream, which operation.
struct Tag {
  enum Kind { kAccept, kRead, kWrite, kFinish };
  SessionStream* stream;
  Kind kind;
};

// One client's stream, from accept to the last completion. Owns itself:
// deleted when no operation is outstanding any more.
class SessionStream final : public ReplySink {
 public:
  SessionStream(ManagerService* service, grpc::ServerCompletionQueue* cq,
                std::atomic<int>* live)
      : service_(service),
        cq_(cq),
        live_(live),
        stream_(&context_),
        session_(std::make_shared<server::Session>(
            service->NewSessionId(), service->NewSessionQuota())) {
    live_->fetch_add(1);
    session_->Attach(this);
    service_->grpc_service().RequestSession(&context_, &stream_, cq_, cq_,
                                            &accept_tag_);
  }

  ~SessionStream() override {
    live_->fetch_sub(1);
    // Waits for replies other threads are delivering right now.
    session_->Detach();
    session_->End();
    if (accepted_) service_->SessionEnded(session_->id());
    if (stage_ == Stage::kReady && LogEnabled(LogLevel::kInfo)) {
      Log(LogLevel::kInfo, "session " + std::to_string(session_->id()) +
                               " (pid " + std::to_string(client_pid_) +
                               ") ended");
    }
  }

  // Replies to parked calls, from any thread.
  bool Deliver(v1::Reply reply) override {
    v1::ServerMessage message;
    *message.add_replies() = std::move(reply);
    return Send(std::move(message));
  }

  // Runs on the worker of this stream's queue.
  void Proceed(Tag::Kind kind, bool ok) {
    switch (kind) {
      case Tag::kAccept:
        if (!ok) {  // the server is shutting down
          delete this;
          return;
        }
        new SessionStream(service_, cq_, live_);  // keep accepting
        accepted_ = true;
        service_->SessionStarted(session_, context_.peer());
        StartRead();
        return;
      case Tag::kRead:
        OnRead(ok);
        break;
      case Tag::kWrite:
        OnWrite(ok);
        break;
      case Tag::kFinish: {
        absl::MutexLock lock(&mu_);
        finish_pending_ = false;
        break;
      }
    }
    MaybeDelete();
  }

 private:
  enum class Stage { kHello, kProof, kReady };

  void StartRead() {
    absl::MutexLock lock(&mu_);
    read_pending_ = true;
    stream_.Read(&in_, &read_tag_);
  }

  void OnRead(bool ok) {
    {
      absl::MutexLock lock(&mu_);
      read_pending_ = false;
    }
    if (!ok) return EndSession(grpc::Status::OK);
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
  // for this client: then it pauses, and OnWrite carries on once the client
  // has taken enough of them. Without this a client that sends calls but
  // does not read could make the server buffer replies without bound.
  void RunCalls() {
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
    StartRead();
  }

  // Queues `messages`; then, if the backlog is still at the limit, marks
  // the call chain paused (OnWrite resumes it) and returns true. Never
  // pauses a stream whose writes failed: its next read fails and ends it.
  bool SendOrPause(std::vector<Outgoing> messages) {
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
      Log(LogLevel::kInfo, "session " + std::to_string(session_->id()) +
                               " (pid " + std::to_string(client_pid_) +
                               ") paused: " + std::to_string(backlog) +
                               " bytes of replies not yet read by the client "
                               "(max_reply_backlog_bytes)");
    }
    return true;
  }

  void OnHello() {
    const v1::Hello& hello = in_.hello();
    if (!in_.has_hello() ||
        hello.client_nonce().size() != internal::kNonceBytes) {
      return EndSession(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                     "AuthenticationError: expected Hello "
                                     "with a 32-byte client nonce"));
    }
    if (hello.protocol_version() != kProtocolVersion) {
      return EndSession(grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          "protocol version " + std::to_string(hello.protocol_version()) +
              " is not supported (server speaks " +
              std::to_string(kProtocolVersion) + ")"));
    }
    client_pid_ = hello.pid();
    service_->SessionIdentified(session_->id(), hello.pid(),
                                hello.client_name());
    client_nonce_ = hello.client_nonce();
    server_nonce_ = internal::RandomBytes(internal::kNonceBytes);
    v1::ServerMessage out;
    out.mutable_challenge()->set_server_nonce(server_nonce_);
    out.mutable_challenge()->set_server_proof(internal::ServerProof(
        service_->authkey(), client_nonce_, server_nonce_));
    stage_ = Stage::kProof;
    Send(std::move(out));
    StartRead();
  }

  void OnProof() {
    std::string expected = internal::ClientProof(service_->authkey(),
                                                 server_nonce_, client_nonce_);
    if (!in_.has_auth() ||
        !internal::ProofsEqual(in_.auth().client_proof(), expected)) {
      Log(LogLevel::kWarning, "client " + context_.peer() +
                                  " failed authentication (wrong authkey)");
      return EndSession(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                     "AuthenticationError: digest mismatch "
                                     "(wrong authkey)"));
    }
    stage_ = Stage::kReady;
    if (LogEnabled(LogLevel::kInfo)) {
      Log(LogLevel::kInfo, "session " + std::to_string(session_->id()) +
                               " opened by " + context_.peer() + " (pid " +
                               std::to_string(client_pid_) + ")");
    }
    v1::ServerMessage out;
    v1::Welcome* welcome = out.mutable_welcome();
    welcome->set_session_id(session_->id());
    welcome->set_server_id(service_->server_id());
    welcome->set_max_message_bytes(service_->max_message_bytes());
    Send(std::move(out));
    StartRead();
  }

  // Queues one message; false once the stream can take no more.
  bool Send(v1::ServerMessage message) {
    const size_t bytes = message.ByteSizeLong();
    absl::MutexLock lock(&mu_);
    if (write_failed_ || ending_) return false;
    QueueLocked(std::move(message), bytes);
    return true;
  }

  void QueueLocked(v1::ServerMessage message, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    backlog_bytes_ += bytes;
    outbox_.push_back({std::move(message), bytes});
    if (!write_pending_) StartNextWriteLocked();
  }

  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = std::move(outbox_.front().message);
    writing_bytes_ = outbox_.front().bytes;
    outbox_.pop_front();
    write_pending_ = true;
    grpc::WriteOptions options;
    // More replies are queued behind this one: let gRPC coalesce them.
    if (!outbox_.empty()) options.set_buffer_hint();
    stream_.Write(writing_, options, &write_tag_);
  }

  void OnWrite(bool ok) {
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
      if (!outbox_.empty()) {
        StartNextWriteLocked();
      } else if (ending_) {
        StartFinishLocked();
      }
    }
    if (!resume) return;
    // The client is gone: the paused read chain ends the session.
    if (!ok) return EndSession(grpc::Status::OK);
    RunCalls();  // this stream's worker thread, like OnRead
  }

  // The client half-closed, the stream broke, or authentication failed:
  // finish once queued replies are out.
  void EndSession(grpc::Status status) {
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

  void StartFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_started_) return;
    finish_started_ = true;
    finish_pending_ = true;
    stream_.Finish(finish_status_, &finish_tag_);
  }

  void MaybeDelete() {
    {
      absl::MutexLock lock(&mu_);
      if (!finish_started_ || finish_pending_ || read_pending_ ||
          write_pending_) {
        return;
      }
    }
    delete this;
  }

  ManagerService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  std::atomic<int>* const live_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReaderWriter<v1::ServerMessage, v1::ClientMessage> stream_;
  std::shared_ptr<server::Session> session_;
  Tag accept_tag_{this, Tag::kAccept};
  Tag read_tag_{this, Tag::kRead};
  Tag write_tag_{this, Tag::kWrite};
  Tag finish_tag_{this, Tag::kFinish};
  bool accepted_ = false;

  // Touched only by the read chain (one read at a time).
  Stage stage_ = Stage::kHello;
  std::string client_nonce_;
  int64_t client_pid_ = 0;
  std::string server_nonce_;
  v1::ClientMessage in_;

  int next_call_ = 0;  // the next call of in_ to run

  absl::Mutex mu_;
  std::deque<Outgoing> outbox_ ABSL_GUARDED_BY(mu_);
  v1::ServerMessage writing_ ABSL_GUARDED_BY(mu_);
  size_t writing_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes of replies queued or being written: the client's backlog.
  size_t backlog_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The call chain stopped at the backlog limit; OnWrite resumes it.
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool read_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

SessionWorkers::SessionWorkers(ManagerService* service,
                               grpc::ServerBuilder& builder, int threads)
    : service_(service) {
  for (int i = 0; i < threads; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

SessionWorkers::~SessionWorkers() { Stop(); }

void SessionWorkers::Start() {
  for (auto& cq : queues_) {
    new SessionStream(service_, cq.get(), &live_streams_);
    threads_.emplace_back([this, q = cq.get()] { Run(q); });
  }
}

void SessionWorkers::Stop() {
  if (threads_.empty()) return;
  // The server has shut down, so every stream is ending; its last
  // operations (Finish above all) still need the queues. Shutting a queue
  // down under a stream that is about to start one aborts the process
  // (gRPC asserts; measured under load), so wait for the streams first -
  // boundedly, in case one never completes.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (live_streams_.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& cq : queues_) cq->Shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void SessionWorkers::Run(grpc::ServerCompletionQueue* cq) {
  void* raw;
  bool ok;
  while (cq->Next(&raw, &ok)) {
    Tag* tag = static_cast<Tag*>(raw);
    tag->stream->Proceed(tag->kind, ok);
  }
}

}  // namespace mp::server
