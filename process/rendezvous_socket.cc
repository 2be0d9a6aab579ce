#include "process/rendezvous_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "absl/strings/escaping.h"
#include "common/auth.h"
#include "mp/errors.h"

namespace mp::internal {
namespace {

// The abstract-namespace address for `name` (a leading NUL byte).
socklen_t AbstractAddress(const std::string& name, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr->sun_path) {
    throw ProcessError("pool socket name too long");
  }
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                name.size());
}

}  // namespace

RendezvousSocket::RendezvousSocket()
    : name_("mp-pool-" + std::to_string(getpid()) + "-" +
            absl::BytesToHexString(RandomBytes(12))) {
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    throw ProcessError(std::string("pool socket: ") + std::strerror(errno));
  }
  sockaddr_un addr;
  const socklen_t len = AbstractAddress(name_, &addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(fd_, 1) != 0) {
    const int err = errno;
    ::close(fd_);
    throw ProcessError(std::string("pool socket: ") + std::strerror(err));
  }
}

RendezvousSocket::~RendezvousSocket() { ::close(fd_); }

int RendezvousSocket::Accept(int sentinel, std::chrono::milliseconds timeout) {
  pollfd pfds[2] = {{fd_, POLLIN, 0}, {sentinel, POLLIN, 0}};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    const int n = poll(pfds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !(pfds[0].revents & POLLIN)) return -1;
    return accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }
}

int DialRendezvous(const std::string& name) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw ProcessError(std::string("pool worker socket: ") +
                       std::strerror(errno));
  }
  sockaddr_un addr;
  const socklen_t len = AbstractAddress(name, &addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    ::close(fd);
    throw ProcessError(std::string("pool worker cannot connect: ") +
                       std::strerror(err));
  }
  return fd;
}

}  // namespace mp::internal
