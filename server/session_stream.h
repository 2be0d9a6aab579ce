// Serving session streams with gRPC's asynchronous API.
//
// Each worker thread owns one completion queue and the sessions accepted on
// it. A session's read completes on its worker, which runs the calls inline
// and writes the replies - no hand-off between threads on the way (each
// hop would cost a cross-core wakeup, and gRPC's callback API measured one
// extra wakeup per call here). Replies may also be sent from other threads
// (operations completed later), so writes are serialised per session.
#ifndef MP_SERVER_SESSION_STREAM_H_
#define MP_SERVER_SESSION_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "server/service.h"

namespace mp::server {

class SessionWorkers {
 public:
  // Adds `threads` completion queues to `builder`; call before building.
  SessionWorkers(ManagerService* service, grpc::ServerBuilder& builder,
                 int threads);
  ~SessionWorkers();  // after Stop()

  // Starts accepting sessions; call after the server is built.
  void Start();
  // Call after grpc::Server::Shutdown: drains the queues and joins.
  void Stop();

 private:
  void Run(grpc::ServerCompletionQueue* cq);

  ManagerService* const service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  // SessionStream objects alive, including those waiting to accept.
  std::atomic<int> live_streams_{0};
};

}  // namespace mp::server

#endif  // MP_SERVER_SESSION_STREAM_H_
