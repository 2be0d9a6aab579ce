#include "process/pool_protocol.h"

#include <google/protobuf/arena.h>

#include <utility>

#include "mp/errors.h"
#include "process/task_codec.h"

namespace mp::internal {
namespace {

void SetCodeRef(const CodeLocation& at, v1::CodeRef* ref) {
  ref->set_object_path(at.object_path);
  ref->set_offset(at.offset);
}

void SetFunction(const LocatedFunction& fn, v1::PoolFunction* out) {
  SetCodeRef(fn.function, out->mutable_function());
  SetCodeRef(fn.trampoline, out->mutable_trampoline());
}

std::string Serialize(const v1::PoolRequest& request) {
  return request.SerializeAsString();
}

}  // namespace

LocatedFunction LocateFunction(const FunctionRef& ref, bool bare_items) {
  CallTrampoline trampoline = bare_items ? ref.unary : ref.trampoline;
  return {Locate(ref.fn), Locate(reinterpret_cast<const void*>(trampoline))};
}

std::string EncodeSetup(const std::optional<LocatedFunction>& initializer,
                        const Object& initargs, int64_t max_tasks,
                        std::vector<int>* fds) {
  v1::PoolRequest request;
  v1::PoolWorkerSetup* setup = request.mutable_setup();
  if (initializer) {
    SetFunction(*initializer, setup->mutable_initializer());
    CarriedOut carried{setup->mutable_carried(), fds};
    EncodeWithManagers(initargs, setup->mutable_initargs(),
                       setup->mutable_managers(), &carried);
  }
  setup->set_max_tasks(max_tasks);
  return Serialize(request);
}

// Chunks hold one Value per item: an arena turns their many small
// allocations into a few (measured: malloc/free were half the cost of a
// large Pool.map).
std::string EncodeTask(uint64_t task_id, const LocatedFunction& fn,
                       const Object::List& items, std::vector<int>* fds) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<v1::PoolRequest>(&arena);
  v1::PoolTask* task = request->mutable_task();
  task->set_task_id(task_id);
  SetFunction(fn, task->mutable_function());
  task->mutable_items()->Reserve(static_cast<int>(items.size()));
  CarriedOut carried{task->mutable_carried(), fds};
  for (const Object& item : items) {
    EncodeWithManagers(item, task->add_items(), task->mutable_managers(),
                       &carried);
  }
  return Serialize(*request);
}

std::string EncodeStop() {
  v1::PoolRequest request;
  request.mutable_stop();
  return Serialize(request);
}

bool IsHelloWithToken(const std::string& hello, const std::string& token) {
  v1::PoolWorkerHello message;
  return message.ParseFromString(hello) && message.token() == token;
}

std::optional<Outcome> DecodeResult(const std::string& reply,
                                    uint64_t task_id, ReceivedFds fds) {
  google::protobuf::Arena arena;
  auto* result = google::protobuf::Arena::CreateMessage<v1::PoolResult>(&arena);
  if (!result->ParseFromString(reply) || result->task_id() != task_id) {
    return std::nullopt;
  }
  switch (result->outcome_case()) {
    case v1::PoolResult::kValues: {
      Object::List values;
      values.reserve(result->values().items_size());
      try {
        const std::vector<Object> carried =
            AdoptCarried(result->carried(), std::move(fds));
        for (const v1::Value& v : result->values().items()) {
          values.push_back(DecodeWithManagers(v, result->managers(), carried));
        }
      } catch (const Error& e) {
        return Outcome::Failure(e);
      }
      return Outcome::Value(Object::list(std::move(values)));
    }
    case v1::PoolResult::kError:
      return Outcome::Failure(result->error().type(), result->error().message(),
                              result->error().traceback());
    default:
      return std::nullopt;
  }
}

std::string EncodeHello(const std::string& token) {
  v1::PoolWorkerHello hello;
  hello.set_token(token);
  return hello.SerializeAsString();
}

const v1::PoolRequest& ParseRequest(const std::string& bytes,
                                    google::protobuf::Arena* arena) {
  auto* request =
      google::protobuf::Arena::CreateMessage<v1::PoolRequest>(arena);
  if (!request->ParseFromString(bytes)) {
    throw ProcessError("a pool worker got a malformed request");
  }
  return *request;
}

void* ResolveCode(const v1::CodeRef& ref) {
  return Resolve({ref.object_path(), ref.offset()});
}

Object DecodeInitargs(const v1::PoolWorkerSetup& setup, ReceivedFds fds) {
  const std::vector<Object> carried =
      AdoptCarried(setup.carried(), std::move(fds));
  return DecodeWithManagers(setup.initargs(), setup.managers(), carried);
}

Object::List DecodeItems(const v1::PoolTask& task, ReceivedFds fds) {
  const std::vector<Object> carried =
      AdoptCarried(task.carried(), std::move(fds));
  Object::List items;
  items.reserve(task.items_size());
  for (const v1::Value& item : task.items()) {
    items.push_back(DecodeWithManagers(item, task.managers(), carried));
  }
  return items;
}

std::string EncodeValues(uint64_t task_id, const Object::List& values,
                         std::vector<int>* fds) {
  google::protobuf::Arena arena;
  auto* result = google::protobuf::Arena::CreateMessage<v1::PoolResult>(&arena);
  result->set_task_id(task_id);
  v1::PoolValues* out = result->mutable_values();
  out->mutable_items()->Reserve(static_cast<int>(values.size()));
  CarriedOut carried{result->mutable_carried(), fds};
  for (const Object& value : values) {
    EncodeWithManagers(value, out->add_items(), result->mutable_managers(),
                       &carried);
  }
  return result->SerializeAsString();
}

std::string EncodeError(uint64_t task_id, const std::string& type,
                        const std::string& message,
                        const std::string& traceback) {
  v1::PoolResult result;
  result.set_task_id(task_id);
  v1::PoolError* error = result.mutable_error();
  error->set_type(type);
  error->set_message(message);
  error->set_traceback(traceback);
  return result.SerializeAsString();
}

}  // namespace mp::internal
