#include "server/accept_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/log.h"

// A sanitizer runtime defines accept4 as a weak alias of its interceptor;
// calling the interceptor keeps its bookkeeping (TSan's descriptor
// tracking) when this file's definition takes the name.
extern "C" int __interceptor_accept4(int fd, sockaddr* addr,
                                     socklen_t* addrlen, int flags)
    __attribute__((weak));

namespace mp::server {
namespace {

// A connection the backlog holds is refused this many times per failed
// accept at most; the backlog itself is bounded by somaxconn (4096).
constexpr int kMaxRefusalsPerFailure = 4096;

class Guard {
 public:
  Guard() : spare_fd_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

  void Add(int fd) {
    absl::MutexLock lock(&mu_);
    fds_.insert(fd);
  }
  void Remove(int fd) {
    absl::MutexLock lock(&mu_);
    fds_.erase(fd);
  }

  bool Guarded(int listen_fd) {
    absl::MutexLock lock(&mu_);
    return fds_.contains(listen_fd);
  }

  // See RefuseOnePending.
  bool RefuseOne(int listen_fd) {
    absl::MutexLock lock(&mu_);
    if (spare_fd_ < 0) return false;
    close(spare_fd_);
    const int fd = static_cast<int>(
        syscall(SYS_accept4, listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (fd >= 0) close(fd);
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<int> fds_ ABSL_GUARDED_BY(mu_);
  int spare_fd_ ABSL_GUARDED_BY(mu_);
};

Guard& TheGuard() {
  static auto* guard = new Guard;
  return *guard;
}

RateLimitedLog& OutOfDescriptorsLog() {
  static auto* log = new RateLimitedLog;
  return *log;
}

// "unix:PATH" and "unix://ABSOLUTE_PATH" name the same socket for gRPC.
std::string PathOfUnixAddress(const std::string& path) {
  return path.rfind("//", 0) == 0 ? path.substr(2) : path;
}

bool IsListeningSocket(int fd) {
  int accepting = 0;
  socklen_t len = sizeof accepting;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 &&
         accepting != 0;
}

bool BoundToOneOf(int fd, const std::vector<std::string>& unix_paths,
                  const std::vector<int>& tcp_ports) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return false;
  }
  switch (addr.ss_family) {
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&addr);
      const std::string bound(un->sun_path,
                              strnlen(un->sun_path, sizeof un->sun_path));
      for (const std::string& path : unix_paths) {
        if (PathOfUnixAddress(path) == bound) return true;
      }
      return false;
    }
    case AF_INET:
    case AF_INET6: {
      const int port =
          ntohs(addr.ss_family == AF_INET
                    ? reinterpret_cast<const sockaddr_in*>(&addr)->sin_port
                    : reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
      for (int p : tcp_ports) {
        if (p == port) return true;
      }
      return false;
    }
    default:
      return false;
  }
}

}  // namespace

std::vector<int> GuardListeningSockets(
    const std::vector<std::string>& unix_paths,
    const std::vector<int>& tcp_ports) {
  std::vector<int> found;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return found;
  const int dir_fd = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dir_fd) continue;
    const int sock = static_cast<int>(fd);
    if (IsListeningSocket(sock) && BoundToOneOf(sock, unix_paths, tcp_ports)) {
      found.push_back(sock);
    }
  }
  closedir(dir);
  for (int fd : found) TheGuard().Add(fd);
  return found;
}

void UnguardListeningSockets(const std::vector<int>& fds) {
  for (int fd : fds) TheGuard().Remove(fd);
}

void ReserveSpareDescriptor() { TheGuard(); }

bool RefuseOnePending(int listen_fd) {
  return TheGuard().RefuseOne(listen_fd);
}

}  // namespace mp::server

namespace {

int SystemAccept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  return __interceptor_accept4 != nullptr
             ? __interceptor_accept4(fd, addr, addrlen, flags)
             : static_cast<int>(
                   syscall(SYS_accept4, fd, addr, addrlen, flags));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int accept4(
    int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  int accepted = SystemAccept4(fd, addr, addrlen, flags);
  if (accepted >= 0) return accepted;
  const int error = errno;
  if ((error != EMFILE && error != ENFILE && error != ENOBUFS &&
       error != ENOMEM) ||
      !mp::server::TheGuard().Guarded(fd)) {
    errno = error;
    return accepted;
  }
  // Out of descriptors: refuse one pending connection at a time, for as
  // long as that lasts. A connection that can be accepted again goes to
  // gRPC as usual - descriptors may free up while the backlog is drained.
  int refused = 0;
  if (error == EMFILE || error == ENFILE) {
    while (refused < mp::server::kMaxRefusalsPerFailure &&
           mp::server::TheGuard().RefuseOne(fd)) {
      ++refused;
      accepted = SystemAccept4(fd, addr, addrlen, flags);
      if (accepted >= 0 || (errno != EMFILE && errno != ENFILE)) break;
    }
  }
  mp::server::OutOfDescriptorsLog().Warn(
      "gRPC listener: accept4: " + std::string(std::strerror(error)) +
      "; refused " + std::to_string(refused) +
      " pending connection(s) and kept listening (raise the fd limit, or "
      "lower max_sessions)");
  if (accepted >= 0) return accepted;
  // gRPC re-arms its read notification on EAGAIN; any other error would
  // end the listener.
  errno = EAGAIN;
  return -1;
}
