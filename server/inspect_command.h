// `mp-manager inspect ADDRESS`: connects as a client (with the authkey, and
// TLS options if the server uses TLS), asks for an Inspection and prints
// the objects, the sessions, and who holds and waits on what.
#ifndef MP_SERVER_INSPECT_COMMAND_H_
#define MP_SERVER_INSPECT_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>

#include "mp/tls.h"
#include "mp/v1/admin.pb.h"

namespace mp::server {

// Fetches an Inspection. Throws mp::Error (AuthenticationError,
// ConnectionError, ...) when the server cannot be asked.
v1::Inspection FetchInspection(const std::string& address,
                               const std::string& authkey,
                               const std::optional<TlsOptions>& tls);

// The human-readable report.
void PrintInspection(const v1::Inspection& inspection, std::ostream& out);

}  // namespace mp::server

#endif  // MP_SERVER_INSPECT_COMMAND_H_
