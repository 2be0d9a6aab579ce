#include "server/local_transport.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/notification.h"
#include "common/busy_poll.h"
#include "common/local_frame.h"
#include "mp/errors.h"
#include "server/accept_guard.h"
#include "server/log.h"
#include "server/session_endpoint.h"

namespace mp::server {
namespace {

// Before the handshake a client has no business sending more than a Hello
// or an AuthProof (about a hundred bytes).
constexpr size_t kHandshakeFrameBytes = 4096;
// Room for the envelope around a maximal call, as on the gRPC listener.
constexpr size_t kEnvelopeBytes = 4096;
// Replies held back while a batch of calls runs (see Cork) are sent early
// past this much.
constexpr size_t kCorkBytes = 256 << 10;
// The output buffer keeps this much capacity between replies.
constexpr size_t kKeepOutBytes = 64 << 10;
// Connections accepted per wake-up of one reactor, so that a flood of
// connects cannot starve the sessions it already serves.
constexpr int kAcceptsPerWake = 64;

std::string ErrnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

RateLimitedLog& BadInputLog() {
  static auto* log = new RateLimitedLog;
  return *log;
}

// The state letter of /proc/PID/stat ('R', 'S', 'T' stopped, 't' traced),
// or nullopt if the process is gone or unreadable.
std::optional<char> ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // "pid (comm) S ...": comm may hold spaces and parentheses.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) {
    return std::nullopt;
  }
  return line[paren + 2];
}

}  // namespace

// ---------------------------------------------------------------------------
// One client's connection. Lives on one reactor, whose loop's thread (one
// at a time) reads, runs the calls and writes; other threads only write
// late replies, under the endpoint's mutex.
class LocalSession final : public SessionEndpoint {
 public:
  LocalSession(ManagerService* service, int epoll_fd, int fd, pid_t peer_pid)
      : SessionEndpoint(service, "local"),
        epoll_fd_(epoll_fd),
        fd_(fd),
        peer_pid_(peer_pid),
        reader_(kHandshakeFrameBytes) {}

  ~LocalSession() override {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
  }

