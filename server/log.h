// The server's diagnostic log: one line per event on stderr, filtered by a
// process-wide level (mp-manager --log-level). Quiet by default: warnings
// and errors only, so an embedded server does not chatter in its host app.
#ifndef MP_SERVER_LOG_H_
#define MP_SERVER_LOG_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::server {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

// "error", "warning", "info", "debug"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// Writes "mp-manager[pid] LEVEL timestamp message" if `level` is enabled.
// Thread-safe; one write(2) per line so lines never interleave.
void Log(LogLevel level, std::string_view message);

// A warning at most once a second, with a count of the ones suppressed: a
// flood of malformed connections must not flood the log (one line per
// message did). Thread-safe; one instance per kind of event.
class RateLimitedLog {
 public:
  void Warn(const std::string& message);

 private:
  std::atomic<int64_t> last_second_{0};
  std::atomic<int64_t> suppressed_{0};
};

}  // namespace mp::server

#endif  // MP_SERVER_LOG_H_
