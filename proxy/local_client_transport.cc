#include "proxy/local_client_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include "absl/container/flat_hash_set.h"
#include "mp/errors.h"

namespace mp::internal {
namespace {

// The largest frame expected from the server before the session says how
// large messages may be: replies are bounded by the server's own limit,
// which the client does not know, so only a sanity bound applies.
constexpr size_t kMaxServerFrameBytes = size_t{1} << 31;

// Session sockets this process opened. A fork()ed child closes its copies
// at once: otherwise a child that outlives its parent would keep the
// parent's session - and the locks it holds - open on the server.
struct OpenSockets {
  absl::Mutex mu;
  absl::flat_hash_set<int> fds ABSL_GUARDED_BY(mu);
};

OpenSockets& GetOpenSockets() {
  // Leaked: transports may be destroyed during static destruction.
  static OpenSockets* sockets = [] {
    auto* s = new OpenSockets;
    // The lock is held from one handler to the next, which the
    // thread-safety analysis cannot follow: the child handler runs with it
    // held since the prepare handler.
    pthread_atfork(
        []() ABSL_NO_THREAD_SAFETY_ANALYSIS { GetOpenSockets().mu.Lock(); },
        []() ABSL_NO_THREAD_SAFETY_ANALYSIS { GetOpenSockets().mu.Unlock(); },
        []() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          // The child's only thread; close() is
          // async-signal-safe. A fresh mutex, as for the
          // connection registry (proxy/connection.cc).
          OpenSockets& s = GetOpenSockets();
          for (int fd : s.fds) close(fd);
          s.fds.clear();
          new (&s.mu) absl::Mutex();
        });
    return s;
  }();
  return *sockets;
}

// How long one blocking recv(2) may wait (SO_RCVTIMEO) before the caller
// looks at its deadline again. Waits shorter than this poll(2) instead.
constexpr absl::Duration kBlockingReadSlice = absl::Milliseconds(100);

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      INT_MAX, absl::ToInt64Milliseconds(left + absl::Milliseconds(1) -
                                         absl::Nanoseconds(1))));
}

}  // namespace

LocalClientTransport::LocalClientTransport(int fd)
    : fd_(fd), owner_pid_(getpid()), reader_(kMaxServerFrameBytes) {
  OpenSockets& sockets = GetOpenSockets();
  absl::MutexLock lock(&sockets.mu);
  sockets.fds.insert(fd_);
}

LocalClientTransport::~LocalClientTransport() {
  if (getpid() != owner_pid_) return;  // closed at fork
  OpenSockets& sockets = GetOpenSockets();
  absl::MutexLock lock(&sockets.mu);
  sockets.fds.erase(fd_);
  close(fd_);
}

std::unique_ptr<LocalClientTransport> LocalClientTransport::Connect(
    const std::string& path, absl::Time deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return nullptr;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    throw ConnectionError(std::string("socket: ") + std::strerror(errno));
  }
  auto fail = [&](const char* what, int err) {
    close(fd);
    throw ConnectionError("cannot connect to the manager's local socket " +
                          path + ": " + what + ": " + std::strerror(err));
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) {
      close(fd);
      return nullptr;  // no local transport there
    }
    if (err != EAGAIN && err != EINPROGRESS) fail("connect", err);
    // The server's accept backlog is full: wait for room, boundedly.
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
      r = poll(&p, 1, PollTimeoutMs(deadline));
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      close(fd);
      throw ConnectionError("timed out connecting to the manager at " + path);
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (r < 0 || so_error != 0) fail("connect", r < 0 ? errno : so_error);
  }
  // Connected: from now on the socket blocks, so that waiting for a reply
  // is one recv(2) instead of poll(2) + recv(2) (0.76 us of a ~14 us call
  // here); every send passes MSG_DONTWAIT, and SO_RCVTIMEO bounds each
  // blocking recv so the caller sees its deadline.
  const int flags = fcntl(fd, F_GETFL);
  const timeval slice{0, static_cast<suseconds_t>(
                             absl::ToInt64Microseconds(kBlockingReadSlice))};
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice) != 0) {
    fail("fcntl/setsockopt", errno);
  }
  std::unique_ptr<LocalClientTransport> t(new LocalClientTransport(fd));
  {
    absl::MutexLock lock(&t->write_mu_);
    t->pending_ = std::string(kLocalMagic);  // leaves with the first frame
  }
  return t;
}

bool LocalClientTransport::FlushLocked() {
  while (pending_sent_ < pending_.size()) {
    const ssize_t n =
        send(fd_, pending_.data() + pending_sent_,
             pending_.size() - pending_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      pending_sent_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      return false;
    }
  }
  pending_.clear();
  pending_sent_ = 0;
  return true;
}

