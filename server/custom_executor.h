// The bounded pool that runs custom types' methods (mp/register.h), and the
// local transport's event loops on the same threads, so that a method does
// not have to wait for another thread to wake up before it starts, and a
// slow or blocking method does not hold up the sessions its loop serves.
//
// Leader/followers with a lazy hand-off: a thread serving an event loop
// (a local-transport reactor) that reads a custom call keeps it, and at the
// end of that turn of the loop runs it itself. The loop waits, parked, for
// the method to return; then the same thread takes it back - no other
// thread woke up. Only a method still running `hand_off_after` later (1 ms
// by default) loses the loop: a watchdog gives it to an idle pool thread,
// so the sessions it left wait at most that long plus one wake-up, and the
// thread that ran the method joins the idle ones when it returns. This is
// the Go runtime's rule for a goroutine blocked in a system call (sysmon
// retakes its processor after 20 us-10 ms), for the same reason.
//
// Measured on the 2-core VM (bench W13, local transport, busy polling on):
// queueing the call for a sleeping pool thread cost 1.55-1.63x a dict set
// (20-21 us against 12.6-13 us); a pool thread spinning for tasks did not
// help (three hot threads on two CPUs); an eager hand-off of the loop to an
// idle thread before every call measured no better than the queue
// (bench/README, "Findings: custom types").
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
#include "absl/time/time.h"

namespace mp::server {

// Thread-safe. Threads start as loops and tasks need them: one per loop,
// plus at most `threads` running tasks (a server that serves no custom type
// has only its loops' threads), plus the watchdog once a task was kept.
// Queued tasks run in submission order as threads free up; a task must not
// wait for a later one. Loops come before tasks: a loop handed off is taken
// by the next free thread.
class CustomExecutor {
 public:
  // One turn of an event loop: waits for events and handles them. Returns
  // false once the loop has ended; it is not called again.
  using LoopTurn = std::function<bool()>;

  // How long a kept task may hold its loop before the loop moves on.
  static constexpr absl::Duration kHandOffAfter = absl::Milliseconds(1);

  // `threads` 0: the number of cores.
  explicit CustomExecutor(size_t threads,
                          absl::Duration hand_off_after = kHandOffAfter);
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

  // Runs `task` on a pool thread. Called from a loop's turn while fewer
  // than `size()` tasks run, the first such task of the turn runs on the
  // calling thread right after the turn, the loop parked meanwhile (see
  // above).
  void Submit(std::function<void()> task);

  size_t size() const { return size_; }

 private:
  struct Loop {
    LoopTurn turn;
    absl::Notification* ended;
  };
  // A loop whose thread runs a kept task.
  struct Parked {
    std::unique_ptr<Loop> loop;
    absl::Time hand_off_at;
  };
  // What a thread serving a loop turn keeps (thread_local).
  struct TurnState {
    CustomExecutor* executor = nullptr;
    std::function<void()> kept;  // the task it runs after the turn
  };

  void Work() ABSL_LOCKS_EXCLUDED(mu_);
  // Serves `loop` until it ends, or until a kept task ran past the
  // hand-off and the loop went to another thread.
  void Serve(std::unique_ptr<Loop> loop) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs a kept task with its loop parked. Returns the loop if this thread
  // may go on serving it, null if the watchdog handed it off.
  std::unique_ptr<Loop> RunKept(std::unique_ptr<Loop> loop,
                                std::function<void()>& task)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RunTask(std::function<void()>& task) ABSL_LOCKS_EXCLUDED(mu_);
  // Hands off the parked loops whose time is up, while any are parked.
  void Watch() ABSL_LOCKS_EXCLUDED(mu_);
  // Makes sure some thread will take the orphaned loops and runnable tasks.
  void SpawnIfNeededLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !orphans_.empty() || stopping_ || (!tasks_.empty() && busy_ < size_);
  }
  bool WatchdogHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !parked_.empty();
  }

  static thread_local TurnState* turn_state_;

  const size_t size_;
  const absl::Duration hand_off_after_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Loops waiting for a thread (started, or handed off).
  std::deque<std::unique_ptr<Loop>> orphans_ ABSL_GUARDED_BY(mu_);
  // Loops whose thread runs a kept task, in parking order (so the earliest
  // hand-off first). The thread takes its own back when the task returns,
  // unless the watchdog has moved it to orphans_.
  std::deque<Parked> parked_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::thread watchdog_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;   // threads waiting for work
  size_t busy_ ABSL_GUARDED_BY(mu_) = 0;   // tasks running or kept
  size_t loops_ ABSL_GUARDED_BY(mu_) = 0;  // loops not yet ended
};

}  // namespace mp::server

#endif  // MP_SERVER_CUSTOM_EXECUTOR_H_
