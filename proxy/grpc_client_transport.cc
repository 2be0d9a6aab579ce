#include "proxy/grpc_client_transport.h"

#include <atomic>
#include <string>
#include <utility>

#include "common/current_pid.h"
#include "common/grpc_runtime.h"
#include "common/tls.h"
#include "mp/errors.h"

namespace mp::internal {
namespace {

void* const kStartTag = reinterpret_cast<void*>(1);
void* const kReadTag = reinterpret_cast<void*>(2);
void* const kWriteTag = reinterpret_cast<void*>(3);
void* const kFinishTag = reinterpret_cast<void*>(4);

// The process whose memory this one was fork()ed from, if gRPC channels
// were made there before the fork; else this process, once it makes one.
std::atomic<pid_t> g_first_channel_pid{0};

// Why a connection timed out, when the likely reason is gRPC's: in a child
// fork()ed after its parent used gRPC, gRPC 1.51 completes no new TCP
// connection (a unix: one, which connects at once, works). Measured with
// strace: the child's connect(2) succeeds and gRPC never goes on to send
// its HTTP/2 preface. Where inside gRPC's fork support it stalls is not
// pinned down; spawn and forkserver children start gRPC afresh.
std::string TimeoutHint(const std::string& address) {
  const pid_t first = g_first_channel_pid.load();
  if (first == 0 || first == CurrentPid() || address.rfind("unix:", 0) == 0) {
    return "";
  }
  return " (this process was fork()ed from one that had used gRPC, and "
         "gRPC 1.51 cannot open TCP connections in such a child: start it "
         "with the 'spawn' or 'forkserver' method, or reach the manager "
         "through a unix: address)";
}

}  // namespace

GrpcClientTransport::GrpcClientTransport() { ConfigureGrpcRuntime(); }

GrpcClientTransport::~GrpcClientTransport() {
  context_.TryCancel();
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

std::unique_ptr<GrpcClientTransport> GrpcClientTransport::Connect(
    const std::string& address, const std::optional<TlsOptions>& tls,
    absl::Time deadline) {
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
  if (tls && !tls->server_name.empty()) {
    args.SetSslTargetNameOverride(tls->server_name);
  }
  pid_t none = 0;
  g_first_channel_pid.compare_exchange_strong(none, CurrentPid());
  std::unique_ptr<GrpcClientTransport> t(new GrpcClientTransport());
  t->channel_ =
      grpc::CreateCustomChannel(address, ChannelCredentials(tls), args);
  t->stub_ = v1::Manager::NewStub(t->channel_);
  t->stream_ = t->stub_->PrepareAsyncSession(&t->context_, &t->cq_);
  t->stream_->StartCall(kStartTag);
  void* tag;
  bool ok;
  if (t->cq_.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline)) !=
      grpc::CompletionQueue::GOT_EVENT) {
    t->context_.TryCancel();
    throw ConnectionError("timed out connecting to the manager at " + address +
                          TimeoutHint(address));
  }
  // A call that never started: Poll reports the end, EndStatus the reason.
  t->started_ = ok;
  if (ok) t->StartRead();
  return t;
}

void GrpcClientTransport::StartRead() { stream_->Read(&read_buf_, kReadTag); }

bool GrpcClientTransport::StartWrite(const v1::ClientMessage& message) {
  if (!started_) return false;  // Poll reports kClosed
  write_buf_ = message;
  stream_->Write(write_buf_, kWriteTag);
  return false;
}

ClientTransport::Event GrpcClientTransport::Poll(absl::Time deadline,
                                                 v1::ServerMessage* read) {
  if (!started_) return Event::kClosed;
  void* tag;
  bool ok;
  switch (cq_.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline))) {
    case grpc::CompletionQueue::TIMEOUT:
      return Event::kTimeout;
    case grpc::CompletionQueue::SHUTDOWN:
      return Event::kClosed;
    case grpc::CompletionQueue::GOT_EVENT:
      break;
  }
  if (tag == kReadTag) {
    if (!ok) return Event::kClosed;
    read->Swap(&read_buf_);
    read_buf_.Clear();
    StartRead();
    return Event::kRead;
  }
  if (tag == kWriteTag) return ok ? Event::kWriteDone : Event::kWriteFailed;
  return Event::kTimeout;  // kFinishTag: only awaited by EndStatus
}

absl::Status GrpcClientTransport::EndStatus(absl::Time deadline) {
  if (!finished_) {
    finished_ = true;
    stream_->Finish(&status_, kFinishTag);
    void* tag;
    bool ok;
    // Other completions (a write failing) may come first.
    while (cq_.AsyncNext(&tag, &ok, absl::ToChronoTime(deadline)) ==
           grpc::CompletionQueue::GOT_EVENT) {
      if (tag == kFinishTag) {
        return absl::Status(static_cast<absl::StatusCode>(status_.error_code()),
                            status_.error_message());
      }
    }
    status_ = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                           "no status from the server");
  }
  return absl::Status(static_cast<absl::StatusCode>(status_.error_code()),
                      status_.error_message());
}

void GrpcClientTransport::Cancel() { context_.TryCancel(); }

}  // namespace mp::internal
