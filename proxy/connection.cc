#include "proxy/connection.h"

#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/auth.h"
#include "common/grpc_runtime.h"
#include "common/tls.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "proxy/proxy_handle.h"

namespace mp::internal {
namespace {

void* const kStartTag = reinterpret_cast<void*>(1);
void* const kReadTag = reinterpret_cast<void*>(2);
void* const kWriteTag = reinterpret_cast<void*>(3);
void* const kFinishTag = reinterpret_cast<void*>(4);

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
    pthread_atfork([] { GetRegistry().mu.Lock(); },
                   [] { GetRegistry().mu.Unlock(); },
                   [] { new (&GetRegistry().mu) absl::Mutex(); });
    return r;
  }();
  return *registry;
}

}  // namespace

struct Connection::Grpc {
  grpc::CompletionQueue cq;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Manager::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<
      grpc::ClientAsyncReaderWriter<v1::ClientMessage, v1::ServerMessage>>
      stream;
};

Connection::Connection(std::string address, std::string authkey,
                       std::optional<TlsOptions> tls)
    : address_(std::move(address)),
      authkey_(std::move(authkey)),
      tls_(std::move(tls)),
      owner_pid_(getpid()),
      grpc_((ConfigureGrpcRuntime(), std::make_unique<Grpc>())) {}

Connection::~Connection() {
  if (getpid() != owner_pid_) {
    // Inherited across fork(): the gRPC state belongs to the parent's
    // runtime. Touching it here could hang or corrupt; leak it instead.
    (void)grpc_.release();
    return;
  }
  grpc_->context.TryCancel();
  grpc_->cq.Shutdown();
  void* tag;
  bool ok;
  while (grpc_->cq.Next(&tag, &ok)) {
  }
}

std::shared_ptr<Connection> Connection::Open(
    const std::string& address, const std::string& authkey,
    const std::optional<TlsOptions>& tls) {
  if (address.empty()) throw ValueError("manager address is empty");
  std::shared_ptr<Connection> conn(new Connection(address, authkey, tls));
  conn->Handshake();
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  if (registry.pid != getpid()) {
    registry.pid = getpid();
    // Entries inherited from a parent: drop without touching them.
    new absl::flat_hash_map<std::string, std::weak_ptr<Connection>>(
        std::move(registry.by_key));
    registry.by_key.clear();
  }
  registry.by_key[address + '\0' + authkey] = conn;
  return conn;
}

std::shared_ptr<Connection> Connection::Get(
    const std::string& address, const std::string& authkey,
    const std::optional<TlsOptions>& tls) {
  Registry& registry = GetRegistry();
  {
    absl::MutexLock lock(&registry.mu);
    if (registry.pid == getpid()) {
      auto it = registry.by_key.find(address + '\0' + authkey);
      if (it != registry.by_key.end()) {
        auto conn = it->second.lock();
        if (conn != nullptr && !conn->broken()) return conn;
      }
    }
  }
  return Open(address, authkey, tls);
}

bool Connection::broken() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

std::shared_ptr<Connection> Connection::ForCurrentProcess(
    const std::shared_ptr<Connection>& existing) {
  if (existing->owner_pid() == getpid()) return existing;
  std::shared_ptr<Connection> conn =
      Get(existing->address_, existing->authkey_, existing->tls_);
  if (conn->server_id() != existing->server_id()) {
    throw ConnectionError("the manager at " + existing->address_ +
                          " was restarted; its old proxies are invalid");
  }
  return conn;
}

