#include "process/pool_core.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "process/init_check.h"
#include "process/pipe_message.h"
#include "process/pool_worker.h"
#include "process/rendezvous_socket.h"

namespace mp::internal {
namespace {

constexpr auto kWorkerStartTimeout = std::chrono::seconds(30);
constexpr auto kHelloTimeout = std::chrono::seconds(10);
constexpr absl::Duration kTerminateGrace = absl::Seconds(2);
constexpr auto kWorkerExitGrace = std::chrono::seconds(2);

PoolOptions Resolved(PoolOptions options) {
  if (options.processes < 0) {
    throw ValueError("Number of processes must be at least 1");
  }
  if (options.maxtasksperchild < 0) {
    throw ValueError("maxtasksperchild must be a positive int or 0");
  }
  if (options.processes == 0) options.processes = cpu_count();
  if (options.context.empty()) options.context = get_start_method();
  return options;
}

// Python's names: ctx.Process's "ForkProcess-N" with "Process" replaced by
// "PoolWorker"; N is the process counter every Process draws from.
std::string PoolWorkerName(const std::string& process_name,
                           const std::string& method) {
  const std::string kind = method == "fork"    ? "Fork"
                           : method == "spawn" ? "Spawn"
                                               : "ForkServer";
  constexpr std::string_view kDefault = "Process-";
  std::string number = process_name.starts_with(kDefault)
                           ? process_name.substr(kDefault.size())
                           : process_name;
  return kind + "PoolWorker-" + number;
}

void SetReceiveTimeout(int fd, std::chrono::seconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count());
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

}  // namespace

PoolCore::PoolCore(PoolOptions options)
    : options_(Resolved(std::move(options))) {
  // Up front, as Process::start would on the first task: a clear error
  // here rather than failed tasks later (and no worker to clean up).
  RequireInitFor(options_.context);
  std::optional<LocatedFunction> initializer;
  Object initargs = Object::tuple({});
  if (options_.initializer != nullptr) {
    initializer = LocateFunction(RefOf(options_.initializer), false);
  } else if (options_.initializer_with_args) {
    initializer = LocateFunction(*options_.initializer_with_args, false);
    initargs = options_.initargs;
  }
  // The descriptors are borrowed from options_.initargs, which lives as
  // long as this pool.
  setup_ = EncodeSetup(initializer, initargs, options_.maxtasksperchild,
                       &setup_fds_);
  try {
    absl::MutexLock lock(&threads_mu_);
    for (int i = 0; i < options_.processes; ++i) {
      threads_.emplace_back([this] { RunSlot(); });
    }
  } catch (...) {
    Terminate();
    throw;
  }
}

PoolCore::~PoolCore() { Terminate(); }

void PoolCore::Push(Job job) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_ && !terminated_) {
      jobs_.push_back(std::move(job));
      return;
    }
  }
  job.deliver(Outcome::Failure("ValueError", "Pool not running"));
}

void PoolCore::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void PoolCore::Join() {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_ && !terminated_) {
      throw ValueError("join() needs close() or terminate() first");
    }
  }
  JoinThreads();
}

void PoolCore::Terminate() {
  std::deque<Job> dropped;
  {
    absl::MutexLock lock(&mu_);
    terminated_ = true;
    closed_ = true;
    dropped.swap(jobs_);
    for (pid_t pid : live_workers_) ::kill(pid, SIGTERM);
  }
  for (Job& job : dropped) {
    job.deliver(Outcome::Failure("ProcessError", "the pool was terminated"));
  }
  {
    // A worker that ignores SIGTERM (or never returns from its task) must
    // not hold up terminate(): its slot thread waits for its reply.
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &PoolCore::NoLiveWorkers),
                              kTerminateGrace)) {
      for (pid_t pid : live_workers_) ::kill(pid, SIGKILL);
    }
  }
  JoinThreads();
}

void PoolCore::JoinThreads() {
  absl::MutexLock lock(&threads_mu_);
  for (std::thread& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // join() or terminate() from a callback, on this slot
    } else {
      t.join();
    }
  }
}

bool PoolCore::Terminated() {
  absl::MutexLock lock(&mu_);
  return terminated_;
}

