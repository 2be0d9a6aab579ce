// What starting a process with a method requires of the program, shared by
// Process::start and the Pool (which checks it up front, before it has
// workers to start): implemented with the process-wide state in
// process/process.cc.
#ifndef MP_PROCESS_INIT_CHECK_H_
#define MP_PROCESS_INIT_CHECK_H_

#include <string>

namespace mp::internal {

// ValueError for an unknown method; ProcessError when `method` is spawn or
// forkserver and main() has not called mp::init(argc, argv).
void RequireInitFor(const std::string& method);

}  // namespace mp::internal

#endif  // MP_PROCESS_INIT_CHECK_H_
