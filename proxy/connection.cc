#include "proxy/connection.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/current_pid.h"
#include "common/auth.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "proxy/grpc_client_transport.h"
#include "proxy/local_client_transport.h"
#include "proxy/proxy_handle.h"

namespace mp::internal {
namespace {

constexpr uint32_t kProtocolVersion = 1;
constexpr absl::Duration kHandshakeTimeout = absl::Seconds(10);
// Replies are routed by id; more than this many calls in flight and
// CallAsync waits for some to finish.
constexpr size_t kMaxInFlight = 1 << 16;
// Room for the envelope around a call inside a ClientMessage.
constexpr size_t kEnvelopeBytes = 1024;

// This process's connections by address and key, for forked children.
struct Registry {
  absl::Mutex mu;
  pid_t pid ABSL_GUARDED_BY(mu) = 0;
  absl::flat_hash_map<std::string, std::weak_ptr<Connection>> by_key
      ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  // Leaked: connections may be released during static destruction.
  static Registry* registry = [] {
    auto* r = new Registry;
    // A fork()ed child opens its own connections through the registry: it
    // must not inherit its lock held by some other thread of the parent.
    // The child gets a fresh mutex rather than Unlock(): a thread queueing
    // on it at the fork leaves absl's bookkeeping half done, and Unlock()
    // would spin on it forever (seen with mp::Process's own state lock).
    // The lock is held from one handler to the next, which the
    // thread-safety analysis cannot follow.
    pthread_atfork(
        []() ABSL_NO_THREAD_SAFETY_ANALYSIS { GetRegistry().mu.Lock(); },
        []() ABSL_NO_THREAD_SAFETY_ANALYSIS { GetRegistry().mu.Unlock(); },
        [] { new (&GetRegistry().mu) absl::Mutex(); });
    return r;
  }();
  return *registry;
}

}  // namespace

Connection::Connection(std::string address, std::string authkey,
                       std::optional<TlsOptions> tls, Transport transport)
    : address_(std::move(address)),
      authkey_(std::move(authkey)),
      tls_(std::move(tls)),
      requested_transport_(transport),
      owner_pid_(CurrentPid()) {}

Connection::~Connection() {
  if (CurrentPid() != owner_pid_) {
    // Inherited across fork(): the transport's state belongs to the
    // parent (a gRPC runtime, a socket closed at fork). Touching it here
    // could hang or corrupt; leak it instead.
    (void)transport_.release();
    return;
  }
  transport_.reset();
}

namespace {

std::string RegistryKey(const std::string& address, const std::string& authkey,
                        Transport transport) {
  return address + '\0' + authkey + '\0' +
         std::to_string(static_cast<int>(transport));
}

}  // namespace

std::shared_ptr<Connection> Connection::Open(
    const std::string& address, const std::string& authkey,
    const std::optional<TlsOptions>& tls, Transport transport) {
  if (address.empty()) throw ValueError("manager address is empty");
  if (transport == Transport::kLocal && tls) {
    throw ValueError(
        "the local transport does not use TLS; use Transport::kGrpc for a "
        "TLS connection");
  }
  std::shared_ptr<Connection> conn(
      new Connection(address, authkey, tls, transport));
  conn->Handshake();
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  if (registry.pid != CurrentPid()) {
    // Entries inherited from a parent: drop without touching them (their
    // weak_ptrs' control blocks belong to the parent's connections). The
    // first registration of a process has none and leaks nothing.
    if (!registry.by_key.empty()) {
      new absl::flat_hash_map<std::string, std::weak_ptr<Connection>>(
          std::move(registry.by_key));
      registry.by_key.clear();
    }
    registry.pid = CurrentPid();
  }
  registry.by_key[RegistryKey(address, authkey, transport)] = conn;
  return conn;
}

std::shared_ptr<Connection> Connection::Get(
    const std::string& address, const std::string& authkey,
    const std::optional<TlsOptions>& tls, Transport transport) {
  Registry& registry = GetRegistry();
  {
    absl::MutexLock lock(&registry.mu);
    if (registry.pid == CurrentPid()) {
      auto it = registry.by_key.find(RegistryKey(address, authkey, transport));
      if (it != registry.by_key.end()) {
        auto conn = it->second.lock();
        if (conn != nullptr && !conn->broken()) return conn;
      }
    }
  }
  return Open(address, authkey, tls, transport);
}

bool Connection::broken() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

std::shared_ptr<Connection> Connection::ForCurrentProcess(
    const std::shared_ptr<Connection>& existing) {
  if (existing->owner_pid() == CurrentPid()) return existing;
  std::shared_ptr<Connection> conn =
      Get(existing->address_, existing->authkey_, existing->tls_,
          existing->requested_transport_);
  if (conn->server_id() != existing->server_id()) {
    throw ConnectionError("the manager at " + existing->address_ +
                          " was restarted; its old proxies are invalid");
  }
  return conn;
}

void Connection::OpenTransport(absl::Time deadline) {
  constexpr std::string_view kUnix = "unix:";
  const bool unix_address = address_.rfind(kUnix, 0) == 0;
  Transport transport = requested_transport_;
  // MP_TRANSPORT=grpc turns kAuto into gRPC for a whole process tree: to
  // compare the transports, or to rule one out.
  if (const char* env = getenv("MP_TRANSPORT");
      transport == Transport::kAuto && env != nullptr &&
      std::string_view(env) == "grpc") {
    transport = Transport::kGrpc;
  }
  if (transport == Transport::kLocal ||
      (transport == Transport::kAuto && unix_address && !tls_)) {
    if (unix_address) {
      transport_ = LocalClientTransport::Connect(
          address_.substr(kUnix.size()) + std::string(kLocalSocketSuffix),
          deadline);
    }
    if (transport_ != nullptr) return;
    if (transport == Transport::kLocal) {
      throw ConnectionError(
          "the manager at " + address_ +
          " offers no local transport (it needs a unix: address whose "
          "server also listens at PATH" +
          std::string(kLocalSocketSuffix) + ")");
    }
  }
  transport_ = GrpcClientTransport::Connect(address_, tls_, deadline);
}

void Connection::HandshakeWrite(const v1::ClientMessage& message,
                                absl::Time deadline) {
  if (transport_->StartWrite(message)) return;
  for (;;) {
    switch (transport_->Poll(deadline, &read_buf_)) {
      case ClientTransport::Event::kWriteDone:
        return;
      case ClientTransport::Event::kTimeout:
        transport_->Cancel();
        throw ConnectionError("timed out connecting to the manager at " +
                              address_);
      case ClientTransport::Event::kRead:
        // The reply overtook the write's completion (gRPC reports them in
        // any order): keep it for HandshakeRead.
        if (early_reply_) {
          throw ConnectionError("the manager at " + address_ +
                                " broke the handshake (spoke out of turn)");
        }
        early_reply_ = std::move(read_buf_);
        read_buf_.Clear();
        continue;
      case ClientTransport::Event::kWriteFailed:
      case ClientTransport::Event::kClosed:
        ThrowHandshakeEnd(deadline);
    }
  }
}

v1::ServerMessage Connection::HandshakeRead(absl::Time deadline) {
  if (early_reply_) {
    v1::ServerMessage message = std::move(*early_reply_);
    early_reply_.reset();
    return message;
  }
  v1::ServerMessage message;
  for (;;) {
    switch (transport_->Poll(deadline, &message)) {
      case ClientTransport::Event::kRead:
        return message;
      case ClientTransport::Event::kWriteDone:
        continue;
      case ClientTransport::Event::kTimeout:
        transport_->Cancel();
        throw ConnectionError("timed out connecting to the manager at " +
                              address_);
      case ClientTransport::Event::kWriteFailed:
      case ClientTransport::Event::kClosed:
        ThrowHandshakeEnd(deadline);
    }
  }
}

void Connection::ThrowHandshakeEnd(absl::Time deadline) {
  // The server ended the stream; its status says why.
  absl::Status status = transport_->EndStatus(deadline);
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    std::string msg(status.message());
    const std::string prefix = "AuthenticationError: ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw AuthenticationError(msg);
  }
  throw ConnectionError("cannot connect to the manager at " + address_ + ": " +
                        std::string(status.message()));
}

