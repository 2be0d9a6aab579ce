#include "mp/pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "mp/errors.h"
#include "process/task_codec.h"

namespace mp {
namespace {

void WriteFully(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = fd >= 0 ? ::send(fd, p, n, MSG_NOSIGNAL) : -1;
    if (w < 0 && errno == ENOTSOCK) w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw ConnectionError(std::string("pipe send: ") + std::strerror(errno));
    }
    p += w;
    n -= w;
  }
}

// False on EOF before any byte; throws EOFError on EOF mid-message.
bool ReadFully(int fd, char* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r == 0) {
      if (got == 0) return false;
      throw EOFError("connection closed in the middle of a message");
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      throw ConnectionError(std::string("pipe recv: ") + std::strerror(errno));
    }
    got += r;
  }
  return true;
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
  WriteFully(fd_, frame.data(), frame.size());
}

std::string Connection::recv_bytes() const {
  if (fd_ < 0) throw ValueError("handle is closed");
  if (!readable_) throw ValueError("connection is write-only");
  uint32_t len = 0;
  if (!ReadFully(fd_, reinterpret_cast<char*>(&len), sizeof len)) {
    throw EOFError("the other end of the pipe is closed");
  }
  std::string data(len, '\0');
  if (len > 0 && !ReadFully(fd_, data.data(), len)) {
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
  int ms = timeout ? static_cast<int>(std::max(0.0, timeout->count() * 1000))
                   : -1;
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
  int fds[2];
  if (duplex) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
      throw ConnectionError(std::string("socketpair: ") + std::strerror(errno));
    }
    return {Connection(fds[0], true, true), Connection(fds[1], true, true)};
  }
  if (pipe(fds) != 0) {
    throw ConnectionError(std::string("pipe: ") + std::strerror(errno));
  }
  return {Connection(fds[0], true, false), Connection(fds[1], false, true)};
}

}  // namespace mp
