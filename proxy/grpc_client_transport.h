// The gRPC transport: one bidirectional Session stream on a channel of its
// own. Works over unix sockets, TCP and TLS, to any host; the only
// transport other languages' clients speak. Must not be destroyed in a
// fork()ed child (its state belongs to the parent's gRPC runtime):
// Connection leaks it there.
#ifndef MP_PROXY_GRPC_CLIENT_TRANSPORT_H_
#define MP_PROXY_GRPC_CLIENT_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "mp/tls.h"
#include "mp/v1/session.grpc.pb.h"
#include "proxy/client_transport.h"

namespace mp::internal {

class GrpcClientTransport final : public ClientTransport {
 public:
  // Opens the channel and starts the stream. Throws ConnectionError if the
  // stream cannot start before `deadline`, AuthenticationError or
  // ConnectionError with the server's reason if it refuses the call.
  static std::unique_ptr<GrpcClientTransport> Connect(
      const std::string& address, const std::optional<TlsOptions>& tls,
      absl::Time deadline);
  ~GrpcClientTransport() override;

  const char* name() const override { return "grpc"; }
  bool StartWrite(const v1::ClientMessage& message) override;
  Event Poll(absl::Time deadline, v1::ServerMessage* read) override;
  absl::Status EndStatus(absl::Time deadline) override;
  void Cancel() override;

 private:
  GrpcClientTransport();
  void StartRead();

  grpc::CompletionQueue cq_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Manager::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientAsyncReaderWriter<v1::ClientMessage, v1::ServerMessage>>
      stream_;
  // gRPC reads into this; Poll hands it over and starts the next read.
  v1::ServerMessage read_buf_;
  // Kept alive until its write completes.
  v1::ClientMessage write_buf_;
  bool started_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace mp::internal

#endif  // MP_PROXY_GRPC_CLIENT_TRANSPORT_H_
