#include "server/custom_executor.h"

#include <algorithm>
#include <utility>

namespace mp::server {

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

void CustomExecutor::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  tasks_.push_back(std::move(task));
  // One more thread while some are missing and none is idle is enough:
  // threads are started as the load needs them, up to size_.
  if (threads_.size() < size_ && tasks_.size() > idle_) {
    threads_.emplace_back([this] { Run(); });
  }
}

void CustomExecutor::Run() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(this, &CustomExecutor::HasWork));
      --idle_;
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace mp::server
