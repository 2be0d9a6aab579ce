#include "mp/process.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/custom_registry.h"
#include "common/fd_io.h"
#include "common/resource_tracker.h"
#include "process/forkserver.h"
#include "process/init_check.h"
#include "process/task_codec.h"

extern char** environ;

// Under AddressSanitizer the heap is ASan's, not glibc's: malloc_trim()
// there only wakes glibc's own arenas from a Pool's slot thread, and a
// forked worker then died in glibc's __malloc_arena_thread_freeres
// assertion (a->attached_threads > 0) and hung its pool.
#if defined(__SANITIZE_ADDRESS__)
#define MP_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef MP_ADDRESS_SANITIZER
#define MP_ADDRESS_SANITIZER 0
#endif

namespace mp {
namespace {

constexpr char kTaskFdEnv[] = "MP_TASK_FD";
constexpr char kReadyFdEnv[] = "MP_READY_FD";
constexpr char kDaemonEnv[] = "MP_DAEMON";
// How many descriptors a spawn child inherited for its task's shared
// objects, at kCarriedFdBase, kCarriedFdBase + 1, ...
constexpr char kCarriedFdsEnv[] = "MP_CARRIED_FDS";
constexpr int kCarriedFdBase = 5;

// In a fork()ed child, releases the lock the forking thread held by making
// it a fresh, unlocked mutex (Process::Impl::StartFork says why not
// Unlock()). Declared as a release so that the thread-safety analysis knows
// the lock is free afterwards; it cannot see the placement new do that.
void ReleaseInForkedChild(absl::Mutex& mu)
    ABSL_UNLOCK_FUNCTION(mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  new (&mu) absl::Mutex();
}

// Process-wide state. Leaked on purpose: children may run during static
// destruction of the parent's objects.
struct State {
  absl::Mutex mu;
  bool initialized ABSL_GUARDED_BY(mu) = false;
  // A spawned child before mp::init ran.
  bool bootstrapping ABSL_GUARDED_BY(mu) = false;
  std::vector<std::string> argv ABSL_GUARDED_BY(mu);
  std::string start_method ABSL_GUARDED_BY(mu) = "forkserver";
  std::string name ABSL_GUARDED_BY(mu) = "MainProcess";
  pid_t parent_pid ABSL_GUARDED_BY(mu) = 0;
  std::string parent_name ABSL_GUARDED_BY(mu);
  std::atomic<int> counter{0};
  // Started children not yet reaped through their Process object.
  std::vector<pid_t> children ABSL_GUARDED_BY(mu);
  std::vector<pid_t> daemons ABSL_GUARDED_BY(mu);
  // Our children whose Process object is gone before they were joined:
  // reaped as they finish (at start() and active_children()), so none is
  // left a zombie.
  std::vector<pid_t> unjoined ABSL_GUARDED_BY(mu);
};

void ReapUnjoinedLocked(State& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  std::erase_if(s.unjoined, [&](pid_t pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    if (waitpid(pid, nullptr, WNOHANG) != pid) return false;
    std::erase(s.children, pid);
    std::erase(s.daemons, pid);
    return true;
  });
}

State& GetState() {
  static State* state = [] {
    auto* s = new State;
    absl::MutexLock lock(&s->mu);  // no other thread sees it yet
    s->bootstrapping = std::getenv(kTaskFdEnv) != nullptr;
    return s;
  }();
  return *state;
}

int PidFd(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

void TerminateDaemonsAtExit() {
  State& s = GetState();
  std::vector<pid_t> daemons;
  {
    absl::MutexLock lock(&s.mu);
    daemons.swap(s.daemons);
  }
  for (pid_t pid : daemons) ::kill(pid, SIGTERM);
  for (pid_t pid : daemons) waitpid(pid, nullptr, 0);
}

void ValidateMethod(const std::string& method) {
  if (method != "fork" && method != "spawn" && method != "forkserver") {
    throw ValueError("cannot find context for '" + method +
                     "' (start methods: fork, spawn, forkserver)");
  }
}

}  // namespace

namespace internal {

void SetProcessIdentity(const std::string& name, pid_t parent_pid,
                        const std::string& parent_name,
                        const std::string& start_method) {
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  s.name = name;
  if (!start_method.empty()) s.start_method = start_method;
  s.parent_pid = parent_pid;
  s.parent_name = parent_name;
  s.children.clear();
  s.daemons.clear();
}

void RequireInitFor(const std::string& method) {
  ValidateMethod(method);
  if (method == "fork") return;
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  if (!s.initialized) {
    throw ProcessError("the '" + method +
                       "' start method needs "
                       "mp::init(argc, argv) as the first statement of "
                       "main()");
  }
}

}  // namespace internal

void init(int argc, char** argv) {
  if (const char* tracker = std::getenv(internal::kResourceTrackerEnv)) {
    // Started as this program's resource tracker (common/resource_tracker.h):
    // track, never return to main().
    const int fd = std::atoi(tracker);
    unsetenv(internal::kResourceTrackerEnv);
    _exit(internal::ResourceTrackerMain(fd));
  }
  internal::AllowResourceTracker();
  if (const char* fd = std::getenv(internal::kResourceTrackerFdEnv)) {
    // A spawn child: its parent's tracker is this process's too.
    const int tracker_fd = std::atoi(fd);
    unsetenv(internal::kResourceTrackerFdEnv);
    if (tracker_fd > 2 && fcntl(tracker_fd, F_SETFD, FD_CLOEXEC) == 0) {
      internal::AdoptResourceTracker(tracker_fd);
    }
  }
  State& s = GetState();
  {
    absl::MutexLock lock(&s.mu);
    s.initialized = true;
    s.argv.assign(argv, argv + argc);
  }
  if (std::getenv(internal::kServerRoleEnv) != nullptr) {
    // mp::Manager started this executable as its server, to serve the
    // custom types it registers: serve, never return to main().
    unsetenv(internal::kServerRoleEnv);
    internal::ServerRoleMain serve = internal::GetServerRoleMain();
    if (serve == nullptr) {
      std::fprintf(stderr,
                   "mp: started as a manager server, but this program does "
                   "not link mp::server\n");
      _exit(1);
    }
    int code = serve(argc, argv);
    std::fflush(nullptr);
    _exit(code);
  }
  if (const char* fs = std::getenv(internal::kForkserverFdEnv)) {
    const int sock = std::atoi(fs);
    unsetenv(internal::kForkserverFdEnv);
    internal::ForkserverMain(sock);
  }
  const char* task_fd = std::getenv(kTaskFdEnv);
  if (task_fd == nullptr) return;
  // A process started with spawn: run the task, never return to main().
  const int fd = std::atoi(task_fd);
  const char* ready = std::getenv(kReadyFdEnv);
  const int ready_fd = ready ? std::atoi(ready) : -1;
  std::vector<int> carried;
  if (const char* n = std::getenv(kCarriedFdsEnv)) {
    const int count =
        std::clamp(std::atoi(n), 0, static_cast<int>(internal::kMaxCarriedFds));
    for (int i = 0; i < count; ++i) {
      const int fd = kCarriedFdBase + i;
      fcntl(fd, F_SETFD, FD_CLOEXEC);  // not for this child's own children
      carried.push_back(fd);
    }
  }
  if (std::getenv(kDaemonEnv) != nullptr) prctl(PR_SET_PDEATHSIG, SIGKILL);
  unsetenv(kTaskFdEnv);
  unsetenv(kReadyFdEnv);
  unsetenv(kDaemonEnv);
  unsetenv(kCarriedFdsEnv);
  std::string spec = internal::ReadToEof(fd);
  ::close(fd);
  {
    absl::MutexLock lock(&s.mu);
    s.bootstrapping = false;
  }
  int code = internal::RunEncodedTask(spec, ready_fd, carried);
  std::fflush(nullptr);
  _exit(code);
}

struct Process::Impl {
  ProcessOptions options;
  internal::Task task;
  bool daemon = false;
  bool started = false;
  bool closed = false;
  pid_t pid = 0;
  int sentinel = -1;
  // Forkserver children are the server's, not ours: their status arrives
  // through `sentinel` instead of waitpid.
  bool via_forkserver = false;
  std::optional<int> exitcode;

