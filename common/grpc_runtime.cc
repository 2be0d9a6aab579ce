#include "common/grpc_runtime.h"

#include <stdlib.h>

#include <cstring>
#include <mutex>

#include "absl/synchronization/mutex.h"

extern char** environ;

namespace mp::internal {
namespace {

bool g_set_poll_strategy = false;

}  // namespace

void ConfigureGrpcRuntime() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (getenv("GRPC_POLL_STRATEGY") == nullptr) {
      setenv("GRPC_POLL_STRATEGY", "poll", 0);
      g_set_poll_strategy = true;
    }
    setenv("GRPC_ENABLE_FORK_SUPPORT", "true", 0);
    // A client that makes no calls polls nothing itself; gRPC's backup
    // poller then answers the server's keepalive pings, which is what keeps
    // an idle process's session - and the locks it holds - alive. Its
    // default 5 s period is longer than the server's lease timeout, so a
    // quiet client would lose its leases.
    setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "200", 0);
    // Debian's Abseil tracks lock-order graphs on every Mutex acquisition
    // (visible in call profiles); mp's lock order is fixed by design
    // (object, then session, then store shard).
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  });
}

std::vector<std::string> ServerEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (g_set_poll_strategy &&
        std::strncmp(*e, "GRPC_POLL_STRATEGY=", 19) == 0) {
      continue;
    }
    env.emplace_back(*e);
  }
  return env;
}

// Also before main(), for programs that create gRPC objects of their own
// before touching mp.
const bool kConfiguredAtLoad = (ConfigureGrpcRuntime(), true);

}  // namespace mp::internal