void Connection::Handshake() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, -1);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, -1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Bandwidth-delay probing pings ride along with data frames: on a session
  // of small calls they cost a syscall per call for nothing.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // An explicit stream window: with gRPC's default (and BDP off) every
  // message also triggered a separate WINDOW_UPDATE write - measured: two
  // sendmsg per call instead of one.
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  // Each Connection gets its own transport, so sessions never share fate.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  Grpc& g = *grpc_;
  if (tls_ && !tls_->server_name.empty()) {
    args.SetSslTargetNameOverride(tls_->server_name);
  }
  g.channel =
      grpc::CreateCustomChannel(address_, ChannelCredentials(tls_), args);
  g.stub = v1::Manager::NewStub(g.channel);
  g.stream = g.stub->PrepareAsyncSession(&g.context, &g.cq);

  const absl::Time deadline = absl::Now() + kHandshakeTimeout;
  auto await = [&](void* want) {
    void* tag;
    bool ok;
    auto status = g.cq.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline));
    if (status != grpc::CompletionQueue::GOT_EVENT) {
      g.context.TryCancel();
      throw ConnectionError("timed out connecting to the manager at " +
                            address_);
    }
    if (tag != want) throw RuntimeError("handshake: unexpected event");
    return ok;
  };
  auto fail = [&]() {
    // The server ended the stream; its status says why.
    grpc::Status status;
    g.stream->Finish(&status, kFinishTag);
    await(kFinishTag);
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      std::string msg = status.error_message();
      const std::string prefix = "AuthenticationError: ";
      if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
      throw AuthenticationError(msg);
    }
    throw ConnectionError("cannot connect to the manager at " + address_ +
                          ": " + status.error_message());
  };

  g.stream->StartCall(kStartTag);
  if (!await(kStartTag)) fail();
  const std::string client_nonce = RandomBytes(kNonceBytes);
  v1::ClientMessage hello;
  hello.mutable_hello()->set_client_nonce(client_nonce);
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  hello.mutable_hello()->set_pid(getpid());
  hello.mutable_hello()->set_client_name(program_invocation_short_name);
  g.stream->Write(hello, kWriteTag);
  if (!await(kWriteTag)) fail();
  v1::ServerMessage challenge;
  g.stream->Read(&challenge, kReadTag);
  if (!await(kReadTag) || !challenge.has_challenge()) fail();
  const std::string& server_nonce = challenge.challenge().server_nonce();
  if (!ProofsEqual(challenge.challenge().server_proof(),
                   ServerProof(authkey_, client_nonce, server_nonce))) {
    g.context.TryCancel();
    throw AuthenticationError(
        "the server at " + address_ +
        " could not prove it knows the authkey (wrong key, or not an mp "
        "manager)");
  }
  v1::ClientMessage proof;
  proof.mutable_auth()->set_client_proof(
      ClientProof(authkey_, server_nonce, client_nonce));
  g.stream->Write(proof, kWriteTag);
  if (!await(kWriteTag)) fail();
  v1::ServerMessage welcome;
  g.stream->Read(&welcome, kReadTag);
  if (!await(kReadTag) || !welcome.has_welcome()) fail();
  server_id_ = welcome.welcome().server_id();
  max_message_bytes_ = welcome.welcome().max_message_bytes();
  // From here on one read is always outstanding.
  g.stream->Read(&read_buf_, kReadTag);
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
  write_buf_.Clear();
  const size_t batch_limit =
      std::min<size_t>(max_message_bytes_ / 2, size_t{4} << 20);
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
  write_in_flight_ = true;
  grpc_->stream->Write(write_buf_, kWriteTag);
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
  return std::move(pending->reply);
}

void Connection::PollOnce(absl::Time deadline) {
  void* tag;
  bool ok;
  auto status = grpc_->cq.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline));
  if (status == grpc::CompletionQueue::TIMEOUT) return;
  if (status == grpc::CompletionQueue::SHUTDOWN) {
    absl::MutexLock lock(&mu_);
    MarkBrokenLocked("connection to the manager at " + address_ + " closed");
    return;
  }
  if (tag == kReadTag) {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      MarkBrokenLocked(
          "connection to the manager at " + address_ +
          " lost (server stopped, restarted or unreachable); this "
          "session's proxies stay invalid - connect again and look up "
          "named objects");
      return;
    }
    {
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
      if (ack.has_ack() && !broken_) Enqueue(std::move(ack));
      cv_.SignalAll();
    }
    read_buf_.Clear();
    grpc_->stream->Read(&read_buf_, kReadTag);
  } else if (tag == kWriteTag) {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) {
      MarkBrokenLocked("connection to the manager at " + address_ +
                       " lost while sending");
      return;
    }
    if (!outbox_.empty()) StartWriteLocked();
  }
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
    return Object::proxy(std::make_shared<ProxyHandle>(shared_from_this(),
                                                       ref.id(), ref.type()));
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