void Connection::Handshake() {
  const absl::Time deadline = absl::Now() + kHandshakeTimeout;
  OpenTransport(deadline);
  const std::string client_nonce = RandomBytes(kNonceBytes);
  v1::ClientMessage hello;
  hello.mutable_hello()->set_client_nonce(client_nonce);
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  hello.mutable_hello()->set_pid(CurrentPid());
  hello.mutable_hello()->set_client_name(program_invocation_short_name);
  HandshakeWrite(hello, deadline);
  v1::ServerMessage challenge = HandshakeRead(deadline);
  if (!challenge.has_challenge()) {
    transport_->Cancel();
    throw ConnectionError("the manager at " + address_ +
                          " broke the handshake (no challenge)");
  }
  const std::string& server_nonce = challenge.challenge().server_nonce();
  if (!ProofsEqual(challenge.challenge().server_proof(),
                   ServerProof(authkey_, client_nonce, server_nonce))) {
    transport_->Cancel();
    throw AuthenticationError(
        "the server at " + address_ +
        " could not prove it knows the authkey (wrong key, or not an mp "
        "manager)");
  }
  v1::ClientMessage proof;
  proof.mutable_auth()->set_client_proof(
      ClientProof(authkey_, server_nonce, client_nonce));
  HandshakeWrite(proof, deadline);
  v1::ServerMessage welcome = HandshakeRead(deadline);
  if (!welcome.has_welcome()) {
    transport_->Cancel();
    throw ConnectionError("the manager at " + address_ +
                          " broke the handshake (no welcome)");
  }
  server_id_ = welcome.welcome().server_id();
  max_message_bytes_ = welcome.welcome().max_message_bytes();
}