  // After close(), as in Python: ValueError.
  void CheckOpen() const {
    if (closed) throw ValueError("process object is closed");
  }

  static int Decode(int status) {
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  }

  // Reaps the child if it has exited (blocking when `block`).
  bool Reap(bool block) {
    if (exitcode) return true;
    if (pid <= 0) return false;
    if (via_forkserver) {
      pollfd pfd{sentinel, POLLIN, 0};
      int ready;
      // A signal handled meanwhile does not end a blocking wait (CPython
      // retries too, PEP 475).
      while ((ready = poll(&pfd, 1, block ? -1 : 0)) < 0 && errno == EINTR) {
      }
      if (ready <= 0) return false;
      int status = 0;
      // EOF without a status: the forkserver died with the child running.
      exitcode = read(sentinel, &status, sizeof status) == sizeof status
                     ? Decode(status)
                     : -SIGKILL;
    } else {
      int status = 0;
      pid_t reaped;
      while ((reaped = waitpid(pid, &status, block ? 0 : WNOHANG)) < 0 &&
             errno == EINTR) {
      }
      if (reaped != pid) return false;
      exitcode = Decode(status);
    }
    State& s = GetState();
    absl::MutexLock lock(&s.mu);
    std::erase(s.children, pid);
    std::erase(s.daemons, pid);
    return true;
  }

