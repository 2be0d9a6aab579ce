// Timeouts and thread identity for blocking calls.
#ifndef MP_PROXY_TIMEOUTS_H_
#define MP_PROXY_TIMEOUTS_H_

#include <algorithm>
#include <cstdint>

#include "absl/time/time.h"
#include "mp/proxy.h"

namespace mp::internal {

// Identifies the calling thread to the server (RLock and Condition
// ownership is per thread). Unique within a process, which is all a
// session needs.
uint64_t ThreadToken();

// How long the client waits for a parked call's reply: the server answers
// at the timeout, the margin covers the trip. No timeout: no client
// deadline either (a dead server is still noticed through keepalive).
inline absl::Duration ClientWait(const Timeout& timeout) {
  if (!timeout) return absl::InfiniteDuration();
  return absl::Seconds(std::max(0.0, timeout->count())) + absl::Seconds(30);
}

// Fills the wire Timeout of a blocking operation (absent: no timeout).
template <class Op>
void SetTimeout(const Timeout& timeout, Op* op) {
  if (!timeout) return;
  const double micros = std::clamp(timeout->count() * 1e6, 0.0, 9e18);
  op->mutable_timeout()->set_micros(static_cast<int64_t>(micros));
}

}  // namespace mp::internal

#endif  // MP_PROXY_TIMEOUTS_H_
