// bytes -> ClientMessages -> one authenticated session on an in-process
// manager service, through the transport seam (SessionEndpoint) with no
// sockets: operation sequences against every object type.
//
// Input: frames as the local transport cuts them (a 4-byte little-endian
// length, then a serialized mp.v1.ClientMessage), each parsed with
// ParseFrame's recursion limit as a transport does. The first byte chooses
// the handshake: even, the harness authenticates first (Hello, then the
// AuthProof its Challenge asks for) so the frames reach the object layer;
// odd, the frames are the handshake too.
//
// Object ids are random per server (a client cannot guess another's), so a
// Call's object_id below 64 is read as "the n-th object this session has
// been handed" (from the replies so far) and replaced with its id.
//
// Checked besides the sanitizers: the session ends once the input does and
// quiesces within a bounded time (nothing hangs), no call id gets more
// replies than calls were sent with it, and unless a named object was
// made the store is empty afterwards (a session's objects go with it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/local_frame.h"
#include "google/protobuf/stubs/logging.h"
#include "mp/v1/session.pb.h"
#include "server/log.h"
#include "server/service.h"
#include "server/session_endpoint.h"
#include "server/session_limits.h"

namespace {

using mp::server::ManagerService;
using mp::server::SessionEndpoint;
using mp::server::SessionLimits;
namespace v1 = mp::v1;

constexpr char kAuthkey[] = "fuzz-key";
constexpr size_t kMaxMessages = 64;
constexpr uint64_t kSymbolicIds = 64;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "session_fuzzer: %s\n", what);
    std::abort();
  }
}

uint32_t Load32(const uint8_t* b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 |
         uint32_t{b[3]} << 24;
}

// A client as the seam sees it: reads come from a script, writes are
// recorded at once (the transport never makes the session wait).
class ScriptedEndpoint : public SessionEndpoint {
 public:
  ScriptedEndpoint(ManagerService* service, std::vector<v1::ClientMessage> in,
                   bool authenticate)
      : SessionEndpoint(service, "fuzz"),
        script_(std::move(in)),
        authenticate_(authenticate) {}

  void Run() {
    Accepted("fuzz:0");
    // Each read the session asks for is served here, not inside
    // StartRead, so that the call chain never nests.
    while (read_requested_) {
      read_requested_ = false;
      v1::ClientMessage& next = in();
      next.Clear();
      if (handshake_step_ < 2 && authenticate_) {
        HandshakeMessage(&next);
      } else if (position_ < script_.size()) {
        next = std::move(script_[position_++]);
        ResolveIds(&next);
      } else {
        OnRead(false);  // the client closed
        break;
      }
      OnRead(true);
    }
  }

 protected:
  void StartRead() override { read_requested_ = true; }

  bool StartWrite(const v1::ServerMessage& message) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (message.has_challenge()) server_nonce_ = message.challenge().server_nonce();
    for (const v1::Reply& reply : message.replies()) {
      // A client may reuse a call id: it then gets as many replies as it
      // sent calls with that id, never more.
      Check(--unanswered_[reply.call_id()] >= 0,
            "a call got more replies than were asked for");
      if (reply.has_value() && reply.value().has_proxy()) {
        handed_ids_.push_back(reply.value().proxy().id());
      }
    }
    return true;
  }
  bool StartFinish(const absl::Status&) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return true;
  }
  void Abort() override {}

 private:
  void HandshakeMessage(v1::ClientMessage* out) {
    if (handshake_step_++ == 0) {
      out->mutable_hello()->set_client_nonce(client_nonce_);
      out->mutable_hello()->set_protocol_version(1);
      out->mutable_hello()->set_pid(1);
    } else {
      absl::MutexLock lock(&mu_);
      out->mutable_auth()->set_client_proof(
          mp::internal::ClientProof(kAuthkey, server_nonce_, client_nonce_));
    }
  }

  void ResolveIds(v1::ClientMessage* message) {
    absl::MutexLock lock(&mu_);
    for (v1::Call& call : *message->mutable_calls()) {
      ++unanswered_[call.call_id()];
      const uint64_t n = call.object_id();
      if (n < kSymbolicIds && n < handed_ids_.size()) {
        call.set_object_id(handed_ids_[n]);
      }
    }
  }

  std::vector<v1::ClientMessage> script_;
  size_t position_ = 0;
  const bool authenticate_;
  int handshake_step_ = 0;
  bool read_requested_ = false;
  const std::string client_nonce_ = std::string(mp::internal::kNonceBytes, 'n');
  std::string server_nonce_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, int64_t> unanswered_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> handed_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Bad input is expected here; the service's warnings would drown the
  // fuzzer's own output.
  mp::server::SetLogLevel(mp::server::LogLevel::kError);
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool authenticate = (data[0] & 1) == 0;
  std::vector<v1::ClientMessage> messages;
  size_t at = 1;
  while (at + mp::internal::kFrameHeaderBytes <= size &&
         messages.size() < kMaxMessages) {
    const uint32_t length = Load32(data + at);
    at += mp::internal::kFrameHeaderBytes;
    if (length > size - at) break;
    v1::ClientMessage message;
    if (mp::internal::ParseFrame(
            std::string_view(reinterpret_cast<const char*>(data + at), length),
            &message)) {
      messages.push_back(std::move(message));
    }
    at += length;
  }

  // Small limits: an input must not be able to make the harness itself
  // run out of memory within the fuzzer's rss limit.
  ManagerService service(
      kAuthkey, SessionLimits{.max_message_bytes = 1 << 20,
                              .max_reply_backlog_bytes = 4 << 20,
                              .max_stored_bytes_per_session = 8 << 20,
                              .max_object_bytes = 1 << 20,
                              .allow_client_shutdown = false,
                              .handshake_timeout = absl::ZeroDuration(),
                              .custom_threads = 1});
  auto* endpoint =
      new ScriptedEndpoint(&service, std::move(messages), authenticate);
  endpoint->Run();
  // Parked calls (a blocking get, an acquire) were answered when the
  // session ended; replies other threads deliver finish promptly.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!endpoint->Quiescent()) {
    Check(absl::Now() < deadline, "the session did not end within 5 s");
    absl::SleepFor(absl::Milliseconds(1));
  }
  delete endpoint;
  Check(service.session_count() == 0, "a session outlived its endpoint");
  // Named objects live until the server stops (and may hold others).
  Check(service.store().named_count() > 0 ||
            service.store().object_count() == 0,
        "objects outlived the session that owned them");
  return 0;
}
