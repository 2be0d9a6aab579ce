#include "process/forkserver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/fd_io.h"
#include "common/resource_tracker.h"
#include "mp/errors.h"
#include "process/task_codec.h"

extern char** environ;

namespace mp::internal {
namespace {

// Request: u32 spec length, u8 flags (1: daemon, 2: a ready fd follows,
// 4: a resource tracker's sending end follows), spec bytes; fds: status_w,
// ready_w if flagged, the tracker's if flagged, then the task's carried
// descriptors. Reply: i32 pid (or -errno).
constexpr uint8_t kDaemonFlag = 1;
constexpr uint8_t kReadyFlag = 2;
constexpr uint8_t kTrackerFlag = 4;
constexpr size_t kMaxRequestFds = 3 + kMaxCarriedFds;

bool SendRequest(int sock, const std::string& spec, bool daemon, int status_w,
                 int ready_w, const std::vector<int>& carried) {
  uint32_t len = static_cast<uint32_t>(spec.size());
  // The child's resource tracker is ours (common/resource_tracker.h).
  const int tracker = ResourceTrackerFd();
  uint8_t flags = (daemon ? kDaemonFlag : 0) | (ready_w >= 0 ? kReadyFlag : 0) |
                  (tracker >= 0 ? kTrackerFlag : 0);
  iovec iov[3] = {{&len, sizeof len},
                  {&flags, sizeof flags},
                  {const_cast<char*>(spec.data()), spec.size()}};
  if (carried.size() > kMaxCarriedFds) return false;
  int fds[kMaxRequestFds];
  int nfds = 0;
  fds[nfds++] = status_w;
  if (ready_w >= 0) fds[nfds++] = ready_w;
  if (tracker >= 0) fds[nfds++] = tracker;
  for (int fd : carried) fds[nfds++] = fd;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 3;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  // Stream socket: the header and body go in one sendmsg; the rest (a large
  // spec) follows without fds.
  ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  if (n < 0) return false;
  size_t total = sizeof len + sizeof flags + spec.size();
  size_t sent = static_cast<size_t>(n);
  while (sent < total) {
    size_t off = sent - sizeof len - sizeof flags;
    ssize_t m = send(sock, spec.data() + off, spec.size() - off, MSG_NOSIGNAL);
    if (m <= 0) return false;
    sent += m;
  }
  return true;
}

struct Client {
  pid_t owner = getpid();
  absl::Mutex mu;
  pid_t server_pid = 0;
  int sock = -1;
};

// This process's own connection to its forkserver. A fork()ed child must
// not use its parent's: requests on the shared socket would interleave with
// the parent's, and the inherited mutex may have been held by a parent
// thread at the fork, never to be released in the child. So a child starts
// afresh (and, on first use, its own forkserver), leaking the inherited
// state rather than touching it. Not thread-safe against a concurrent first
// use in the same new child; a fork child starts single-threaded.
Client& GetClient() {
  static Client* client = new Client;
  if (client->owner != getpid()) {
    if (client->sock >= 0) close(client->sock);  // our copy only
    client = new Client;
  }
  return *client;
}

void StartServerLocked(Client& c) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw ProcessError(std::string("socketpair: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  // Only its socket: every child it forks later would otherwise hold open
  // whatever the program had open without FD_CLOEXEC when it started.
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kForkserverFdEnv) + "=3");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>("mp-forkserver"), nullptr};
  pid_t pid = 0;
  int rc =
      posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    throw ProcessError(std::string("cannot start the forkserver: ") +
                       std::strerror(rc));
  }
  c.server_pid = pid;
  c.sock = sv[0];
}

}  // namespace

ForkserverChild ForkserverStart(const std::string& spec, int ready_fd,
                                bool daemon, const std::vector<int>& carried) {
  Client& c = GetClient();
  int status[2];
  if (pipe2(status, O_CLOEXEC) != 0) {
    throw ProcessError(std::string("pipe: ") + std::strerror(errno));
  }
  absl::MutexLock lock(&c.mu);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c.sock < 0) StartServerLocked(c);
    int32_t pid = 0;
    if (SendRequest(c.sock, spec, daemon, status[1], ready_fd, carried) &&
        ReadExactly(c.sock, &pid, sizeof pid) == sizeof pid) {
      close(status[1]);
      if (pid <= 0) {
        close(status[0]);
        throw ProcessError(std::string("forkserver: fork failed: ") +
                           std::strerror(-pid));
      }
      return ForkserverChild{pid, status[0]};
    }
    // The server died (or was never usable): start a new one once.
    close(c.sock);
    c.sock = -1;
    waitpid(c.server_pid, nullptr, WNOHANG);
  }
  close(status[0]);
  close(status[1]);
  throw ProcessError("the forkserver is not responding");
}

void ForkserverMain(int sock) {
  // Children are reaped here; their statuses go to their parents' pipes.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
  std::map<pid_t, int> status_fds;
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      (void)!read(sfd, &info, sizeof info);
      int st = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        auto it = status_fds.find(pid);
        if (it == status_fds.end()) continue;
        (void)!write(it->second, &st, sizeof st);
        close(it->second);
        status_fds.erase(it);
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      uint32_t len = 0;
      uint8_t flags = 0;
      iovec iov[2] = {{&len, sizeof len}, {&flags, sizeof flags}};
      alignas(
          cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxRequestFds)] = {};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = 2;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) _exit(0);  // the program is gone
      int all[kMaxRequestFds];
      size_t nfds = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          std::memcpy(all + nfds, CMSG_DATA(c),
                      std::min(count, kMaxRequestFds - nfds) * sizeof(int));
          nfds += std::min(count, kMaxRequestFds - nfds);
        }
      }
      const size_t own_fds =
          1 + ((flags & kReadyFlag) ? 1 : 0) + ((flags & kTrackerFlag) ? 1 : 0);
      if (n < static_cast<ssize_t>(sizeof len + sizeof flags) ||
          nfds < own_fds) {
        _exit(1);
      }
      // received[0]: status_w, received[1]: ready_w or -1, received[2]: the
      // tracker's sending end or -1.
      int received[3] = {all[0], (flags & kReadyFlag) ? all[1] : -1,
                         (flags & kTrackerFlag) ? all[own_fds - 1] : -1};
      const size_t first_carried = own_fds;
      std::vector<int> carried(all + first_carried, all + nfds);
      std::string spec(len, '\0');
      if (ReadExactly(sock, spec.data(), len) != static_cast<ssize_t>(len))
        _exit(0);
      pid_t child = fork();
      if (child == 0) {
        close(sock);
        close(sfd);
        sigprocmask(SIG_UNBLOCK, &chld, nullptr);
        signal(SIGPIPE, SIG_DFL);
        close(received[0]);
        // Siblings' status pipes are not this child's business: holding
        // them would delay their parents' EOF and grow every child's fd
        // table with the number of running children.
        for (const auto& [sibling, fd] : status_fds) close(fd);
        if (flags & kDaemonFlag) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (received[2] >= 0) AdoptResourceTracker(received[2]);
        int code = RunEncodedTask(spec, received[1], carried);
        std::fflush(nullptr);
        _exit(code);
      }
      if (received[1] >= 0) close(received[1]);
      if (received[2] >= 0) close(received[2]);
      for (int fd : carried) close(fd);
      int32_t reply = child > 0 ? child : -errno;
      if (child > 0) {
        status_fds[child] = received[0];
      } else {
        close(received[0]);
      }
      (void)!write(sock, &reply, sizeof reply);
    }
  }
}

}  // namespace mp::internal
