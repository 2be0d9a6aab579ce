#include "server/custom_executor.h"

#include <algorithm>
#include <utility>

namespace mp::server {

thread_local CustomExecutor::TurnState* CustomExecutor::turn_state_ = nullptr;

CustomExecutor::CustomExecutor(size_t threads, absl::Duration hand_off_after)
    : size_(threads > 0
                ? threads
                : std::max<size_t>(1, std::thread::hardware_concurrency())),
      hand_off_after_(hand_off_after) {}

CustomExecutor::~CustomExecutor() {
  std::vector<std::thread> threads;
  std::thread watchdog;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    tasks_.clear();
    threads.swap(threads_);
    watchdog.swap(watchdog_);
  }
  for (std::thread& t : threads) t.join();
  if (watchdog.joinable()) watchdog.join();
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
      Serve(std::move(loop));
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

void CustomExecutor::Serve(std::unique_ptr<Loop> loop) {
  TurnState state;
  state.executor = this;
  for (;;) {
    turn_state_ = &state;
    bool more = true;
    while (!state.kept && (more = loop->turn())) {
    }
    turn_state_ = nullptr;
    if (!more) break;
    // A turn kept a task: run it with the loop parked, then go on serving
    // the loop unless it was handed off meanwhile.
    std::function<void()> task = std::move(state.kept);
    state.kept = nullptr;
    loop = RunKept(std::move(loop), task);
    if (loop == nullptr) return;
  }
  absl::Notification* const ended = loop->ended;
  loop.reset();  // its captures go before the owner hears it ended
  {
    absl::MutexLock lock(&mu_);
    --loops_;
  }
  ended->Notify();
  if (state.kept) RunTask(state.kept);
}

std::unique_ptr<CustomExecutor::Loop> CustomExecutor::RunKept(
    std::unique_ptr<Loop> loop, std::function<void()>& task) {
  const Loop* const mine = loop.get();
  {
    absl::MutexLock lock(&mu_);
    parked_.push_back(Parked{std::move(loop), absl::Now() + hand_off_after_});
    if (!watchdog_.joinable() && !stopping_) {
      watchdog_ = std::thread([this] { Watch(); });
    }
  }
  RunTask(task);
  absl::MutexLock lock(&mu_);
  for (auto it = parked_.begin(); it != parked_.end(); ++it) {
    if (it->loop.get() == mine) {
      loop = std::move(it->loop);
      parked_.erase(it);
      return loop;
    }
  }
  // Handed off: this thread joins the idle ones (a runnable task may have
  // been waiting for the slot it frees).
  SpawnIfNeededLocked();
  return nullptr;
}

void CustomExecutor::RunTask(std::function<void()>& task) {
  task();
  task = nullptr;  // its captures go outside the lock
  absl::MutexLock lock(&mu_);
  --busy_;
}

void CustomExecutor::Watch() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    // Wakes when a loop is parked while none was - rare under load: most
    // wake-ups are the deadline below.
    mu_.Await(absl::Condition(this, &CustomExecutor::WatchdogHasWork));
    if (stopping_) return;
    const absl::Time due = parked_.front().hand_off_at;
    if (mu_.AwaitWithDeadline(absl::Condition(&stopping_), due)) return;
    const absl::Time now = absl::Now();
    bool moved = false;
    while (!parked_.empty() && parked_.front().hand_off_at <= now) {
      orphans_.push_back(std::move(parked_.front().loop));
      parked_.pop_front();
      moved = true;
    }
    if (moved) SpawnIfNeededLocked();
  }
}

}  // namespace mp::server