void Connection::MarkBrokenLocked(const std::string& reason) {
  if (broken_) return;
  broken_ = true;
  broken_reason_ = reason;
  for (auto& [id, pending] : pending_) {
    pending->done = true;
    pending->reply.set_call_id(id);
    pending->reply.mutable_error()->set_type("ConnectionError");
    pending->reply.mutable_error()->set_message(reason);
  }
  pending_.clear();
  outbox_.clear();
  cv_.SignalAll();
}

void Connection::ThrowBrokenLocked() { throw ConnectionError(broken_reason_); }

void Connection::Enqueue(v1::Call call) {
  outbox_.push_back(std::move(call));
  if (!write_in_flight_) StartWriteLocked();
}

void Connection::StartWriteLocked() {
  const size_t batch_limit =
      std::min<size_t>(max_message_bytes_ / 2, size_t{4} << 20);
  // A transport that hands a message over at once (the local one, when the
  // socket has room) takes the next batch right away.
  while (!outbox_.empty()) {
    write_buf_.Clear();
    size_t bytes = 0;
    size_t taken = 0;
    while (taken < outbox_.size()) {
      size_t size = outbox_[taken].ByteSizeLong();
      if (taken > 0 && bytes + size > batch_limit) break;
      bytes += size;
      *write_buf_.add_calls() = std::move(outbox_[taken]);
      ++taken;
    }
    outbox_.erase(outbox_.begin(), outbox_.begin() + taken);
    if (!transport_->StartWrite(write_buf_)) {
      write_in_flight_ = true;
      return;
    }
  }
}

std::shared_ptr<PendingCall> Connection::CallAsync(v1::Call call) {
  const size_t size = call.ByteSizeLong();
  if (size + kEnvelopeBytes > max_message_bytes_) {
    throw ValueError("message of " + std::to_string(size) +
                     " bytes exceeds the manager's limit of " +
                     std::to_string(max_message_bytes_) + " bytes");
  }
  auto pending = std::make_shared<PendingCall>();
  absl::MutexLock lock(&mu_);
  if (broken_) ThrowBrokenLocked();
  while (pending_.size() >= kMaxInFlight && !broken_) {
    if (leader_active_) {
      cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
    } else {
      leader_active_ = true;
      mu_.Unlock();
      PollOnce(absl::Now() + absl::Milliseconds(100));
      mu_.Lock();
      leader_active_ = false;
      cv_.SignalAll();
    }
  }
  if (broken_) ThrowBrokenLocked();
  pending->id = next_call_id_++;
  call.set_call_id(pending->id);
  pending_.emplace(pending->id, pending);
  Enqueue(std::move(call));
  return pending;
}

v1::Reply Connection::Call(v1::Call call, absl::Duration timeout) {
  return Wait(CallAsync(std::move(call)), timeout);
}

v1::Reply Connection::Wait(const std::shared_ptr<PendingCall>& pending,
                           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!pending->done) {
    if (broken_) ThrowBrokenLocked();
    if (!leader_active_) {
      leader_active_ = true;
      mu_.Unlock();
      PollOnce(deadline);
      mu_.Lock();
      leader_active_ = false;
      // Let another waiter take over polling.
      cv_.SignalAll();
    } else {
      cv_.WaitWithDeadline(&mu_, deadline);
    }
    if (!pending->done && absl::Now() >= deadline) {
      pending_.erase(pending->id);
      throw TimeoutError("no reply from the manager at " + address_ +
                         " within " + absl::FormatDuration(timeout));
    }
  }
  if (pending->reply.has_error()) ThrowWireError(pending->reply.error());
  if (pending->reply.ack_required()) {
    // The reply handed this process something (a queue item) that the
    // server takes back if the session ends before the acknowledgement
    // arrives - say this process was stopped past its lease while the
    // reply sat in its socket. Then another consumer may already have it:
    // returning it here too would deliver it twice (found by
    // tests/history). The server's goodbye is behind the reply in the
    // socket by then, so one poll that does not wait finds it.
    PollWithoutWaitingLocked();
    if (broken_) {
      throw ConnectionError(broken_reason_ +
                            " (what this call received went back to the "
                            "manager unacknowledged)");
    }
  }
  return std::move(pending->reply);
}

