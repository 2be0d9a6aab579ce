// A Pool worker process: its main function and what it reports when a task
// fails.
#ifndef MP_PROCESS_POOL_WORKER_H_
#define MP_PROCESS_POOL_WORKER_H_

#include <string>

namespace mp::internal {

// Runs in the worker process (started by mp::Process, so as a plain
// function under any start method): connects to the pool's rendezvous
// socket `socket_name`, says hello with `token`, then serves the pool's
// requests (process/pool_protocol.h) until told to stop, the pool goes
// away, or its task budget is spent.
void PoolWorkerMain(std::string socket_name, std::string token);

// The traceback text of an error a task raised: which worker, which task
// function (by name, see process/symbolize.h), and the error.
std::string WorkerTraceback(const void* fn, const std::string& type,
                            const std::string& message);

}  // namespace mp::internal

#endif  // MP_PROCESS_POOL_WORKER_H_
