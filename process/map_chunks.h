// map / starmap: the items cut into chunks, one job per chunk, and the
// chunks' values gathered back in input order into one result.
#ifndef MP_PROCESS_MAP_CHUNKS_H_
#define MP_PROCESS_MAP_CHUNKS_H_

#include <cstddef>
#include <memory>

#include "mp/detail/pool_results.h"
#include "process/pool_core.h"

namespace mp::internal {

// Python's default chunksize: ceil(n / (4 * processes)), at least 1.
size_t DefaultChunksize(size_t n, int processes);

// Queues `items` on `core` in chunks of `chunksize` (0: the default). The
// result completes with the list of all values in order, or with the first
// chunk error to arrive (the other chunks still run, as in CPython).
std::shared_ptr<ResultState> SubmitChunks(PoolCore& core,
                                          const LocatedFunction& fn,
                                          Object::List items, size_t chunksize,
                                          CompletionCallback done);

}  // namespace mp::internal

#endif  // MP_PROCESS_MAP_CHUNKS_H_
