#include "server/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mp::server {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};

constexpr std::string_view kNames[] = {"error", "warning", "info", "debug"};

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kNames[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  std::string line = "mp-manager[" + std::to_string(getpid()) + "] ";
  line += kNames[static_cast<int>(level)];
  line += ' ';
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                           absl::UTCTimeZone());
  line += ' ';
  line += message;
  line += '\n';
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

void RateLimitedLog::Warn(const std::string& message) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  int64_t last = last_second_.load();
  if (now == last || !last_second_.compare_exchange_strong(last, now)) {
    suppressed_.fetch_add(1);
    return;
  }
  const int64_t dropped = suppressed_.exchange(0);
  Log(LogLevel::kWarning, dropped == 0
                              ? message
                              : message + " (and " + std::to_string(dropped) +
                                    " similar in the last second)");
}

}  // namespace mp::server
