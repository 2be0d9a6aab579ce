// The bounded pool that runs custom types' methods (mp/register.h), so that
// a slow or blocking method never holds up the threads that read sessions -
// and the transports' event loops, on the same threads, so that a method
// does not have to wait for another thread to wake up before it starts.
//
// Leader/followers: a thread serving an event loop (the local transport's
// reactor, a gRPC completion queue) that reads a custom call keeps it. At
// the end of that turn of the loop it hands the loop to an idle pool thread
// (a futex wake, off the call's path) and runs the call itself, then joins
// the idle threads. The call starts on a thread that is already running and
// no longer serves the loop: while it runs, the sessions it left are read
// by the thread that took the loop over. Measured on the 2-core VM (bench
// W13): queueing the call for a sleeping pool thread cost 1.6-2.4x a dict
// set, most of it the wake-up of an idle CPU on the call's path.
#ifndef MP_SERVER_CUSTOM_EXECUTOR_H_
#define MP_SERVER_CUSTOM_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace mp::server {

// Thread-safe. Threads start as loops and tasks need them: one per loop,
// plus at most `threads` running tasks (a server that serves no custom type
// has only its loops' threads). Queued tasks run in submission order as
// threads free up; a task must not wait for a later one. Loops come before
// tasks: a loop handed off is taken by the next free thread.
class CustomExecutor {
 public:
  // One turn of an event loop: waits for events and handles them. Returns
  // false once the loop has ended; it is not called again.
  using LoopTurn = std::function<bool()>;

  // `threads` 0: the number of cores.
  explicit CustomExecutor(size_t threads);
  // Drops the tasks that have not started, waits for the running ones.
  // Every loop must have ended.
  ~CustomExecutor();

  CustomExecutor(const CustomExecutor&) = delete;
  CustomExecutor& operator=(const CustomExecutor&) = delete;

  // Runs `turn` on the pool's threads, one turn at a time, until it
  // returns false; then notifies `ended` (which must outlive that). Turns
  // run on whichever thread holds the loop; each turn happens-after the
  // previous one.
  void StartLoop(LoopTurn turn, absl::Notification* ended);

  // Runs `task` on a pool thread. Called from a loop's turn, while fewer
  // than `size()` tasks run, the first such task of the turn runs on the
  // calling thread right after the turn, the loop going to another thread.
  void Submit(std::function<void()> task);

  size_t size() const { return size_; }

 private:
  struct Loop {
    LoopTurn turn;
    absl::Notification* ended;
  };
  // What a thread serving a loop turn keeps (thread_local).
  struct TurnState {
    CustomExecutor* executor = nullptr;
    std::function<void()> kept;  // the task it runs after the turn
  };

  void Work() ABSL_LOCKS_EXCLUDED(mu_);
  // Serves `loop` until it ends (returns the empty function) or a turn
  // kept a task (returns it; the loop is handed off by then).
  std::function<void()> Serve(std::unique_ptr<Loop> loop)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RunTask(std::function<void()>& task) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes sure some thread will take the orphaned loops and runnable tasks.
  void SpawnIfNeededLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !orphans_.empty() || stopping_ || (!tasks_.empty() && busy_ < size_);
  }

  static thread_local TurnState* turn_state_;

  const size_t size_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Loops waiting for a thread (started, or handed off).
  std::deque<std::unique_ptr<Loop>> orphans_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;   // threads waiting for work
  size_t busy_ ABSL_GUARDED_BY(mu_) = 0;   // tasks running or kept
  size_t loops_ ABSL_GUARDED_BY(mu_) = 0;  // loops not yet ended
};

}  // namespace mp::server

#endif  // MP_SERVER_CUSTOM_EXECUTOR_H_
