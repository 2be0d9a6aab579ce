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
// own session. Connection ends and server-less shared objects (mp::Value,
// mp::Lock, mp::SharedMemory, ...) can be sent too (Python allows only
// Connections): their descriptors go with the message (SCM_RIGHTS; both
// kinds of Pipe() are unix socket pairs), and the receiver rebuilds them
// with from_object - same memory, same connection. At most 200 per
// message (ValueError beyond); received descriptors are close-on-exec.
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
  // Takes ownership of `fd`. ValueError("invalid handle") for a negative
  // one.
  explicit Connection(int fd, bool readable, bool writable);
  ~Connection();  // closes
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;

  // Blocks until the message is written. ValueError on a closed or
  // read-only end, for more than 200 shared objects and Connection ends in
  // `value`, or for any on an end that is not a unix socket (a Connection
  // made from a pipe's descriptor); ConnectionError when the other end is
  // gone.
  void send(const Object& value) const;
  void send_bytes(const std::string& data) const;
  // Blocks until a message arrives (use poll(timeout) first to bound the
  // wait). EOFError when the other end closed; ConnectionError when the
  // descriptors sent with it could not all be received (too many, or this
  // process's descriptor limit) - the message is consumed, nothing leaks.
  Object recv() const;
  // The message's bytes; descriptors sent with it (by send) are closed.
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
