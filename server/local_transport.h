// The local transport, server side: sessions on unix stream sockets
// carrying the mp.v1 messages as length-prefixed frames
// (common/local_frame.h) - the same sessions as gRPC's (SessionEndpoint),
// without HTTP/2.
//
// A few reactors (one epoll loop each, as many as the gRPC transport's
// workers) serve every connection: the thread that sees a message arrive
// parses it, runs its calls inline and writes the replies with one send(2)
// - no thread per client and no hand-off. Replies that complete later
// (parked calls) are written by the thread that completes them. The loops
// run on the service's CustomExecutor threads, so that a custom type's
// method runs on the thread that read it and a slow one gives the loop to
// another thread (server/custom_executor.h). Before sleeping, a loop polls
// briefly for the next request (common/busy_poll.h). Leases: a client that
// exits or is killed closes its socket; with a lease timeout, a client process
// that stays stopped (SIGSTOP, a debugger) that long loses its session too -
// the kernel tells the server the peer's pid (SO_PEERCRED), and /proc tells
// whether it is stopped.
#ifndef MP_SERVER_LOCAL_TRANSPORT_H_
#define MP_SERVER_LOCAL_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/service.h"

namespace mp::server {

class LocalTransport {
 public:
  // `threads` reactors; `lease_timeout` 0: no stopped-process check.
  LocalTransport(ManagerService* service, int threads,
                 absl::Duration lease_timeout);
  ~LocalTransport();  // Stop()s

  // Listens on a unix socket at `path`, replacing a stale socket file
  // there (never any other kind of file). Throws RuntimeError naming the
  // path and the reason. Before Start().
  void Listen(const std::string& path);

  void Start();
  // Stops accepting, closes every session (their leases are given back)
  // and joins the threads; removes the socket files. Idempotent.
  void Stop();

 private:
  class Reactor;

  ManagerService* const service_;
  const absl::Duration lease_timeout_;
  std::vector<int> listen_fds_;
  std::vector<std::string> paths_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  bool started_ = false;
};

}  // namespace mp::server

#endif  // MP_SERVER_LOCAL_TRANSPORT_H_
