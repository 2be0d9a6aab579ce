#include "mp/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/grpc_runtime.h"
#include "common/local_frame.h"
#include "common/tls.h"
#include "mp/errors.h"
#include "server/accept_guard.h"
#include "server/grpc_transport.h"
#include "server/local_transport.h"
#include "server/log.h"
#include "server/service.h"
#include "server/session_limits.h"

namespace mp {

struct Server::Impl {
  ServerOptions options;
  std::unique_ptr<server::ManagerService> service;
  std::unique_ptr<grpc::Server> grpc_server;
  std::unique_ptr<server::GrpcSessionWorkers> workers;
  std::unique_ptr<server::LocalTransport> local;
  std::string bound_address;
  // gRPC's listening sockets, guarded against EMFILE (accept_guard.h).
  std::vector<int> guarded_fds;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;
};

namespace {

// The paths of the "unix:PATH" addresses among `options`'.
std::vector<std::string> UnixPaths(const ServerOptions& options) {
  std::vector<std::string> paths;
  std::vector<std::string> all = {options.address};
  all.insert(all.end(), options.more_addresses.begin(),
             options.more_addresses.end());
  for (const std::string& a : all) {
    if (absl::StartsWith(a, "unix:")) paths.push_back(a.substr(5));
  }
  return paths;
}

// Registers the gRPC listeners on `unix_paths` and on TCP `port` and
// `more_ports` with the accept guard.
std::vector<int> GuardGrpcListeners(const std::vector<std::string>& unix_paths,
                                    int port,
                                    const std::vector<int>& more_ports) {
  std::vector<int> tcp_ports;
  if (port > 0) tcp_ports.push_back(port);
  for (int p : more_ports) {
    if (p > 0) tcp_ports.push_back(p);
  }
  std::vector<int> fds = server::GuardListeningSockets(unix_paths, tcp_ports);
  if (fds.empty()) {
    server::Log(server::LogLevel::kWarning,
                "found none of gRPC's listening sockets; running out of file "
                "descriptors may stop them for good");
  }
  return fds;
}

}  // namespace

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  internal::ConfigureGrpcRuntime();
  if (options.authkey.empty()) {
    options.authkey = internal::RandomBytes(internal::kAuthkeyBytes);
  }
  if (options.max_message_bytes < 1024) {
    throw ValueError("max_message_bytes must be at least 1024");
  }
  if (options.max_reply_backlog_bytes < 1024) {
    throw ValueError("max_reply_backlog_bytes must be at least 1024");
  }
  impl_->options = std::move(options);
}

Server::~Server() {
  if (impl_) shutdown();
}
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;