  // Registers with the reactor's epoll set and reads the Hello.
  void Start(const std::string& path) {
    {
      absl::MutexLock lock(&mu_);
      interest_ = EPOLLIN | EPOLLRDHUP;
      epoll_event ev{};
      ev.events = interest_;
      ev.data.ptr = this;
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev);
    }
    Accepted("unix:" + path);
    Dispatch();
  }

  // The reactor saw `events` on the socket.
  void OnEvents(uint32_t events) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) FinishWrite();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      const ssize_t n = reader_.ReadFrom(fd_);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                     errno != EINTR)) {
        peer_closed_ = true;
      }
    }
    Dispatch();
  }

  // With a lease timeout: ends the session of a client process that has
  // stayed stopped that long. Reactor thread.
  void CheckLease(absl::Time now, absl::Duration lease_timeout) {
    if (peer_pid_ <= 0) return;
    const std::optional<char> state = ProcessState(peer_pid_);
    if (!state || (*state != 'T' && *state != 't')) {
      stopped_since_.reset();
      return;
    }
    if (!stopped_since_) stopped_since_ = now;
    if (now - *stopped_since_ < lease_timeout) return;
    stopped_since_.reset();
    const absl::Status status = absl::DeadlineExceededError(
        "lease expired: the client process (pid " + std::to_string(peer_pid_) +
        ") was stopped for longer than the " + "lease timeout of " +
        absl::FormatDuration(lease_timeout) +
        "; its locks and other leases were given back");
    Log(LogLevel::kWarning, "session " + std::to_string(session_id()) + ": " +
                                std::string(status.message()));
    Fail(status);
  }

  // Ends the session at once from the reactor thread (the server stops).
  void Close() { Fail(absl::UnavailableError("the manager is shutting down")); }

 private:
  // Ends the session with `status` whether or not a read is pending.
  void Fail(absl::Status status) {
    if (want_read_) {
      want_read_ = false;
      OnReadError(std::move(status));
    } else {
      EndSession(std::move(status));
    }
  }

  // Hands buffered frames to the endpoint while it asks for them; then
  // stops watching for input while it does not (paused at the reply
  // backlog limit), so a level-triggered epoll does not spin.
  void Dispatch() {
    // A write completing at the flush may resume a paused call chain,
    // which may want the next frame: go round again then.
    do {
      Cork();
      DispatchFrames();
    } while (FlushOut(/*uncork=*/true));
  }

  void DispatchFrames() {
    while (want_read_) {
      if (!magic_seen_) {
        switch (reader_.ConsumePrefix(internal::kLocalMagic)) {
          case internal::FrameReader::PrefixStatus::kNeedMore:
            return ReadEnded();
          case internal::FrameReader::PrefixStatus::kMismatch:
            BadInputLog().Warn(
                "refused a connection on the local transport: it does not "
                "speak mp's local protocol (a gRPC client on the .local "
                "socket?)");
            return Fail(absl::InvalidArgumentError(
                "not an mp local-transport client (expected \"" +
                std::string(internal::kLocalMagic.substr(0, 8)) + "...\")"));
          case internal::FrameReader::PrefixStatus::kMatch:
            magic_seen_ = true;
            break;
        }
      }
      if (ready() && !limit_raised_) {
        reader_.set_max_frame_bytes(service()->max_message_bytes() +
                                    kEnvelopeBytes);
        limit_raised_ = true;
      }
      std::string_view payload;
      uint64_t declared = 0;
      switch (reader_.Next(&payload, &declared)) {
        case internal::FrameReader::Status::kNeedMore:
          return ReadEnded();
        case internal::FrameReader::Status::kTooLarge:
          BadInputLog().Warn("session " + std::to_string(session_id()) +
                             ": a message of " + std::to_string(declared) +
                             " bytes is over the limit; session ended");
          return Fail(absl::ResourceExhaustedError(
              "a message of " + std::to_string(declared) +
              " bytes exceeds the limit of " +
              std::to_string(reader_.max_frame_bytes()) + " bytes"));
        case internal::FrameReader::Status::kFrame:
          break;
      }
      in().Clear();
      if (!internal::ParseFrame(payload, &in())) {
        BadInputLog().Warn("session " + std::to_string(session_id()) +
                           ": a malformed message (not a ClientMessage, or "
                           "nested too deeply); session ended");
        return Fail(absl::InvalidArgumentError(
            "malformed message: not an mp.v1.ClientMessage (or nested "
            "deeper than the server parses)"));
      }
      want_read_ = false;
      OnRead(true);  // runs the calls; StartRead asks for the next one
    }
    UpdateReadInterest();
  }

  // No complete frame is buffered: end the session if the client is gone,
  // else wait for more bytes.
  void ReadEnded() {
    if (peer_closed_ && want_read_) {
      want_read_ = false;
      OnRead(false);
      return;
    }
    UpdateReadInterest();
  }

  void UpdateReadInterest() {
    absl::MutexLock lock(&mu_);
    const uint32_t read_bits =
        want_read_ && !peer_closed_ ? (EPOLLIN | EPOLLRDHUP) : 0;
    SetInterestLocked(read_bits | (interest_ & EPOLLOUT));
  }

  void SetInterestLocked(uint32_t interest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (interest == interest_ || finished_) return;
    interest_ = interest;
    epoll_event ev{};
    ev.events = interest;
    ev.data.ptr = this;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
  }

  // Sends what out_ holds (uncorking first if asked); once it is all out,
  // or the socket broke, tells the endpoint if it is waiting for that
  // (true then: OnWriteDone ran). Reactor thread.
  bool FlushOut(bool uncork) {
    bool notify = false;
    bool ok = true;
    {
      absl::MutexLock lock(&mu_);
      if (uncork) corked_ = false;
      if (out_sent_ == out_.size() && !endpoint_waiting_ && !write_error_) {
        SetInterestLocked(interest_ & ~EPOLLOUT);
        return false;
      }
      ok = !write_error_ && FlushLocked();
      if (!ok || out_sent_ == out_.size()) {
        if (!ok && !write_error_) {
          // The next read (or a waiting write) fails and ends the session.
          write_error_ = true;
          shutdown(fd_, SHUT_RDWR);
        }
        SetInterestLocked(interest_ & ~EPOLLOUT);
        notify = endpoint_waiting_;
        endpoint_waiting_ = false;
      } else {
        SetInterestLocked(interest_ | EPOLLOUT);
      }
    }
    if (notify) OnWriteDone(ok);
    return notify;
  }

  // The socket has room again (EPOLLOUT), or broke.
  void FinishWrite() { FlushOut(/*uncork=*/false); }

  // While Dispatch runs the calls of every frame one read brought, replies
  // collect in out_ and leave in one send(2) at the end (measured: a
  // pipelining client's throughput was bound by one send per reply).
  void Cork() {
    absl::MutexLock lock(&mu_);
    corked_ = true;
  }

  void StartRead() override { want_read_ = true; }

  // Appends the frame to out_; sends unless corked (and not too much is
  // waiting). True while the endpoint may count it as written: sent, or
  // held for the send at the end of this Dispatch.
  bool StartWrite(const v1::ServerMessage& message) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (out_sent_ == out_.size()) {
      // Idle sessions should not keep what one large reply grew.
      if (out_.capacity() > kKeepOutBytes) std::string().swap(out_);
      out_.clear();
      out_sent_ = 0;
    }
    if (write_error_ || !internal::AppendFrame(message, &out_)) {
      write_error_ = true;
    } else if (corked_ && out_.size() - out_sent_ < kCorkBytes) {
      return true;
    } else if (!FlushLocked()) {
      write_error_ = true;
    } else if (out_sent_ == out_.size()) {
      return true;
    }
    // Reported by FinishWrite on the reactor thread: EPOLLOUT when the
    // socket has room - or, after an error, the broken socket wakes it.
    endpoint_waiting_ = true;
    if (write_error_) {
      shutdown(fd_, SHUT_RDWR);
    } else {
      SetInterestLocked(interest_ | EPOLLOUT);
    }
    return false;
  }

  bool StartFinish(const absl::Status& status) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!status.ok() && !write_error_) {
      // Best effort, without blocking: tell the client why.
      v1::ServerMessage goodbye;
      goodbye.mutable_goodbye()->set_code(static_cast<int>(status.code()));
      goodbye.mutable_goodbye()->set_message(std::string(status.message()));
      if (internal::AppendFrame(goodbye, &out_)) FlushLocked();
    }
    shutdown(fd_, SHUT_RDWR);
    finished_ = true;
    return true;
  }

  void Abort() override { shutdown(fd_, SHUT_RDWR); }

  // Sends what the socket takes of out_; false on an error.
  bool FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (out_sent_ < out_.size()) {
      const ssize_t n = send(fd_, out_.data() + out_sent_,
                             out_.size() - out_sent_, MSG_NOSIGNAL);
      if (n > 0) {
        out_sent_ += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      } else {
        return false;
      }
    }
    return true;
  }

  const int epoll_fd_;
  const int fd_;
  const pid_t peer_pid_;

  // Reactor thread only.
  internal::FrameReader reader_;
  bool magic_seen_ = false;
  bool limit_raised_ = false;
  bool want_read_ = false;
  bool peer_closed_ = false;
  std::optional<absl::Time> stopped_since_;

  // Frames not yet sent, from out_sent_ on.
  std::string out_ ABSL_GUARDED_BY(mu_);
  size_t out_sent_ ABSL_GUARDED_BY(mu_) = 0;
  // StartWrite returned false: FinishWrite owes the endpoint OnWriteDone.
  bool endpoint_waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool corked_ ABSL_GUARDED_BY(mu_) = false;
  bool write_error_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t interest_ ABSL_GUARDED_BY(mu_) = 0;
};

