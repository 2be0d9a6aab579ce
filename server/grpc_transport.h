// The gRPC transport, server side: session streams served with gRPC's
// asynchronous API (rpc mp.v1.Manager/Session).
//
// Each worker thread owns one completion queue and the streams accepted on
// it. A stream's read completes on its worker, which runs the calls inline
// and writes the replies - no hand-off between threads on the way (each
// hop would cost a cross-core wakeup, and gRPC's callback API measured one
// extra wakeup per call here). Everything else about a session is
// SessionEndpoint's (server/session_endpoint.h).
#ifndef MP_SERVER_GRPC_TRANSPORT_H_
#define MP_SERVER_GRPC_TRANSPORT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "mp/v1/session.grpc.pb.h"
#include "server/service.h"

namespace mp::server {

class GrpcSessionWorkers {
 public:
  // Registers the Manager service and adds `threads` completion queues to
  // `builder`; call before building.
  GrpcSessionWorkers(ManagerService* service, grpc::ServerBuilder& builder,
                     int threads);
  ~GrpcSessionWorkers();  // after Stop()

  // Starts accepting sessions; call after the server is built.
  void Start();
  // Call after grpc::Server::Shutdown: drains the queues and joins.
  void Stop();

  v1::Manager::AsyncService& grpc_service() { return grpc_service_; }

 private:
  void Run(grpc::ServerCompletionQueue* cq);

  ManagerService* const service_;
  v1::Manager::AsyncService grpc_service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  // Streams alive, including those waiting to accept.
  std::atomic<int> live_streams_{0};
};

}  // namespace mp::server

#endif  // MP_SERVER_GRPC_TRANSPORT_H_
