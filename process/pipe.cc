#include "mp/pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/fd_io.h"
#include "common/fd_ref.h"
#include "mp/errors.h"
#include "process/pipe_message.h"
#include "process/task_codec.h"

namespace mp {
namespace {

void CheckWritable(const Connection& conn) {
  if (conn.closed()) throw ValueError("handle is closed");
  if (!conn.writable()) throw ValueError("connection is read-only");
}

void CheckReadable(const Connection& conn) {
  if (conn.closed()) throw ValueError("handle is closed");
  if (!conn.readable()) throw ValueError("connection is write-only");
}

// What one recvmsg can take: a message's descriptors (SendMessage sends
// at most kMaxCarriedFds); more sets MSG_CTRUNC.
constexpr size_t kControlBytes =
    CMSG_SPACE(sizeof(int) * internal::kMaxCarriedFds);

// Reads exactly `n` bytes, adding the descriptors that come with them to
// `fds` and noting lost ones in `truncated`. Returns `n`, fewer when EOF
// came first, or -1 on an error (errno set). A descriptor that is not a
// socket (a Connection made from a pipe's fd) is read with read(2).
ssize_t RecvExactly(int fd, void* buf, size_t n, internal::ReceivedFds* fds,
                    bool* truncated, bool* not_socket) {
  char* p = static_cast<char*>(buf);
  size_t got = 0;
  while (got < n) {
    ssize_t r;
    if (*not_socket) {
      r = read(fd, p + got, n - got);
    } else {
      iovec iov{p + got, n - got};
      alignas(cmsghdr) char control[kControlBytes];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
      if (r < 0 && errno == ENOTSOCK) {
        *not_socket = true;
        continue;
      }
      if (r >= 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
             c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
          }
          const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (size_t i = 0; i < count; ++i) {
            int received;
            std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int),
                        sizeof received);
            fds->Add(received);
          }
        }
        if (msg.msg_flags & MSG_CTRUNC) *truncated = true;
      }
    }
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

// Reads exactly `n` bytes. False on EOF before any byte; EOFError on EOF
// part way, ConnectionError on an error.
bool ReadMessagePart(int fd, void* p, size_t n, internal::ReceivedFds* fds,
                     bool* truncated, bool* not_socket) {
  ssize_t got = RecvExactly(fd, p, n, fds, truncated, not_socket);
  if (got < 0) {
    throw ConnectionError(std::string("pipe recv: ") + std::strerror(errno));
  }
  if (static_cast<size_t>(got) == n) return true;
  if (got == 0) return false;
  throw EOFError("connection closed in the middle of a message");
}

}  // namespace

namespace internal {

void SendMessage(const Connection& conn, std::string_view data,
                 const std::vector<int>& fds) {
  CheckWritable(conn);
  if (data.size() > UINT32_MAX) throw ValueError("message too large");
  if (fds.size() > kMaxCarriedFds) {
    throw ValueError("at most " + std::to_string(kMaxCarriedFds) +
                     " descriptors travel with one message, not " +
                     std::to_string(fds.size()));
  }
  const uint32_t len = static_cast<uint32_t>(data.size());
  std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
  frame += data;
  size_t sent = 0;
  if (!fds.empty()) {
    // The descriptors ride on the first bytes; the rest of a large frame
    // follows without them.
    iovec iov{frame.data(), frame.size()};
    alignas(cmsghdr) char control[kControlBytes] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    ssize_t n;
    do {
      n = sendmsg(conn.fileno(), &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOTSOCK) {
      throw ValueError(
          "shared objects and Connection ends travel only through a unix "
          "socket (an mp::Pipe() end); this Connection is not one");
    }
    if (n < 0) {
      throw ConnectionError(std::string("pipe send: ") + std::strerror(errno));
    }
    sent = static_cast<size_t>(n);
  }
  if (!internal::WriteExactly(conn.fileno(), frame.data() + sent,
                              frame.size() - sent)) {
    throw ConnectionError(std::string("pipe send: ") + std::strerror(errno));
  }
}

std::string RecvMessage(const Connection& conn, ReceivedFds* fds) {
  CheckReadable(conn);
  ReceivedFds arrived;
  bool truncated = false;
  bool not_socket = false;
  uint32_t len = 0;
  if (!ReadMessagePart(conn.fileno(), &len, sizeof len, &arrived, &truncated,
                       &not_socket)) {
    throw EOFError("the other end of the pipe is closed");
  }
  std::string data(len, '\0');
  if (len > 0 && !ReadMessagePart(conn.fileno(), data.data(), len, &arrived,
                                  &truncated, &not_socket)) {
    throw EOFError("connection closed in the middle of a message");
  }
  if (truncated) {
    // The kernel closed those that did not fit; `arrived` closes the rest.
    throw ConnectionError(
        "a message's descriptors did not all arrive (MSG_CTRUNC: more than " +
        std::to_string(kMaxCarriedFds) +
        " sent, or this process ran out of descriptors)");
  }
  *fds = std::move(arrived);
  return data;
}

}  // namespace internal

Connection::Connection(int fd, bool readable, bool writable)
    : fd_(fd), readable_(readable), writable_(writable) {
  // As CPython's Connection(handle): a negative descriptor is a mistake to
  // report here, not a closed end that fails at its first use.
  if (fd < 0) throw ValueError("invalid handle: " + std::to_string(fd));
}

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
  internal::SendMessage(*this, data, {});
}

std::string Connection::recv_bytes() const {
  // Descriptors sent with the message (by send()) are closed here.
  internal::ReceivedFds fds;
  return internal::RecvMessage(*this, &fds);
}

void Connection::send(const Object& value) const {
  CheckWritable(*this);
  std::vector<int> fds;  // borrowed from `value`
  const std::string data = internal::EncodeTransfer(value, &fds);
  internal::SendMessage(*this, data, fds);
}

Object Connection::recv() const {
  internal::ReceivedFds fds;
  std::string data = internal::RecvMessage(*this, &fds);
  return internal::DecodeTransfer(data, std::move(fds));
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
  // A socket pair too, shut down one way: unlike a pipe(2) (Python's
  // choice), it can carry shared objects and Connection ends (SCM_RIGHTS).
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw ConnectionError(std::string("socketpair: ") + std::strerror(errno));
  }
  shutdown(fds[0], SHUT_WR);
  shutdown(fds[1], SHUT_RD);
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