// ---------------------------------------------------------------------------
// One loop, one epoll set: the listening sockets (shared by every reactor,
// EPOLLEXCLUSIVE so that one wakes per connection) and the sessions this
// reactor accepted. The loop runs on the service's CustomExecutor threads,
// one thread at a time.
class LocalTransport::Reactor {
 public:
  explicit Reactor(LocalTransport* transport) : transport_(transport) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      throw RuntimeError(ErrnoText("local transport: epoll/eventfd"));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &wake_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }

  ~Reactor() {
    if (started_) Stop();
    close(wake_fd_);
    close(epoll_fd_);
  }

  void AddListener(int fd, size_t index) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &listener_tags_[index];
    listener_tags_[index] = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }

  // Serves the sessions on `executor`'s threads (leader/followers: a turn
  // that reads a custom call runs it on its own thread, the loop parked,
  // and the loop moves to another thread only if the method runs long).
  void Start(CustomExecutor* executor) {
    const absl::Duration lease = transport_->lease_timeout_;
    // A stopped client is noticed within a quarter of the lease.
    timeout_ms_ =
        lease > absl::ZeroDuration()
            ? std::max<int>(
                  1, static_cast<int>(absl::ToInt64Milliseconds(lease / 4)))
            : -1;
    next_lease_check_ = absl::Now() + lease / 4;
    started_ = true;
    executor->StartLoop([this] { return Turn(); }, &ended_);
  }

  void Stop() {
    stopping_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    ended_.WaitForNotification();
    started_ = false;
  }

 private:
  // One epoll wait and what it brought; false once stopping (every
  // session closed).
  bool Turn() {
    if (stopping_.load()) {
      CloseAll();
      return false;
    }
    epoll_event events[64];
    // After a turn that had work, the next request is likely close behind:
    // poll for it briefly before sleeping (common/busy_poll.h).
    int n = 0;
    if (!had_work_ || !busy_poll_.Spin([&] {
          n = epoll_wait(epoll_fd_, events, 64, 0);
          return n != 0;
        })) {
      n = epoll_wait(epoll_fd_, events, 64, timeout_ms_);
    }
    had_work_ = n > 0;
    if (n < 0 && errno != EINTR) {
      Log(LogLevel::kError, ErrnoText("local transport: epoll_wait"));
      CloseAll();
      return false;
    }
    for (int i = 0; i < n; ++i) {
      void* ptr = events[i].data.ptr;
      if (ptr == &wake_fd_) continue;
      if (ptr >= &listener_tags_[0] &&
          ptr < &listener_tags_[0] + kMaxListeners) {
        Accept(*static_cast<int*>(ptr));
        continue;
      }
      auto* session = static_cast<LocalSession*>(ptr);
      if (!sessions_.contains(session)) continue;  // deleted this round
      session->OnEvents(events[i].events);
      Reap(session);
    }
    if (timeout_ms_ >= 0 && absl::Now() >= next_lease_check_) {
      const absl::Duration lease = transport_->lease_timeout_;
      const absl::Time now = absl::Now();
      next_lease_check_ = now + lease / 4;
      std::vector<LocalSession*> all(sessions_.begin(), sessions_.end());
      for (LocalSession* session : all) {
        session->CheckLease(now, lease);
        Reap(session);
      }
    }
    return true;
  }

  // Stopping: every session ends now (the service has already answered
  // parked calls with the reason); deleting gives back their leases.
  void CloseAll() {
    for (LocalSession* session : sessions_) {
      session->Close();
      delete session;
    }
    sessions_.clear();
  }

  // Deletes `session` once it has finished.
  void Reap(LocalSession* session) {
    if (!session->Quiescent()) return;
    sessions_.erase(session);
    delete session;
  }

  void Accept(int listen_fd) {
    for (int i = 0; i < kAcceptsPerWake; ++i) {
      const int fd =
          accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          return RefuseOneOverLimit(listen_fd);
        }
        // EAGAIN: none left; anything else (ECONNABORTED...) concerns
        // that one connection only.
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        continue;
      }
      ucred cred{};
      socklen_t len = sizeof cred;
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        cred.pid = 0;
      }
      auto* session =
          new LocalSession(transport_->service_, epoll_fd_, fd, cred.pid);
      sessions_.insert(session);
      session->Start(PathOf(listen_fd));
      Reap(session);
    }
  }

  // Out of file descriptors: refuse the connection with the process's
  // spare descriptor (accept_guard.h) - the client learns (connection
  // closed) instead of waiting in the backlog, and the listener keeps
  // working once fds free up (gRPC 1.51's listener stopped for good here).
  void RefuseOneOverLimit(int listen_fd) {
    RefuseOnePending(listen_fd);
    BadInputLog().Warn(
        "local transport: out of file descriptors; refused a connection "
        "(raise the fd limit, or lower max_sessions)");
  }

  const std::string& PathOf(int listen_fd) const {
    for (size_t i = 0; i < transport_->listen_fds_.size(); ++i) {
      if (transport_->listen_fds_[i] == listen_fd) return transport_->paths_[i];
    }
    static const std::string* unknown = new std::string("?");
    return *unknown;
  }

 public:
  static constexpr size_t kMaxListeners = 16;

 private:
  LocalTransport* const transport_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int listener_tags_[kMaxListeners] = {};
  bool started_ = false;  // the owner's thread only
  absl::Notification ended_;
  std::atomic<bool> stopping_{false};
  // The thread serving the loop only (a turn happens-after the last).
  absl::flat_hash_set<LocalSession*> sessions_;
  int timeout_ms_ = -1;
  absl::Time next_lease_check_;
  internal::BusyPoll busy_poll_;
  bool had_work_ = false;  // the last turn's epoll_wait returned events
};