bool LocalClientTransport::StartWrite(const v1::ClientMessage& message) {
  absl::MutexLock lock(&write_mu_);
  if (write_failed_.load() || !AppendFrame(message, &pending_) ||
      !FlushLocked()) {
    write_failed_.store(true);
    write_outstanding_.store(true);  // Poll reports kWriteFailed
    return false;
  }
  if (pending_.empty()) return true;
  write_outstanding_.store(true);  // Poll finishes it on POLLOUT
  return false;
}

bool LocalClientTransport::Read(bool wait) {
  return ReadResult(reader_.ReadFrom(fd_, wait));
}

bool LocalClientTransport::ReadResult(ssize_t n) {
  if (n == 0) {
    end_status_ = absl::UnavailableError("the manager closed the connection");
    return false;
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    end_status_ =
        absl::UnavailableError(std::string("read: ") + std::strerror(errno));
    return false;
  }
  return true;
}

ClientTransport::Event LocalClientTransport::Poll(absl::Time deadline,
                                                  v1::ServerMessage* read) {
  for (;;) {
    std::string_view payload;
    uint64_t declared = 0;
    switch (reader_.Next(&payload, &declared)) {
      case FrameReader::Status::kFrame:
        if (!ParseFrame(payload, read)) {
          end_status_ = absl::InternalError(
              "the manager sent a message that does not parse");
          return Event::kClosed;
        }
        if (read->has_goodbye()) {
          end_status_ = absl::Status(
              static_cast<absl::StatusCode>(read->goodbye().code()),
              read->goodbye().message());
          return Event::kClosed;
        }
        return Event::kRead;
      case FrameReader::Status::kTooLarge:
        end_status_ = absl::InternalError("the manager sent a frame of " +
                                          std::to_string(declared) + " bytes");
        return Event::kClosed;
      case FrameReader::Status::kNeedMore:
        break;
    }
    const bool writing = write_outstanding_.load();
    if (writing && write_failed_.load()) {
      write_outstanding_.store(false);
      return Event::kWriteFailed;
    }
    if (!writing && deadline - absl::Now() > kBlockingReadSlice) {
      // Nothing to send: poll for the reply briefly (common/busy_poll.h),
      // then wait for it in recv(2) itself.
      ssize_t spun = -1;
      if (busy_poll_.Spin([&] {
            spun = reader_.ReadFrom(fd_, /*wait=*/false);
            return spun >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
          })) {
        if (!ReadResult(spun)) return Event::kClosed;
        continue;
      }
      if (!Read(/*wait=*/true)) return Event::kClosed;
      continue;  // frames to parse, or the slice ended: look again
    }
    pollfd p{fd_, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    const int r = poll(&p, 1, PollTimeoutMs(deadline));
    if (r < 0) {
      if (errno == EINTR) continue;
      end_status_ =
          absl::UnavailableError(std::string("poll: ") + std::strerror(errno));
      return Event::kClosed;
    }
    if (r == 0) {
      if (absl::Now() < deadline) continue;  // poll rounds to milliseconds
      return Event::kTimeout;
    }
    if (p.revents & POLLOUT) {
      absl::MutexLock lock(&write_mu_);
      if (!FlushLocked()) {
        write_failed_.store(true);
        write_outstanding_.store(false);
        return Event::kWriteFailed;
      }
      if (pending_.empty()) {
        write_outstanding_.store(false);
        return Event::kWriteDone;
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!Read(/*wait=*/false)) return Event::kClosed;
    }
  }
}

absl::Status LocalClientTransport::EndStatus(absl::Time) {
  // A write that failed because the server had closed the socket may have
  // come before the Goodbye saying why was read: look for it.
  for (int i = 0; end_status_.ok() && i < 64; ++i) {
    std::string_view payload;
    if (reader_.Next(&payload) == FrameReader::Status::kFrame) {
      v1::ServerMessage message;
      if (ParseFrame(payload, &message) && message.has_goodbye()) {
        end_status_ = absl::Status(
            static_cast<absl::StatusCode>(message.goodbye().code()),
            message.goodbye().message());
      }
      continue;
    }
    if (reader_.ReadFrom(fd_) <= 0) break;
  }
  if (end_status_.ok()) {
    return absl::UnavailableError("the connection to the manager closed");
  }
  return end_status_;
}

void LocalClientTransport::Cancel() { shutdown(fd_, SHUT_RDWR); }

}  // namespace mp::internal
