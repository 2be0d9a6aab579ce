#include "common/resource_tracker.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace mp::internal {
namespace {

// Registrations are single datagrams: "R<name>" or "U<name>" (names are at
// most 250 characters).
constexpr char kRegister = 'R';
constexpr char kUnregister = 'U';
constexpr size_t kMaxMessage = 512;
// A tracker that stopped reading (SIGSTOPped) must not hang create().
constexpr time_t kSendTimeoutSeconds = 5;

struct State {
  std::mutex start_mu;  // serialises starting the tracker
  std::atomic<int> fd{-1};
  std::atomic<bool> allowed{false};
};

State& GetState() {
  static State* state = new State;  // never destroyed: used until _exit
  return *state;
}

// Starts the tracker; returns our sending end, or -1.
int StartTracker() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[0], 3);
  // It outlives the program briefly: it must not hold the program's stdin
  // or stdout (whoever reads them would wait for it). stderr stays, for
  // the warning.
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // It outlives the program: no other descriptor of the program's (a
  // listening socket, a lock) may stay open in it, FD_CLOEXEC or not.
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: killing the program's process group (a terminal's
  // Ctrl-C, `kill -- -PGID`) spares it, as it must outlive the program.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kResourceTrackerEnv) + "=3");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(kResourceTrackerArgv0), nullptr};
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(sv[0]);
  if (rc != 0) {
    ::close(sv[1]);
    return -1;
  }
  shutdown(sv[1], SHUT_RD);
  timeval timeout{};
  timeout.tv_sec = kSendTimeoutSeconds;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return sv[1];
}

// Sends on `fd`; false only when the tracker is gone (its end closed: it
// was killed), not for a tracker that is merely slow (the send timeout).
bool Send(int fd, char op, const std::string& name) {
  if (fd < 0 || name.size() + 1 > kMaxMessage) return true;
  const std::string message = op + name;
  ssize_t n;
  do {
    n = send(fd, message.data(), message.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return !(n < 0 && (errno == EPIPE || errno == ECONNRESET ||
                     errno == ENOTCONN || errno == ECONNREFUSED));
}

}  // namespace

void AllowResourceTracker() {
  static std::once_flag once;
  std::call_once(once, [] {
    GetState().allowed = true;
    // A fork child starts with one thread: a start_mu held by another
    // thread of the parent at the fork would never be released there.
    pthread_atfork(nullptr, nullptr,
                   [] { new (&GetState().start_mu) std::mutex; });
  });
}

int ResourceTrackerFd() { return GetState().fd.load(); }

void AdoptResourceTracker(int fd) {
  const int old = GetState().fd.exchange(fd);
  if (old >= 0 && old != fd) ::close(old);
}

void TrackSharedMemory(const std::string& name) {
  State& s = GetState();
  if (s.fd.load() < 0) {
    if (!s.allowed.load()) return;
    std::lock_guard lock(s.start_mu);
    if (s.fd.load() < 0) s.fd = StartTracker();
  }
  const int fd = s.fd.load();
  if (Send(fd, kRegister, name) || !s.allowed.load()) return;
  // The tracker was killed: what it knew is lost (as in CPython), but what
  // is created from now on is tracked by a new one, with CPython's warning.
  std::lock_guard lock(s.start_mu);
  if (s.fd.load() == fd) {  // not relaunched by another thread meanwhile
    std::fputs(
        "resource_tracker: process died unexpectedly, relaunching.  Some "
        "resources might leak.\n",
        stderr);
    AdoptResourceTracker(StartTracker());
  }
  Send(s.fd.load(), kRegister, name);
}

void UntrackSharedMemory(const std::string& name) {
  Send(GetState().fd.load(), kUnregister, name);
}

int ResourceTrackerMain(int fd) {
  // Nothing but the receiving end and stdio: a descriptor inherited by
  // mistake would be held for as long as the program's tree lives.
  if (fd != 3 || close_range(4, ~0U, 0) != 0) {
    for (int other = 3; other < 1024; ++other) {
      if (other != fd) ::close(other);
    }
  }
  // As Python's tracker: a Ctrl-C or SIGTERM meant for the program does
  // not end it; EOF does.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  std::set<std::string> names;
  char buf[kMaxMessage];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;  // every sending end is closed: the tree is gone
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n < 2) continue;
    std::string name(buf + 1, static_cast<size_t>(n) - 1);
    if (buf[0] == kRegister) {
      names.insert(std::move(name));
    } else if (buf[0] == kUnregister) {
      names.erase(name);
    }
  }
  if (!names.empty()) {
    std::fprintf(stderr,
                 "resource_tracker: There appear to be %zu leaked "
                 "shared_memory objects to clean up at shutdown\n",
                 names.size());
    for (const std::string& name : names) {
      const std::string path = "/" + name;
      if (shm_unlink(path.c_str()) != 0 && errno != ENOENT) {
        std::fprintf(stderr, "resource_tracker: '%s': %s\n", path.c_str(),
                     std::strerror(errno));
      }
    }
    std::fflush(stderr);
  }
  return 0;
}

}  // namespace mp::internal
