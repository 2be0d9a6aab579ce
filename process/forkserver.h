// The forkserver start method: a server process, started with spawn (so it
// has run nothing but mp::init - no threads, no gRPC), forks each child.
// Children inherit nothing of the program's runtime state, and a fork is
// far cheaper than an exec.
#ifndef MP_PROCESS_FORKSERVER_H_
#define MP_PROCESS_FORKSERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace mp::internal {

struct ForkserverChild {
  pid_t pid = 0;
  // Receives the child's wait status (an int, as from waitpid) and then
  // EOF when it exits: the sentinel.
  int status_fd = -1;
};

// Starts the child through this program's forkserver (starting the server
// on first use). `ready_fd` (or -1) is handed to the child, which writes a
// byte once it has attached its proxies; so are the `carried` descriptors
// of the task's shared objects (at most kMaxCarriedFds). Throws
// ProcessError.
ForkserverChild ForkserverStart(const std::string& task_spec, int ready_fd,
                                bool daemon, const std::vector<int>& carried);

// In mp::init of the forkserver process: serves until the program exits.
[[noreturn]] void ForkserverMain(int socket_fd);

inline constexpr char kForkserverFdEnv[] = "MP_FORKSERVER_FD";

}  // namespace mp::internal

#endif  // MP_PROCESS_FORKSERVER_H_
