// The Pool's worker protocol (proto/mp/v1/process.proto, "The Pool's worker
// protocol"): building and reading its messages, for both sides - the pool
// (process/pool_core.cc) and the worker (process/pool_worker.cc).
#ifndef MP_PROCESS_POOL_PROTOCOL_H_
#define MP_PROCESS_POOL_PROTOCOL_H_

#include <google/protobuf/arena.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/fd_ref.h"
#include "mp/detail/pool_function.h"
#include "mp/object.h"
#include "mp/v1/process.pb.h"
#include "process/code_location.h"
#include "process/task_outcome.h"

namespace mp::internal {

// A Pool call's function and trampoline, located in the loaded objects.
struct LocatedFunction {
  CodeLocation function;
  CodeLocation trampoline;
};
// `bare_items`: the items are bare arguments (FunctionRef::unary), not
// argument tuples. Throws ProcessError (code in no loaded object).
LocatedFunction LocateFunction(const FunctionRef& ref, bool bare_items);

// ---- The pool's side ----

// Messages that embed values take the descriptors of the shared objects
// and Connection ends in them along (SendMessage): Encode* appends them to
// `fds` (borrowed from the values: valid while those live); Decode* take
// those received with the message (ReceivedFds), each owned by an FdRef
// from then on.

// Throws mp::Error when `initargs` cannot travel.
std::string EncodeSetup(const std::optional<LocatedFunction>& initializer,
                        const Object& initargs, int64_t max_tasks,
                        std::vector<int>* fds);
// Throws mp::Error when an item cannot travel.
std::string EncodeTask(uint64_t task_id, const LocatedFunction& fn,
                       std::span<const Object> items, std::vector<int>* fds);
std::string EncodeStop();
// Whether `hello` is a PoolWorkerHello carrying `token`.
bool IsHelloWithToken(const std::string& hello, const std::string& token);
// The task's outcome from the worker's reply: the list of values, or the
// error. nullopt when the reply is not a well-formed answer to `task_id`
// (the worker is then not to be trusted with more tasks). Values that
// cannot be decoded here (a proxy of an unreachable manager) make a
// failed outcome.
std::optional<Outcome> DecodeResult(const std::string& reply, uint64_t task_id,
                                    ReceivedFds fds);

// ---- The worker's side ----

std::string EncodeHello(const std::string& token);
// The request in `bytes`, allocated on `arena` (task chunks hold a Value
// per item). Throws ProcessError for bytes that are no PoolRequest.
const v1::PoolRequest& ParseRequest(const std::string& bytes,
                                    google::protobuf::Arena* arena);
// Throws ProcessError when the object is not loaded in this process.
void* ResolveCode(const v1::CodeRef& ref);
// The arguments of each call; attaches proxies to this process's sessions.
Object DecodeInitargs(const v1::PoolWorkerSetup& setup, ReceivedFds fds);
Object::List DecodeItems(const v1::PoolTask& task, ReceivedFds fds);
// Throws mp::Error when a value cannot travel.
std::string EncodeValues(uint64_t task_id, const Object::List& values,
                         std::vector<int>* fds);
std::string EncodeError(uint64_t task_id, const std::string& type,
                        const std::string& message,
                        const std::string& traceback);

}  // namespace mp::internal

#endif  // MP_PROCESS_POOL_PROTOCOL_H_
