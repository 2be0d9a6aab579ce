// mp: Python's multiprocessing Manager for C++.
//
// The umbrella header. See README.md for a tour; each included header
// states its own contract.
//
// Process-wide side effects of linking mp (done once, before main(), so
// that gRPC objects a program makes itself see them too):
// - environment variables, for gRPC in this process and its children:
//   GRPC_ENABLE_FORK_SUPPORT=true (proxies work in fork()ed children),
//   GRPC_POLL_STRATEGY=poll unless already set (fork support needs it; a
//   started mp-manager gets the environment without it), and
//   GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS=200 (an idle client
//   answers keepalives within the server's lease timeout). Variables the
//   program already set are left alone.
// - Abseil's Mutex deadlock detection is turned off
//   (absl::SetMutexDeadlockDetectionMode(kIgnore)): its lock-graph
//   bookkeeping showed in call profiles, and mp's lock order is fixed
//   (object, then session, then store shard: docs/architecture.md).
//   This applies to every absl::Mutex in the program.
// - pthread_atfork handlers (registered on first use of a connection) keep
//   mp's connection registries consistent in fork()ed children.
// - mp::init(argc, argv) (mp/process.h) must be the first statement of
//   main() in programs that start processes with spawn or forkserver.
//
// Deadlines: a call that does not block on the server times out after 5
// minutes (TimeoutError); blocking calls are bounded by their own timeout
// (see Timeout in mp/proxy.h).
#ifndef MP_MP_H_
#define MP_MP_H_

#include "mp/array_proxy.h"
#include "mp/custom_proxy.h"
#include "mp/dict_proxy.h"
#include "mp/errors.h"
#include "mp/list_proxy.h"
#include "mp/manager.h"
#include "mp/namespace_proxy.h"
#include "mp/object.h"
#include "mp/pipe.h"
#include "mp/pool.h"
#include "mp/process.h"
#include "mp/proxy.h"
#include "mp/queue.h"
#include "mp/queue_proxy.h"
#include "mp/register.h"
#include "mp/shared_memory.h"
#include "mp/sharedctypes.h"
#include "mp/sync_proxy.h"
#include "mp/synchronize.h"
#include "mp/value_proxy.h"

#endif  // MP_MP_H_
