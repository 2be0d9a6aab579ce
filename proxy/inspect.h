// Inspection of a manager: what it holds, and who holds and waits on what.
// Behind Manager::inspect() and `mp-manager inspect ADDRESS`.
#ifndef MP_PROXY_INSPECT_H_
#define MP_PROXY_INSPECT_H_

#include <ostream>

#include "mp/v1/admin.pb.h"
#include "proxy/connection.h"

namespace mp::internal {

// Asks the server behind `conn` for an Inspection. Throws mp::Error
// (ConnectionError, TimeoutError) when it cannot be asked.
v1::Inspection FetchInspection(Connection& conn);

// The human-readable report.
void PrintInspection(const v1::Inspection& inspection, std::ostream& out);

}  // namespace mp::internal

#endif  // MP_PROXY_INSPECT_H_
