#include "proxy/inspect.h"

#include <cstdio>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/wire_codec.h"
#include "proxy/connection.h"

namespace mp::internal {
namespace {

// "3, 3, 5" -> "3 (x2), 5": a session holding several permits shows once.
std::string SessionList(
    const google::protobuf::RepeatedField<uint64_t>& sessions) {
  std::map<uint64_t, int> counts;
  for (uint64_t s : sessions) ++counts[s];
  std::vector<std::string> parts;
  for (const auto& [s, n] : counts) {
    parts.push_back(n > 1 ? absl::StrCat(s, " (x", n, ")") : absl::StrCat(s));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

v1::Inspection FetchInspection(Connection& conn) {
  v1::Call call;
  call.mutable_inspect();
  v1::Reply reply = conn.Call(std::move(call), absl::Seconds(30));
  return reply.inspection();
}

void PrintInspection(const v1::Inspection& in, std::ostream& out) {
  out << absl::StrFormat("manager pid %d, server id %s, up %.1f s\n", in.pid(),
                         HexId(in.server_id()), in.uptime_seconds());
  out << "\nobjects (" << in.objects_size() << "):\n";
  out << absl::StrFormat("  %-20s %-16s %-16s %8s %5s  %s\n", "ID", "TYPE",
                         "NAME", "SIZE", "REFS", "STATE");
  for (const auto& o : in.objects()) {
    std::string state = o.state();
    if (o.fencing_token() > 0) {
      absl::StrAppend(&state, state.empty() ? "" : "; ", "fencing token ",
                      o.fencing_token());
    }
    if (o.holder_sessions_size() > 0) {
      absl::StrAppend(&state, state.empty() ? "" : "; ", "held by session ",
                      SessionList(o.holder_sessions()));
    }
    if (o.waiter_sessions_size() > 0) {
      absl::StrAppend(&state, state.empty() ? "" : "; ", "waiting: session ",
                      SessionList(o.waiter_sessions()));
    }
    out << absl::StrFormat(
        "  %-20s %-16s %-16s %8s %5d  %s\n", HexId(o.id()), o.type(),
        o.name().empty() ? "-" : o.name(),
        o.size() < 0 ? std::string("-") : absl::StrCat(o.size()), o.refcount(),
        state);
  }
  out << "\nsessions (" << in.sessions_size() << "):\n";
  out << absl::StrFormat("  %-6s %-9s %-28s %8s %-14s %9s %7s %6s %7s\n", "ID",
                         "TRANSPORT", "PEER", "PID", "CLIENT", "AGE", "OBJECTS",
                         "LEASES", "UNACKED");
  for (const auto& s : in.sessions()) {
    out << absl::StrFormat(
        "  %-6d %-9s %-28s %8d %-14s %8.1fs %7d %6d %7d\n", s.id(),
        s.transport().empty() ? "-" : s.transport(), s.peer(), s.pid(),
        s.client_name().empty() ? "-" : s.client_name(), s.age_seconds(),
        s.objects_held(), s.leases(), s.unacked());
  }
}

}  // namespace mp::internal