void Server::start() {
  if (impl_->grpc_server) throw RuntimeError("server already started");
  const std::string& address = impl_->options.address;
  if (address.empty()) throw ValueError("server address is empty");
  for (const std::string& more : impl_->options.more_addresses) {
    if (more.empty()) throw ValueError("a server address is empty");
  }
  // Before anything starts: a bad certificate is named, not a failed bind.
  std::shared_ptr<grpc::ServerCredentials> credentials =
      internal::ServerCredentials(impl_->options.tls);
  impl_->service = std::make_unique<server::ManagerService>(
      impl_->options.authkey, server::SessionLimitsFrom(impl_->options));

  // The standard gRPC health service (grpc.health.v1.Health, status
  // SERVING while up) and server reflection, so grpc_health_probe, grpcurl
  // and load balancers work against a manager.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, credentials, &port);
  std::vector<int> more_ports(impl_->options.more_addresses.size());
  for (size_t i = 0; i < more_ports.size(); ++i) {
    builder.AddListeningPort(impl_->options.more_addresses[i], credentials,
                             &more_ports[i]);
  }
  // One worker (and completion queue) per core, at least two so a slow
  // operation in one session does not stall every other. The local
  // transport gets as many reactor threads.
  const int threads =
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 16);
  impl_->workers = std::make_unique<server::GrpcSessionWorkers>(
      impl_->service.get(), builder, threads);
  if (impl_->options.local_transport && !impl_->options.tls) {
    impl_->local = std::make_unique<server::LocalTransport>(
        impl_->service.get(), threads,
        absl::FromChrono(impl_->options.lease_timeout));
    for (const std::string& path : UnixPaths(impl_->options)) {
      impl_->local->Listen(path + std::string(internal::kLocalSocketSuffix));
    }
  }
  // Room for the message envelope around a maximal payload.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(impl_->options.max_message_bytes + 4096));
  builder.SetMaxSendMessageSize(-1);
  // With a lease timeout: ping every client half a lease period and give
  // it the other half to answer. Without: gRPC's default (2 hours), only to
  // reap connections of hosts that vanished.
  if (impl_->options.lease_timeout.count() > 0) {
    const int lease_ms = static_cast<int>(
        std::max<int64_t>(1000, impl_->options.lease_timeout.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, lease_ms / 2);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, lease_ms / 2);
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // See the client: BDP pings cost a syscall per small call.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
  impl_->grpc_server = builder.BuildAndStart();
  if (!impl_->grpc_server) {
    throw RuntimeError("cannot listen on " + address);
  }
  for (size_t i = 0; i < more_ports.size(); ++i) {
    const std::string& more = impl_->options.more_addresses[i];
    if (more_ports[i] == 0 && !absl::StartsWith(more, "unix:")) {
      impl_->grpc_server->Shutdown();
      throw RuntimeError("cannot listen on " + more);
    }
  }
  impl_->guarded_fds =
      GuardGrpcListeners(UnixPaths(impl_->options), port, more_ports);
  impl_->workers->Start();
  if (impl_->local) impl_->local->Start();
  if (absl::StartsWith(address, "unix:")) {
    impl_->bound_address = address;
  } else {
    if (port == 0) throw RuntimeError("cannot listen on " + address);
    size_t colon = address.rfind(':');
    impl_->bound_address =
        address.substr(0, colon) + ":" + std::to_string(port);
  }
}


std::string Server::address() const { return impl_->bound_address; }
const std::string& Server::authkey() const { return impl_->options.authkey; }

Manager Server::manager() const {
  if (!impl_->grpc_server) throw RuntimeError("server not started");
  return Manager::connect(impl_->bound_address, impl_->options.authkey);
}

void Server::wait() {
  if (!impl_->service) throw RuntimeError("server not started");
  impl_->service->shutdown_requested().WaitForNotification();
}

bool Server::wait_for(std::chrono::milliseconds timeout) {
  if (!impl_->service) throw RuntimeError("server not started");
  return impl_->service->shutdown_requested().WaitForNotificationWithTimeout(
      absl::FromChrono(timeout));
}

void Server::shutdown() {
  absl::MutexLock lock(&impl_->shutdown_mu);
  if (impl_->shut_down || !impl_->grpc_server) return;
  impl_->shut_down = true;
  // Blocked calls (acquire, get, wait...) learn why they end; their locks
  // and queue items go back as with any ended session.
  impl_->service->EndAllSessions(
      "the manager is shutting down; the call was abandoned");
  // Sessions are long-lived streams: give in-flight replies a moment, then
  // cancel the rest.
  impl_->grpc_server->Shutdown(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(200));
  impl_->grpc_server->Wait();
  server::UnguardListeningSockets(impl_->guarded_fds);
  impl_->guarded_fds.clear();
  impl_->workers->Stop();
  if (impl_->local) impl_->local->Stop();
  impl_->service->RequestShutdown();
}

void Server::request_shutdown() {
  if (impl_->service) impl_->service->RequestShutdown();
}

size_t Server::object_count() const {
  return impl_->service ? impl_->service->store().object_count() : 0;
}
size_t Server::session_count() const {
  return impl_->service ? impl_->service->session_count() : 0;
}

}  // namespace mp
