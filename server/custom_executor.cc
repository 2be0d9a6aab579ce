#include "server/custom_executor.h"

#include <algorithm>
#include <utility>

namespace mp::server {

thread_local CustomExecutor::TurnState* CustomExecutor::turn_state_ = nullptr;

CustomExecutor::CustomExecutor(size_t threads)
    : size_(threads > 0
                ? threads
                : std::max<size_t>(1, std::thread::hardware_concurrency())) {}

CustomExecutor::~CustomExecutor() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    tasks_.clear();
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void CustomExecutor::StartLoop(LoopTurn turn, absl::Notification* ended) {
  absl::MutexLock lock(&mu_);
  ++loops_;
  orphans_.push_back(std::make_unique<Loop>(Loop{std::move(turn), ended}));
  SpawnIfNeededLocked();
}

void CustomExecutor::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  TurnState* const state = turn_state_;
  if (state != nullptr && state->executor == this && !state->kept &&
      busy_ < size_) {
    // Runs on this thread once the turn is over (Serve).
    ++busy_;
    state->kept = std::move(task);
    return;
  }
  tasks_.push_back(std::move(task));
  SpawnIfNeededLocked();
}

void CustomExecutor::SpawnIfNeededLocked() {
  if (stopping_) return;
  const size_t free_slots = size_ - std::min(busy_, size_);
  const size_t wanted = orphans_.size() + std::min(tasks_.size(), free_slots);
  // Threads are started as the load needs them. At the cap some thread is
  // idle or about to be (every thread serves a loop, runs one of at most
  // size_ tasks, or waits), and it takes the work when it waits again.
  if (wanted > idle_ && threads_.size() < loops_ + size_) {
    threads_.emplace_back([this] { Work(); });
  }
}

void CustomExecutor::Work() {
  mu_.Lock();
  for (;;) {
    ++idle_;
    mu_.Await(absl::Condition(this, &CustomExecutor::HasWork));
    --idle_;
    if (!orphans_.empty()) {
      std::unique_ptr<Loop> loop = std::move(orphans_.front());
      orphans_.pop_front();
      mu_.Unlock();
      std::function<void()> kept = Serve(std::move(loop));
      if (kept) RunTask(kept);
      mu_.Lock();
      continue;
    }
    if (stopping_) break;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    ++busy_;
    mu_.Unlock();
    RunTask(task);
    mu_.Lock();
  }
  mu_.Unlock();
}

std::function<void()> CustomExecutor::Serve(std::unique_ptr<Loop> loop) {
  TurnState state;
  state.executor = this;
  turn_state_ = &state;
  bool more = true;
  while (!state.kept && (more = loop->turn())) {
  }
  turn_state_ = nullptr;
  if (more) {
    // A turn kept a task: the loop goes to the next free thread (one idle
    // thread's wake-up) while this one runs the task.
    absl::MutexLock lock(&mu_);
    orphans_.push_back(std::move(loop));
    SpawnIfNeededLocked();
    return std::move(state.kept);
  }
  absl::Notification* const ended = loop->ended;
  loop.reset();  // its captures go before the owner hears it ended
  {
    absl::MutexLock lock(&mu_);
    --loops_;
  }
  ended->Notify();
  return std::move(state.kept);
}

void CustomExecutor::RunTask(std::function<void()>& task) {
  task();
  task = nullptr;  // its captures go outside the lock
  absl::MutexLock lock(&mu_);
  --busy_;
}

}  // namespace mp::server
