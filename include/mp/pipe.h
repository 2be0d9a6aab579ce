// mp::Pipe(): two connected endpoints for passing mp::Objects between
// processes, as multiprocessing.Pipe().
//
//   auto [parent, child] = mp::Pipe();
//   mp::Process p(mp::ProcessOptions{.start_method = "fork"}, f, ...);
//
// Endpoints are file descriptors: a child started with the fork method
// inherits them (spawn and forkserver children do not; pass proxies, e.g.
// a Queue, to those instead). Proxies sent through a pipe arrive as live
// proxies, attached to the receiver's own session.
//
// Thread safety: one thread sends and one thread receives at a time.
#ifndef MP_PIPE_H_
#define MP_PIPE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "mp/object.h"

namespace mp {

class Connection {
 public:
  explicit Connection(int fd, bool readable, bool writable);
  ~Connection();  // closes
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;

  // Blocks until the message is written. ValueError on a closed or
  // read-only end; ConnectionError when the other end is gone.
  void send(const Object& value) const;
  void send_bytes(const std::string& data) const;
  // Blocks until a message arrives. EOFError when the other end closed.
  Object recv() const;
  std::string recv_bytes() const;
  // Whether a message (or EOF) is ready, waiting up to `timeout` (none:
  // return at once; std::nullopt: wait indefinitely).
  bool poll(std::optional<std::chrono::duration<double>> timeout =
                std::chrono::duration<double>(0)) const;
  void close();
  bool closed() const { return fd_ < 0; }
  int fileno() const { return fd_; }

 private:
  int fd_ = -1;
  bool readable_ = false;
  bool writable_ = false;
};

// duplex: both ends send and receive (a socket pair); otherwise the first
// end only receives and the second only sends (a pipe), as in Python.
std::pair<Connection, Connection> Pipe(bool duplex = true);

}  // namespace mp

#endif  // MP_PIPE_H_