void PoolCore::StartWorker(Worker& w) {
  RendezvousSocket socket;
  const std::string token = absl::BytesToHexString(RandomBytes(16));
  ProcessOptions po;
  po.start_method = options_.context;
  po.daemon = true;
  w.process.emplace(po, PoolWorkerMain, socket.name(), token);
  w.process->set_name(PoolWorkerName(w.process->name(), options_.context));
  try {
    w.process->start();
  } catch (...) {
    w.process.reset();
    throw;
  }
  {
    absl::MutexLock lock(&mu_);
    live_workers_.push_back(w.process->pid());
    // terminate() ran while it was starting, too late to signal it.
    if (terminated_) ::kill(w.process->pid(), SIGKILL);
  }
  const int fd = socket.Accept(w.process->sentinel(), kWorkerStartTimeout);
  if (fd < 0) {
    StopWorker(w);
    throw ProcessError("a pool worker did not start");
  }
  w.conn.emplace(fd, true, true);
  // Whoever connected must say hello at once (it could be any local
  // process: the name is in the abstract namespace).
  SetReceiveTimeout(fd, kHelloTimeout);
  bool authenticated = false;
  try {
    authenticated =
        w.conn->poll(std::chrono::duration<double>(kHelloTimeout)) &&
        IsHelloWithToken(w.conn->recv_bytes(), token);
    SetReceiveTimeout(fd, std::chrono::seconds(0));  // tasks take their time
    if (authenticated) SendMessage(*w.conn, setup_, setup_fds_);
  } catch (const Error&) {
    StopWorker(w);
    throw ProcessError("a pool worker died while starting");
  }
  if (!authenticated) {
    StopWorker(w);
    throw ProcessError("a pool worker failed to authenticate");
  }
  w.tasks = 0;
}

void PoolCore::StopWorker(Worker& w) {
  w.conn.reset();
  if (w.process && w.process->pid() != 0) {
    if (!w.process->join(kWorkerExitGrace)) {
      w.process->kill();
      w.process->join();
    }
    absl::MutexLock lock(&mu_);
    std::erase(live_workers_, w.process->pid());
  }
  w.process.reset();
}

void PoolCore::RunSlot() {
  Worker w;
  // Every worker starts with the pool, as in Python, so its initializer
  // runs even if no task comes (CPython's TestInitializers). A worker that
  // fails to start here is started again for the first job, which then
  // carries the error.
  if (!Terminated()) {
    try {
      StartWorker(w);
    } catch (const Error&) {
    }
  }
  for (;;) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PoolCore::HasWorkOrEnd));
      if (terminated_ || jobs_.empty()) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (!w.conn) {
      try {
        StartWorker(w);
      } catch (const Error& e) {
        job.deliver(Outcome::Failure(e));
        continue;
      }
    }
    if (Terminated()) {
      // terminate() ran while the worker was starting: the job must not
      // run after all.
      job.deliver(Outcome::Failure("ProcessError", "the pool was terminated"));
      break;
    }
    RunJob(w, job);
  }
  if (w.conn) {
    try {
      w.conn->send_bytes(EncodeStop());
    } catch (const Error&) {
    }
  }
  StopWorker(w);
}

void PoolCore::RunJob(Worker& w, Job& job) {
  const uint64_t task_id = next_task_id_.fetch_add(1);
  std::string request;
  std::vector<int> fds;  // borrowed from job.items()
  try {
    request = EncodeTask(task_id, job.fn, job.items(), &fds);
  } catch (const Error& e) {
    // Arguments that cannot travel fail the task; the worker is fine.
    job.deliver(Outcome::Failure(e));
    return;
  }
  std::string reply;
  ReceivedFds reply_fds;  // the shared objects in the results
  try {
    SendMessage(*w.conn, request, fds);
    reply = RecvMessage(*w.conn, &reply_fds);
  } catch (const Error&) {
    StopWorker(w);  // a new worker starts with the next job
    job.deliver(Outcome::Failure("ProcessError",
                                 "a pool worker died while running a task"));
    return;
  }
  std::optional<Outcome> outcome =
      DecodeResult(reply, task_id, std::move(reply_fds));
  if (!outcome ||
      (outcome->ok && outcome->value.as_list().size() != job.items().size())) {
    StopWorker(w);
    job.deliver(Outcome::Failure(
        "ProcessError", "a pool worker sent a malformed reply to a task"));
    return;
  }
  job.deliver(std::move(*outcome));
  if (options_.maxtasksperchild > 0 && ++w.tasks >= options_.maxtasksperchild) {
    StopWorker(w);  // it exits by itself after its last task
  }
}

}  // namespace mp::internal
