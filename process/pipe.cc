#include "mp/pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/fd_io.h"
#include "common/fd_ref.h"
#include "mp/errors.h"
#include "process/task_codec.h"

namespace mp {
namespace {

// Reads exactly `n` bytes. False on EOF before any byte; EOFError on EOF
// part way, ConnectionError on an error.
bool ReadMessagePart(int fd, char* p, size_t n) {
  ssize_t got = internal::ReadExactly(fd, p, n);
  if (got < 0) {
    throw ConnectionError(std::string("pipe recv: ") + std::strerror(errno));
  }
  if (static_cast<size_t>(got) == n) return true;
  if (got == 0) return false;
  throw EOFError("connection closed in the middle of a message");
}

}  // namespace

Connection::Connection(int fd, bool readable, bool writable)
    : fd_(fd), readable_(readable), writable_(writable) {}

Connection::~Connection() { close(); }

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      readable_(other.readable_),
      writable_(other.writable_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    readable_ = other.readable_;
    writable_ = other.writable_;
  }
  return *this;
}

void Connection::send_bytes(const std::string& data) const {
  if (fd_ < 0) throw ValueError("handle is closed");
  if (!writable_) throw ValueError("connection is read-only");
  if (data.size() > UINT32_MAX) throw ValueError("message too large");
  uint32_t len = static_cast<uint32_t>(data.size());
  std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
  frame += data;
  if (!internal::WriteExactly(fd_, frame.data(), frame.size())) {
    throw ConnectionError(std::string("pipe send: ") + std::strerror(errno));
  }
}

std::string Connection::recv_bytes() const {
  if (fd_ < 0) throw ValueError("handle is closed");
  if (!readable_) throw ValueError("connection is write-only");
  uint32_t len = 0;
  if (!ReadMessagePart(fd_, reinterpret_cast<char*>(&len), sizeof len)) {
    throw EOFError("the other end of the pipe is closed");
  }
  std::string data(len, '\0');
  if (len > 0 && !ReadMessagePart(fd_, data.data(), len)) {
    throw EOFError("connection closed in the middle of a message");
  }
  return data;
}

void Connection::send(const Object& value) const {
  send_bytes(internal::EncodeTransfer(value));
}

Object Connection::recv() const {
  return internal::DecodeTransfer(recv_bytes());
}

bool Connection::poll(
    std::optional<std::chrono::duration<double>> timeout) const {
  if (fd_ < 0) throw ValueError("handle is closed");
  if (!readable_) throw ValueError("connection is write-only");
  pollfd pfd{fd_, POLLIN, 0};
  int ms =
      timeout ? static_cast<int>(std::max(0.0, timeout->count() * 1000)) : -1;
  int r;
  do {
    r = ::poll(&pfd, 1, ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::pair<Connection, Connection> Pipe(bool duplex) {
  // Close-on-exec, as Python's: a spawned child gets only the ends passed
  // to it (a stray copy of the other end would keep EOF from arriving); a
  // fork child inherits every descriptor regardless.
  int fds[2];
  if (duplex) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      throw ConnectionError(std::string("socketpair: ") + std::strerror(errno));
    }
    return {Connection(fds[0], true, true), Connection(fds[1], true, true)};
  }
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw ConnectionError(std::string("pipe: ") + std::strerror(errno));
  }
  return {Connection(fds[0], true, false), Connection(fds[1], false, true)};
}

namespace {
constexpr char kFdKind[] = "mp.Connection";
}  // namespace

Object to_object(const Connection& conn) {
  if (conn.closed()) throw ValueError("handle is closed");
  // meta: whether the end reads and writes ("rw", "r", "w").
  std::string meta;
  if (conn.readable()) meta += 'r';
  if (conn.writable()) meta += 'w';
  // `local`: marks the Object as made in this process (or its fork
  // child), whose from_object duplicates rather than takes.
  static const auto here = std::make_shared<int>(0);
  return internal::FdObject(conn.fileno(), kFdKind, meta, here);
}

void from_object(const Object& object, Connection& conn) {
  const internal::FdRef& ref =
      internal::ExpectFdRef(object, kFdKind, "mp::Connection");
  // Decoded in a child (no local object): the end is this process's to
  // own. Otherwise (this process, or a fork child) a duplicate.
  int fd = ref.local() ? -1 : ref.Release();
  if (fd < 0) fd = fcntl(ref.fd(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) throw ValueError(std::string("dup: ") + std::strerror(errno));
  const std::string& meta = ref.meta();
  conn = Connection(fd, meta.find('r') != std::string::npos,
                    meta.find('w') != std::string::npos);
}

}  // namespace mp
