// What the server allows its clients: the service's share of ServerOptions
// (include/mp/server.h documents each limit).
#ifndef MP_SERVER_SESSION_LIMITS_H_
#define MP_SERVER_SESSION_LIMITS_H_

#include <cstddef>

#include "absl/time/time.h"
#include "mp/server.h"

namespace mp::server {

struct SessionLimits {
  size_t max_message_bytes = size_t{64} << 20;
  size_t max_objects_per_session = 0;  // 0: unlimited
  size_t max_reply_backlog_bytes = size_t{64} << 20;
  size_t max_stored_bytes_per_session = 0;    // 0: unlimited
  size_t max_object_bytes = size_t{1} << 30;  // 0: unlimited
  bool allow_client_shutdown = true;
  size_t max_sessions = 0;                               // 0: unlimited
  absl::Duration handshake_timeout = absl::Seconds(10);  // 0: none
  size_t custom_threads = 0;  // 0: the number of cores
};

// The limits `options` set: what a Server builds its service with.
inline SessionLimits SessionLimitsFrom(const ServerOptions& options) {
  return SessionLimits{
      .max_message_bytes = options.max_message_bytes,
      .max_objects_per_session = options.max_objects_per_session,
      .max_reply_backlog_bytes = options.max_reply_backlog_bytes,
      .max_stored_bytes_per_session = options.max_stored_bytes_per_session,
      .max_object_bytes = options.max_object_bytes,
      .allow_client_shutdown = options.allow_client_shutdown,
      .max_sessions = options.max_sessions,
      .handshake_timeout = absl::FromChrono(options.handshake_timeout),
      .custom_threads = options.custom_threads,
  };
}

}  // namespace mp::server

#endif  // MP_SERVER_SESSION_LIMITS_H_
