// A C++ program and a Python program sharing dicts, queues and
// synchronisation objects through one mp manager server, over the same typed
// contract (proto/mp/v1).
//
// This program embeds an mp::Server on loopback TCP with a random authkey,
// creates the named objects "results" (dict), "typed" (dict), "jobs",
// "done" and "to_python" (Queues), "py_lock" (Lock), "cxx_has_lock" and
// "python_tried" (Events), "tasks" (JoinableQueue) and "counter" (Value 'i').
// It starts two C++ worker processes that take integers n from "jobs" and
// write results[n] = n * n until they get None, and a C++ sync peer process
// (SyncPeer below) that contends with Python for the Lock and does Python's
// tasks. It then runs the Python client (shared_with_cxx.py), passing the
// address as an argument and the authkey, hex-encoded, in the environment
// variable MP_AUTHKEY (never on the command line). Python feeds the jobs,
// waits for the workers, checks the results, exchanges typed values and
// plays its part with the sync peer; this program then checks what Python
// left behind.
//
//   cxx_peer [PYTHON SCRIPT PYTHONPATH_DIR]
//
// Without arguments it uses the interpreter, script and mp_client package
// (the directory holding it goes on PYTHONPATH) the build found (see
// CMakeLists.txt next to this file).
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mp/mp.h"
#include "mp/server.h"

extern char** environ;

namespace {

constexpr int64_t kJobs = 20;
constexpr int kWorkers = 2;
constexpr int64_t kTasks = 5;  // Python puts 1..kTasks, then None
constexpr auto kGetTimeout = std::chrono::seconds(30);
constexpr int kPythonTimeoutMs = 45'000;

// Takes jobs until None: results[n] = n * n. Puts the number of jobs it did
// on `done`. Every get has a timeout, and there are at most kJobs jobs.
void Worker(mp::QueueProxy jobs, mp::DictProxy results, mp::QueueProxy done) {
  int64_t count = 0;
  for (int64_t i = 0; i <= kJobs; ++i) {
    mp::Object job = jobs.get(true, kGetTimeout);
    if (job.is_none()) break;
    const int64_t n = job.as_int();
    results.set(n, n * n);
    ++count;
  }
  done.put(count);
}

// The C++ half of the synchronisation exchange with Python:
// 1. takes the Lock, says so (cxx_has_lock), and keeps it until Python has
//    tried to take it (python_tried); adds 10 to the counter, releases;
// 2. takes Python's tasks from the JoinableQueue until None: for each, adds
//    n to the counter under the Lock (Python holds it while it puts them,
//    so the first waits for Python) and marks it done; Python's join()
//    returns once all are.
// Every wait has a timeout; a failure throws (a non-zero exit code).
void SyncPeer(mp::LockProxy lock, mp::EventProxy cxx_has_lock,
              mp::EventProxy python_tried, mp::JoinableQueueProxy tasks,
              mp::ValueProxy<int32_t> counter) {
  if (!lock.acquire(true, kGetTimeout)) {
    throw mp::TimeoutError("sync peer: the Lock was never free");
  }
  cxx_has_lock.set();
  const bool tried = python_tried.wait(kGetTimeout);
  counter.fetch_add(10);
  lock.release();
  if (!tried) throw mp::TimeoutError("sync peer: Python never tried the Lock");
  for (int64_t i = 0; i <= kTasks; ++i) {
    mp::Object task = tasks.get(true, kGetTimeout);
    if (task.is_none()) {
      tasks.task_done();
      return;
    }
    if (!lock.acquire(true, kGetTimeout)) {
      throw mp::TimeoutError("sync peer: Python kept the Lock");
    }
    counter.fetch_add(static_cast<int32_t>(task.as_int()));
    lock.release();
    tasks.task_done();
  }
  throw mp::ValueError("sync peer: no None after the tasks");
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

// Runs `argv` with `extra_env` added to this process's environment; returns
// its exit status, or -1 if it did not finish within kPythonTimeoutMs (it is
// killed then).
int RunChild(const std::vector<std::string>& args,
             const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry = *e;
    const std::string_view name = entry.substr(0, entry.find('=') + 1);
    bool overridden = false;
    for (const std::string& extra : extra_env) {
      overridden = overridden || extra.starts_with(name);
    }
    if (!overridden) env_strings.emplace_back(entry);
  }
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc =
      posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) {
    throw mp::ProcessError("cannot run " + args[0] + ": " + std::strerror(rc));
  }
  // Wait for the exit with a deadline: a pidfd becomes readable when the
  // process exits.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    int ready;
    do {
      ready = poll(&pfd, 1, kPythonTimeoutMs);
    } while (ready < 0 && errno == EINTR);
    close(pidfd);
    if (ready == 0) kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Run(const std::string& python, const std::string& script,
        const std::string& pythonpath_dir) {
  mp::ServerOptions options;
  options.address = "127.0.0.1:0";  // loopback, a free port; random authkey
  mp::Server server(std::move(options));
  server.start();
  mp::Manager m = server.manager();
  mp::DictProxy results = m.named("results").dict();
  mp::DictProxy typed = m.named("typed").dict();
  mp::QueueProxy jobs = m.named("jobs").Queue();
  mp::QueueProxy done = m.named("done").Queue();
  mp::QueueProxy to_python = m.named("to_python").Queue();
  mp::LockProxy lock = m.named("py_lock").Lock();
  mp::EventProxy cxx_has_lock = m.named("cxx_has_lock").Event();
  mp::EventProxy python_tried = m.named("python_tried").Event();
  mp::JoinableQueueProxy tasks = m.named("tasks").JoinableQueue();
  mp::ValueProxy<int32_t> counter = m.named("counter").Value<int32_t>(0);

  // What Python needs to know, through the typed contract.
  typed["config"] = mp::Object::dict({{"jobs", kJobs}, {"workers", kWorkers}});
  to_python.put(mp::Object::tuple({"hello from C++", 42, 2.5, mp::None}));

  // This program's own session; the workers and Python add theirs.
  const size_t sessions_before = server.session_count();
  std::vector<mp::Process> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back(Worker, jobs, results, done);
    workers.back().start();
  }
  mp::Process sync_peer(SyncPeer, lock, cxx_has_lock, python_tried, tasks,
                        counter);
  sync_peer.start();
  std::cout << "cxx: server up, " << kWorkers
            << " workers and a sync peer started" << std::endl;

