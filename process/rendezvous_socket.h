// How a pool worker reaches its pool: the pool listens on a unix socket
// with a random name in the abstract namespace (no file to clean up, and
// reachable by a worker however it was started - fork, spawn or
// forkserver), the worker dials it by name. Any local process could dial
// it too, so the worker proves itself with a token (process/pool_core.cc).
#ifndef MP_PROCESS_RENDEZVOUS_SOCKET_H_
#define MP_PROCESS_RENDEZVOUS_SOCKET_H_

#include <chrono>
#include <string>

namespace mp::internal {

class RendezvousSocket {
 public:
  // Listens under a fresh random name. Throws ProcessError.
  RendezvousSocket();
  ~RendezvousSocket();  // stops listening
  RendezvousSocket(const RendezvousSocket&) = delete;
  RendezvousSocket& operator=(const RendezvousSocket&) = delete;

  // Printable: it travels as a task argument.
  const std::string& name() const { return name_; }

  // Waits up to `timeout` for the worker to connect, giving up early when
  // `sentinel` (its process's sentinel) becomes readable - it died. The
  // connected socket (close-on-exec; the caller owns it), or -1.
  int Accept(int sentinel, std::chrono::milliseconds timeout);

 private:
  std::string name_;
  int fd_ = -1;
};

// The worker's side: a socket connected to the pool listening as `name`.
// Throws ProcessError.
int DialRendezvous(const std::string& name);

}  // namespace mp::internal

#endif  // MP_PROCESS_RENDEZVOUS_SOCKET_H_