void Connection::PollOnce(absl::Time deadline) {
  switch (transport_->Poll(deadline, &read_buf_)) {
    case ClientTransport::Event::kTimeout:
      return;
    case ClientTransport::Event::kClosed:
    case ClientTransport::Event::kWriteFailed: {
      // The server's reason, when it gave one (a lease that expired).
      const absl::Status status =
          transport_->EndStatus(absl::Now() + absl::Milliseconds(100));
      const std::string why =
          status.code() == absl::StatusCode::kDeadlineExceeded ||
                  status.code() == absl::StatusCode::kResourceExhausted ||
                  status.code() == absl::StatusCode::kInvalidArgument
              ? " (the manager ended this session: " +
                    std::string(status.message()) + ")"
              : " (server stopped, restarted or unreachable)";
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      MarkBrokenLocked("connection to the manager at " + address_ + " lost" +
                       why +
                       "; this session's proxies stay invalid - connect "
                       "again and look up named objects");
      return;
    }
    case ClientTransport::Event::kWriteDone: {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      if (!outbox_.empty()) StartWriteLocked();
      return;
    }
    case ClientTransport::Event::kRead:
      break;
  }
  absl::MutexLock lock(&mu_);
  v1::Call ack;  // call_id 0: no reply
  for (v1::Reply& reply : *read_buf_.mutable_replies()) {
    auto it = pending_.find(reply.call_id());
    // Its caller gave up waiting. What the reply handed over (a queue
    // item) stays unacknowledged, so the server takes it back when the
    // session ends rather than it being lost here.
    if (it == pending_.end()) continue;
    // Received: the server may forget what this reply handed over.
    if (reply.ack_required()) {
      ack.mutable_ack()->add_call_ids(reply.call_id());
    }
    it->second->reply = std::move(reply);
    it->second->done = true;
    pending_.erase(it);
  }
  read_buf_.Clear();
  if (ack.has_ack() && !broken_) Enqueue(std::move(ack));
  cv_.SignalAll();
}

void Connection::Release(uint64_t id) noexcept {
  try {
    absl::MutexLock lock(&mu_);
    if (broken_) return;
    v1::Call call;  // call_id 0: no reply
    call.mutable_release()->add_ids(id);
    Enqueue(std::move(call));
  } catch (...) {
    // Out of memory while releasing: the session's end frees it anyway.
  }
}

void Connection::Send(v1::Call call) {
  call.set_call_id(0);
  absl::MutexLock lock(&mu_);
  if (broken_) ThrowBrokenLocked();
  Enqueue(std::move(call));
  // A fire-and-forget call (a lock's release) must not report success on
  // a session the server has already ended - say, because this process
  // was stopped past its lease and the lock went to someone else. Take
  // whatever the transport already has (without waiting) to find out.
  if (leader_active_) return;
  PollWithoutWaitingLocked();
  if (broken_) ThrowBrokenLocked();
}

void Connection::PollWithoutWaitingLocked() {
  if (leader_active_) return;  // the leader is reading already
  leader_active_ = true;
  mu_.Unlock();
  PollOnce(absl::Now());
  mu_.Lock();
  leader_active_ = false;
  cv_.SignalAll();
}

void Connection::NoteAcquired(uint64_t id, uint64_t thread) {
  absl::MutexLock lock(&held_mu_);
  ++held_[{id, thread}];
}

bool Connection::TakeAcquired(uint64_t id, uint64_t thread) {
  absl::MutexLock lock(&held_mu_);
  auto it = held_.find({id, thread});
  if (it == held_.end()) return false;
  if (--it->second == 0) held_.erase(it);
  return true;
}

Object Connection::Decode(const v1::Value& value) {
  return DecodeValue(value, [this](const v1::ProxyRef& ref) {
    return Object::proxy(std::make_shared<ProxyHandle>(
        shared_from_this(), ref.id(), ref.type(), ref.type_name()));
  });
}

void Connection::Encode(const Object& value, v1::Value* out) {
  EncodeValue(value, out, [this](const ObjectRef& ref, v1::ProxyRef* pb) {
    auto* handle = dynamic_cast<const ProxyHandle*>(&ref);
    if (handle == nullptr) throw TypeError("not a client proxy");
    if (handle->server_id() != server_id_) {
      throw TypeError("a proxy from another manager cannot be stored here");
    }
    handle->conn();  // attaches it to this process's session if needed
    pb->set_id(handle->id());
    pb->set_type(handle->type());
  });
}

}  // namespace mp::internal