// ---------------------------------------------------------------------------

LocalTransport::LocalTransport(ManagerService* service, int threads,
                               absl::Duration lease_timeout)
    : service_(service), lease_timeout_(lease_timeout) {
  for (int i = 0; i < threads; ++i) {
    reactors_.push_back(std::make_unique<Reactor>(this));
  }
  ReserveSpareDescriptor();
}

LocalTransport::~LocalTransport() { Stop(); }

void LocalTransport::Listen(const std::string& path) {
  if (listen_fds_.size() >= Reactor::kMaxListeners) {
    throw RuntimeError("local transport: too many listening sockets");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    throw RuntimeError("local transport: socket path too long (" +
                       std::to_string(path.size()) + " bytes, at most " +
                       std::to_string(sizeof(addr.sun_path) - 1) +
                       "): " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  // A socket left by a server that died: replace it. Nothing else.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw RuntimeError("local transport: " + path +
                         " exists and is not a socket");
    }
    unlink(path.c_str());
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw RuntimeError(ErrnoText("local transport: socket"));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const std::string why = ErrnoText(("local transport: " + path).c_str());
    close(fd);
    throw RuntimeError(why);
  }
  for (size_t i = 0; i < reactors_.size(); ++i) {
    reactors_[i]->AddListener(fd, listen_fds_.size());
  }
  listen_fds_.push_back(fd);
  paths_.push_back(path);
}

void LocalTransport::Start() {
  if (started_) return;
  started_ = true;
  for (auto& reactor : reactors_) reactor->Start(service_->executor());
}

void LocalTransport::Stop() {
  for (int fd : listen_fds_) close(fd);
  if (started_) {
    started_ = false;
    for (auto& reactor : reactors_) reactor->Stop();
  }
  for (const std::string& path : paths_) unlink(path.c_str());
  listen_fds_.clear();
  paths_.clear();
}

}  // namespace mp::server
