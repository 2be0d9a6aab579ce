#include "common/busy_poll.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace mp::internal {

int64_t BusyPoll::BudgetUsFor(const char* env, long cpus_online) {
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long us = std::strtoll(env, &end, 10);
    if (end != env && *end == '\0' && errno == 0 && us >= 0) {
      return static_cast<int64_t>(std::min<long long>(us, kMaxBudgetUs));
    }
    // Not a count of microseconds: the default, as if unset.
  }
  return cpus_online > 1 ? kDefaultBudgetUs : int64_t{0};
}

int64_t BusyPoll::DefaultBudgetUs() {
  static const int64_t budget = BudgetUsFor(std::getenv("MP_BUSY_POLL_US"),
                                            sysconf(_SC_NPROCESSORS_ONLN));
  return budget;
}

}  // namespace mp::internal
