// Process-wide gRPC settings mp depends on.
#ifndef MP_COMMON_GRPC_RUNTIME_H_
#define MP_COMMON_GRPC_RUNTIME_H_

#include <string>
#include <vector>

namespace mp::internal {

// Makes gRPC usable in children fork()ed after the parent has talked to a
// manager: the "poll" polling engine (with epoll1, a child shares the
// parent's epoll set and runs the parent's callbacks - measured: children
// crashed or hung) and gRPC's fork support. Must run before gRPC
// initialises; every mp entry point that creates gRPC objects calls it.
// Respects values the user has set in the environment.
void ConfigureGrpcRuntime();

// The environment for an exec()ed mp-manager: ours, minus the polling
// engine set above, so that the server makes its own choice - which, as
// it links libmp, is "poll" too unless the user set one. (Giving
// mp-manager epoll1 was measured: no change in W1 or W4.)
std::vector<std::string> ServerEnvironment();

}  // namespace mp::internal

#endif  // MP_COMMON_GRPC_RUNTIME_H_