  void StartFork(int ready_w);
  void StartSpawn(int ready_w);
  void StartForkserver(int ready_w) {
    std::vector<int> carried;
    const std::string spec =
        internal::EncodeTask(task, options.name, "forkserver", &carried);
    internal::ForkserverChild child =
        internal::ForkserverStart(spec, ready_w, daemon, carried);
    pid = child.pid;
    sentinel = child.status_fd;
    via_forkserver = true;
  }
};

Process::Process(ProcessOptions options, internal::Task task)
    : impl_(std::make_unique<Impl>()) {
  State& s = GetState();
  if (options.name.empty()) {
    options.name = "Process-" + std::to_string(++s.counter);
  }
  impl_->daemon = options.daemon.value_or(false);
  impl_->options = std::move(options);
  impl_->task = std::move(task);
}

Process::~Process() {
  if (!impl_) return;
  if (impl_->started && !impl_->exitcode && !impl_->via_forkserver &&
      !impl_->Reap(false)) {
    State& s = GetState();
    absl::MutexLock lock(&s.mu);
    s.unjoined.push_back(impl_->pid);
  }
  if (impl_->sentinel >= 0) ::close(impl_->sentinel);
}

Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;

void Process::Impl::StartFork(int ready_w) {
  std::cout.flush();
  std::fflush(nullptr);
#if defined(__GLIBC__) && !MP_ADDRESS_SANITIZER
  // Give freed heap memory back to the OS first. fork() copies the page
  // tables of everything resident and every page the parent then writes is
  // copied once; glibc keeps freed memory resident (after large messages,
  // tens of MiB: measured 88 MiB resident of which 68 MiB free after 8 MiB
  // array transfers, and fork+join took 1.8 ms instead of 0.8 ms).
  malloc_trim(0);
#endif
  State& s = GetState();
  const std::string parent_name = current_process().name();
  // Fork while holding the state lock, so that no other thread holds it at
  // that moment: a lock held by a thread that does not exist in the child
  // would never be released there (measured: Pool slots starting fork
  // workers concurrently deadlocked a child now and then).
  s.mu.Lock();
  pid_t child = fork();
  if (child < 0) {
    s.mu.Unlock();
    throw ProcessError(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Not Unlock(): another thread may have been queueing on the mutex at
    // the fork, and its half-done bookkeeping (absl's spin bit and waiter
    // list) came along; Unlock() then spun forever (measured: 1 in ~40
    // runs of a maxtasksperchild=1 fork pool). This thread held it, and is
    // the only one left: a fresh, unlocked mutex is the same state.
    ReleaseInForkedChild(s.mu);
  } else {
    s.mu.Unlock();
  }
  if (child == 0) {
    if (daemon) prctl(PR_SET_PDEATHSIG, SIGKILL);
    internal::SetProcessIdentity(options.name, getppid(), parent_name, "fork");
    int code = internal::RunTaskInChild(task, ready_w);
    std::fflush(nullptr);
    _exit(code);
  }
  pid = child;
}

void Process::Impl::StartSpawn(int ready_w) {
  State& s = GetState();
  std::vector<std::string> argv;
  {
    absl::MutexLock lock(&s.mu);
    argv = s.argv;
  }
  std::vector<int> carried;
  const std::string spec =
      internal::EncodeTask(task, options.name, "spawn", &carried);
  // The shared objects' descriptors go to kCarriedFdBase + i in the child,
  // the resource tracker's sending end (if this process has one) right
  // after them. Copies above every target first, so that no dup2
  // overwrites a source.
  const int tracker_slot = kCarriedFdBase + static_cast<int>(carried.size());
  const int first_free = tracker_slot + 1;
  std::vector<int> sources;
  struct CloseAll {
    std::vector<int>& fds;
    ~CloseAll() {
      for (int fd : fds) ::close(fd);
    }
  } close_sources{sources};
  for (int fd : carried) {
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, first_free);
    if (copy < 0) {
      throw ProcessError(std::string("dup: ") + std::strerror(errno));
    }
    sources.push_back(copy);
  }
  int task_pipe[2];
  if (pipe2(task_pipe, O_CLOEXEC) != 0) {
    throw ProcessError(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, task_pipe[0], 3);
  posix_spawn_file_actions_adddup2(&actions, ready_w, 4);
  for (size_t i = 0; i < sources.size(); ++i) {
    posix_spawn_file_actions_adddup2(&actions, sources[i],
                                     kCarriedFdBase + static_cast<int>(i));
  }
  bool with_tracker = false;
  if (const int tracker = internal::ResourceTrackerFd(); tracker >= 0) {
    const int copy = fcntl(tracker, F_DUPFD_CLOEXEC, first_free);
    if (copy >= 0) {
      sources.push_back(copy);  // closed with the others
      posix_spawn_file_actions_adddup2(&actions, copy, tracker_slot);
      with_tracker = true;
    }
  }
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kTaskFdEnv) + "=3");
  env.push_back(std::string(kReadyFdEnv) + "=4");
  if (!carried.empty()) {
    env.push_back(std::string(kCarriedFdsEnv) + "=" +
                  std::to_string(carried.size()));
  }
  if (with_tracker) {
    env.push_back(std::string(internal::kResourceTrackerFdEnv) + "=" +
                  std::to_string(tracker_slot));
  }
  if (daemon) env.push_back(std::string(kDaemonEnv) + "=1");
  // Nothing else of ours reaches the child, whether or not it was opened
  // with FD_CLOEXEC: as CPython's spawn (close_fds), a descriptor not
  // passed on - a socket, a lock file - is not held open by a child.
  posix_spawn_file_actions_addclosefrom_np(
      &actions, with_tracker ? tracker_slot + 1 : tracker_slot);
  std::vector<char*> argp, envp;
  for (auto& a : argv) argp.push_back(a.data());
  argp.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t child = 0;
  int rc = posix_spawn(&child, "/proc/self/exe", &actions, nullptr, argp.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(task_pipe[0]);
  if (rc != 0) {
    ::close(task_pipe[1]);
    throw ProcessError(std::string("spawn: ") + std::strerror(rc));
  }
  pid = child;
  internal::WriteExactly(task_pipe[1], spec.data(), spec.size());
  ::close(task_pipe[1]);
}

void Process::start() {
  Impl& p = *impl_;
  if (p.closed) throw ValueError("process object is closed");
  if (p.started) throw ProcessError("cannot start a process twice");
  State& s = GetState();
  std::string method = p.options.start_method;
  {
    absl::MutexLock lock(&s.mu);
    ReapUnjoinedLocked(s);
    if (s.bootstrapping) {
      throw RuntimeError(
          "An attempt has been made to start a new process before the current "
          "process has finished its bootstrapping phase: call mp::init(argc, "
          "argv) as the first statement of main()");
    }
    if (method.empty()) method = s.start_method;
  }
  ValidateMethod(method);
  if (method != "fork") {
    if (p.task.closure) {
      throw ProcessError(
          "a callable with captures can only be started with "
          "the 'fork' start method, not '" +
          method + "'");
    }
    internal::RequireInitFor(method);
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    throw ProcessError(std::string("pipe: ") + std::strerror(errno));
  }
  try {
    if (method == "fork") {
      p.StartFork(ready[1]);
    } else if (method == "spawn") {
      p.StartSpawn(ready[1]);
    } else {
      p.StartForkserver(ready[1]);
    }
  } catch (...) {
    ::close(ready[0]);
    ::close(ready[1]);
    throw;
  }
  ::close(ready[1]);
  p.started = true;
  if (p.sentinel < 0) p.sentinel = PidFd(p.pid);
  {
    absl::MutexLock lock(&s.mu);
    s.children.push_back(p.pid);
    if (p.daemon) {
      static std::once_flag once;
      std::call_once(once, [] { std::atexit(TerminateDaemonsAtExit); });
      s.daemons.push_back(p.pid);
    }
  }
  // Proxy arguments: keep our references until the child holds its own
  // (CPython's spawn loses objects the parent drops meanwhile). The child
  // signals, or exits (EOF); give up after 60 s.
  if (internal::ContainsProxy(p.task.args)) {
    pollfd pfd{ready[0], POLLIN, 0};
    poll(&pfd, 1, 60000);
  }
  ::close(ready[0]);
  // As Python's start() (del self._args): the parent's Process no longer
  // pins its arguments - a Pipe end passed to the child is closed once the
  // caller closes its own, and shared memory is freed with its last handle.
  p.task.args = Object();
  p.task.closure = nullptr;
}

void Process::join() {
  impl_->CheckOpen();
  if (!impl_->started) throw ProcessError("can only join a started process");
  impl_->Reap(true);
}

bool Process::join(std::chrono::duration<double> timeout) {
  impl_->CheckOpen();
  if (!impl_->started) throw ProcessError("can only join a started process");
  if (impl_->Reap(false)) return true;
  if (impl_->sentinel < 0) return false;
  // The sentinel (a pidfd, or the forkserver's status pipe) turns readable
  // when the child has exited. A signal handled meanwhile does not cut the
  // wait short: poll again for what is left of the timeout (PEP 475).
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::max(timeout, std::chrono::duration<double>::zero()));
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{impl_->sentinel, POLLIN, 0};
    const int ready =
        poll(&pfd, 1,
             static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX)));
    if (ready < 0 && errno == EINTR && left.count() > 0) continue;
    return impl_->Reap(false);
  }
}

