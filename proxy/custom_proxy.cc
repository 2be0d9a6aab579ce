#include "mp/custom_proxy.h"

#include <algorithm>
#include <string>
#include <utility>

#include "proxy/proxy_op.h"
#include "proxy/timeouts.h"

namespace mp {

Object BaseProxy::CallMethod(const std::string& method, Object::List args,
                             Timeout timeout) const {
  internal::ProxyOp op(*this);
  v1::CustomOp* custom = op.call().mutable_custom();
  custom->set_method(method);
  for (const Object& arg : args) op.Put(arg, custom->add_args());
  if (timeout) {
    const double micros = std::clamp(timeout->count() * 1e6, 1.0, 9e18);
    custom->set_timeout_micros(static_cast<int64_t>(micros));
  }
  // Without a timeout, as long as the method takes (like acquire()); with
  // one, the server answers TimeoutError at the deadline and the client's
  // wait covers the trip.
  return op.Run(internal::ClientWait(timeout));
}

}  // namespace mp