  std::string pythonpath = pythonpath_dir;
  if (const char* old = std::getenv("PYTHONPATH"); old && *old) {
    pythonpath += std::string(":") + old;
  }
  const int python_rc = RunChild(
      {python, script, server.address()},
      {"MP_AUTHKEY=" + Hex(server.authkey()), "PYTHONPATH=" + pythonpath,
       // No __pycache__ in the source tree.
       "PYTHONDONTWRITEBYTECODE=1"});
  std::cout << "cxx: python exited with " << python_rc << std::endl;
  if (python_rc != 0) {
    sync_peer.kill();
    sync_peer.join();
    return 1;
  }

  bool ok = true;
  for (mp::Process& w : workers) {
    if (!w.join(kGetTimeout)) {
      w.kill();
      w.join();
    }
    ok = ok && w.exitcode() == 0;
  }
  std::cout << "cxx: workers exited " << (ok ? "cleanly" : "with errors")
            << std::endl;
  if (!sync_peer.join(kGetTimeout)) {
    sync_peer.kill();
    sync_peer.join();
  }
  const bool peer_ok = sync_peer.exitcode() == 0;
  std::cout << "cxx: sync peer exited "
            << (peer_ok ? "cleanly" : "with errors") << std::endl;

  // The Python session ends when its stream closes; wait for the server to
  // have processed that (and the workers' ends), bounded.
  const auto deadline = std::chrono::steady_clock::now() + kGetTimeout;
  while (server.session_count() > sessions_before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Python acknowledged the greeting it took; unacknowledged, the server
  // would have put it back when Python's session ended.
  std::cout << "cxx: greeting still queued after python left: "
            << to_python.qsize() << std::endl;

  int64_t squares_ok = 0;
  for (int64_t n = 0; n < kJobs; ++n) {
    if (results.get(n) == mp::Object(n * n)) ++squares_ok;
  }
  std::cout << "cxx: results holds " << results.size() << " entries, "
            << squares_ok << " of them n*n" << std::endl;
  for (const char* key : {"str", "float", "nested", "bytes", "none", "bool"}) {
    std::cout << "cxx: typed['" << key << "'] = " << typed.get(key)
              << std::endl;
  }
  // What the synchronisation exchange left: 10 from the peer, 1 from
  // Python, 1 + .. + kTasks from the peer doing Python's tasks.
  const int32_t expected_counter = 10 + 1 + kTasks * (kTasks + 1) / 2;
  std::cout << "cxx: counter = " << counter.get() << " (expected "
            << expected_counter << ")" << std::endl;
  const bool lock_free = lock.acquire(false);
  if (lock_free) lock.release();
  std::cout << "cxx: lock free after python left: " << std::boolalpha
            << lock_free << std::endl;
  const bool all_done = tasks.join(std::chrono::seconds(0));
  std::cout << "cxx: every task done: " << all_done
            << ", python_tried set: " << python_tried.is_set()
            << std::noboolalpha << std::endl;
  ok = ok && peer_ok && squares_ok == kJobs && results.size() == kJobs &&
       to_python.qsize() == 0 && counter.get() == expected_counter &&
       lock_free && all_done;
  std::cout << "cxx: " << (ok ? "OK" : "FAILED") << std::endl;
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  std::string python = MP_PYTHON;
  std::string script = MP_PY_SCRIPT;
  std::string pythonpath_dir = MP_PY_PATH;
  if (argc == 4) {
    python = argv[1];
    script = argv[2];
    pythonpath_dir = argv[3];
  } else if (argc != 1) {
    std::cerr << "usage: " << argv[0] << " [PYTHON SCRIPT PYTHONPATH_DIR]\n";
    return 2;
  }
  try {
    return Run(python, script, pythonpath_dir);
  } catch (const mp::Error& e) {
    std::cerr << "cxx_peer: " << e.what() << "\n";
    return 1;
  }
}