bool Process::is_alive() const {
  impl_->CheckOpen();
  if (!impl_->started || impl_->exitcode) return false;
  return !impl_->Reap(false);
}

void Process::terminate() {
  impl_->CheckOpen();
  if (impl_->started && !impl_->exitcode) ::kill(impl_->pid, SIGTERM);
}

void Process::kill() {
  impl_->CheckOpen();
  if (impl_->started && !impl_->exitcode) ::kill(impl_->pid, SIGKILL);
}

void Process::close() {
  if (impl_->started && !impl_->Reap(false)) {
    throw ValueError(
        "Cannot close a process while it is still running. You "
        "should first call join() or terminate().");
  }
  if (impl_->sentinel >= 0) ::close(impl_->sentinel);
  impl_->sentinel = -1;
  impl_->closed = true;
}

pid_t Process::pid() const { return impl_->pid; }
const std::string& Process::name() const { return impl_->options.name; }
void Process::set_name(std::string name) {
  impl_->options.name = std::move(name);
}
bool Process::daemon() const { return impl_->daemon; }
void Process::set_daemon(bool daemon) {
  if (impl_->started) throw ProcessError("process has already started");
  impl_->daemon = daemon;
}
std::optional<int> Process::exitcode() const {
  if (impl_->started) impl_->Reap(false);
  return impl_->exitcode;
}
int Process::sentinel() const { return impl_->sentinel; }

