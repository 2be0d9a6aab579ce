#include "common/current_pid.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace mp::internal {
namespace {

// 0: not known in this process yet.
std::atomic<pid_t> cached_pid{0};

void ForgetInChild() { cached_pid.store(0, std::memory_order_relaxed); }

}  // namespace

pid_t CurrentPid() {
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid != 0) return pid;
  // Registered before the first value is cached, so no fork can come
  // between caching and the handler that would invalidate it.
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, ForgetInChild);
    return true;
  }();
  (void)registered;
  pid = getpid();
  cached_pid.store(pid, std::memory_order_relaxed);
  return pid;
}

}  // namespace mp::internal
