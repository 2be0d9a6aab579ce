// The engine of mp::Pool: a queue of jobs and one thread per worker slot.
// Each slot thread starts its worker process when the pool starts (and
// again after the worker dies or spends its task budget), sends it one job
// at a time over the worker protocol (process/pool_protocol.h) and delivers
// the outcome.
#ifndef MP_PROCESS_POOL_CORE_H_
#define MP_PROCESS_POOL_CORE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/pipe.h"
#include "mp/pool.h"
#include "mp/process.h"
#include "process/pool_protocol.h"
#include "process/task_outcome.h"

namespace mp::internal {

// One unit of work for a worker: the function called on each item.
struct Job {
  LocatedFunction fn;
  // The items - argument tuples, or bare arguments (unary) - are
  // [begin, end) of `list`. The chunks of one map share its list instead of
  // each taking a copy of its part: a fresh copy of a large map's items
  // cost more in page faults than the copying itself (bench W7).
  std::shared_ptr<const Object::List> list;
  size_t begin = 0;
  size_t end = 0;
  // Called exactly once, on a slot thread (or the caller's, when the pool
  // is not running): with the list of values, or the error.
  std::function<void(Outcome)> deliver;

  std::span<const Object> items() const {
    return std::span<const Object>(*list).subspan(begin, end - begin);
  }
  // All of `items`.
  void SetItems(Object::List items) {
    begin = 0;
    end = items.size();
    list = std::make_shared<const Object::List>(std::move(items));
  }
};

// Thread-safe.
class PoolCore {
 public:
  // ValueError for bad options or an unknown start method, ProcessError for
  // spawn/forkserver without mp::init, mp::Error when initargs cannot
  // travel.
  explicit PoolCore(PoolOptions options);
  ~PoolCore();  // Terminate()

  int processes() const { return options_.processes; }

  // Queues the job; after Close() or Terminate() fails it at once with
  // ValueError("Pool not running").
  void Push(Job job);
  void Close();
  // Waits for the slot threads; ValueError unless closed or terminated.
  void Join();
  // Fails the queued jobs, SIGTERMs the workers, SIGKILLs those still alive
  // after kTerminateGrace, and waits for the slot threads.
  void Terminate();

 private:
  struct Worker {
    std::optional<Process> process;
    std::optional<Connection> conn;
    int64_t tasks = 0;
  };

  void RunSlot();
  void RunJob(Worker& w, Job& job);
  // Starts a worker and waits for it to connect back. Throws ProcessError.
  void StartWorker(Worker& w);
  // Waits for the worker to exit (SIGKILL after 2 s) and forgets it.
  void StopWorker(Worker& w);
  void JoinThreads();
  bool Terminated();

  bool HasWorkOrEnd() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return terminated_ || closed_ || !jobs_.empty();
  }
  bool NoLiveWorkers() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live_workers_.empty();
  }

  const PoolOptions options_;   // processes and context resolved
  std::string setup_;           // the PoolRequest every new worker gets first
  std::vector<int> setup_fds_;  // and its descriptors (of options_.initargs)
  std::atomic<uint64_t> next_task_id_{1};

  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool terminated_ ABSL_GUARDED_BY(mu_) = false;
  // Started and not yet reaped: what Terminate() signals.
  std::vector<pid_t> live_workers_ ABSL_GUARDED_BY(mu_);

  // Serialises joining the slot threads (Join and Terminate may race).
  absl::Mutex threads_mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(threads_mu_);
};

}  // namespace mp::internal

#endif  // MP_PROCESS_POOL_CORE_H_