ProcessInfo current_process() {
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  return ProcessInfo{s.name, getpid()};
}

std::optional<ProcessInfo> parent_process() {
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  if (s.parent_pid == 0) return std::nullopt;
  return ProcessInfo{s.parent_name, s.parent_pid};
}

std::vector<pid_t> active_children() {
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  ReapUnjoinedLocked(s);
  std::vector<pid_t> alive;
  for (pid_t pid : s.children) {
    // Alive unless it has exited (a zombie is not alive; Process::join
    // still collects its status). Forkserver children are not ours to
    // wait for: ask whether the pid still exists.
    siginfo_t info{};
    int rc = waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT);
    if ((rc == 0 && info.si_pid == 0) ||
        (rc != 0 && errno == ECHILD && ::kill(pid, 0) == 0)) {
      alive.push_back(pid);
    }
  }
  return alive;
}

int cpu_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_start_method(const std::string& method) {
  ValidateMethod(method);
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  s.start_method = method;
}

std::string get_start_method() {
  State& s = GetState();
  absl::MutexLock lock(&s.mu);
  return s.start_method;
}

std::vector<std::string> get_all_start_methods() {
  return {"forkserver", "spawn", "fork"};
}

Context get_context(const std::string& method) {
  if (method.empty()) return Context(get_start_method());
  ValidateMethod(method);
  return Context(method);
}

}  // namespace mp
