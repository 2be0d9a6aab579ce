// The bounded pool that runs custom types' methods (mp/register.h), so that
// a slow or blocking method never holds up the threads that read sessions.
#ifndef MP_SERVER_CUSTOM_EXECUTOR_H_
#define MP_SERVER_CUSTOM_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mp::server {

// Thread-safe. Threads start as tasks need them, up to the size (a server
// that serves no custom type has none). Tasks run in submission order as
// threads free up; a task must not wait for a later one.
class CustomExecutor {
 public:
  // `threads` 0: the number of cores.
  explicit CustomExecutor(size_t threads);
  // Drops the tasks that have not started, waits for the running ones.
  ~CustomExecutor();

  CustomExecutor(const CustomExecutor&) = delete;
  CustomExecutor& operator=(const CustomExecutor&) = delete;

  void Submit(std::function<void()> task);
  size_t size() const { return size_; }

 private:
  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !tasks_.empty();
  }

  const size_t size_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting for a task
};

}  // namespace mp::server

#endif  // MP_SERVER_CUSTOM_EXECUTOR_H_
