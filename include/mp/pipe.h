// mp::Pipe(): two connected endpoints for passing mp::Objects between
// processes, as multiprocessing.Pipe().
//
//   auto [parent, child] = mp::Pipe();
//   mp::Process p(mp::ProcessOptions{.start_method = "fork"}, f, ...);
//
// Endpoints are file descriptors. An end can be a Process argument under
// every start method (`mp::Process p(f, child_conn)` with
// `void f(mp::Connection conn)`): the child gets its own duplicate of the
// descriptor (spawn: inherited across exec; forkserver: sent with
// SCM_RIGHTS), and the parent's end stays open until it closes it. Proxies
// sent through a pipe arrive as live proxies, attached to the receiver's
// own session; a Connection or a shared object (mp::Value, ...) cannot be
// sent through a pipe yet (TypeError).
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
  Connection() = default;  // closed
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
  bool readable() const { return readable_; }
  bool writable() const { return writable_; }

 private:
  int fd_ = -1;
  bool readable_ = false;
  bool writable_ = false;
};

// duplex: both ends send and receive (a socket pair); otherwise the first
// end only receives and the second only sends (a pipe), as in Python.
std::pair<Connection, Connection> Pipe(bool duplex = true);

// As a Process argument: a duplicate of the end's descriptor travels.
// ValueError for a closed end.
Object to_object(const Connection& conn);
void from_object(const Object& object, Connection& conn);

}  // namespace mp

#endif  // MP_PIPE_H_
