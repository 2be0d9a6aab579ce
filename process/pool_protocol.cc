#include "process/pool_protocol.h"

#include <google/protobuf/arena.h>

#include <optional>
#include <span>
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

// A list of plain numbers - what most maps send and return - travels as one
// packed field: no Value message to build, serialize, parse and free per
// item on either side. Measured (bench W7, Pool(2).map of 100k x*x, 2-core
// VM): 1.9M tasks/s with a Value per item, 2.7-2.8M packed; perf put most
// of the caller's time in those messages and in faulting in fresh pages for
// their arenas.
enum class Packing { kNone, kInts, kFloats };

Packing PackingOf(std::span<const Object> items) {
  if (items.empty()) return Packing::kNone;
  const Object::Type type = items.front().type();
  if (type != Object::Type::kInt && type != Object::Type::kFloat) {
    return Packing::kNone;
  }
  for (const Object& item : items) {
    if (item.type() != type) return Packing::kNone;
  }
  return type == Object::Type::kInt ? Packing::kInts : Packing::kFloats;
}

// Fills `ints` or `floats` when `items` packs; false otherwise.
template <class Ints, class Floats>
bool EncodePacked(std::span<const Object> items, Ints* ints, Floats* floats) {
  switch (PackingOf(items)) {
    case Packing::kInts:
      ints->Reserve(static_cast<int>(items.size()));
      for (const Object& item : items) ints->AddAlreadyReserved(item.as_int());
      return true;
    case Packing::kFloats:
      floats->Reserve(static_cast<int>(items.size()));
      for (const Object& item : items) {
        floats->AddAlreadyReserved(item.as_float());
      }
      return true;
    case Packing::kNone:
      return false;
  }
  return false;
}

// Whether a PoolTask or PoolValues sets at most one of its three item
// fields, as the protocol says.
template <class Message>
bool HasOneKindOfItems(const Message& message) {
  return (message.items_size() > 0) + (message.int_items_size() > 0) +
             (message.float_items_size() > 0) <=
         1;
}

// The packed items of a PoolTask or PoolValues (`message`, which
// HasOneKindOfItems); nullopt when it has none.
template <class Message>
std::optional<Object::List> DecodePacked(const Message& message) {
  if (message.int_items_size() == 0 && message.float_items_size() == 0) {
    return std::nullopt;
  }
  Object::List items;
  items.reserve(message.int_items_size() + message.float_items_size());
  for (int64_t i : message.int_items()) items.emplace_back(i);
  for (double d : message.float_items()) items.emplace_back(d);
  return items;
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
                       std::span<const Object> items, std::vector<int>* fds) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<v1::PoolRequest>(&arena);
  v1::PoolTask* task = request->mutable_task();
  task->set_task_id(task_id);
  SetFunction(fn, task->mutable_function());
  if (EncodePacked(items, task->mutable_int_items(),
                   task->mutable_float_items())) {
    return Serialize(*request);
  }
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

std::optional<Outcome> DecodeResult(const std::string& reply, uint64_t task_id,
                                    ReceivedFds fds) {
  google::protobuf::Arena arena;
  auto* result = google::protobuf::Arena::CreateMessage<v1::PoolResult>(&arena);
  if (!result->ParseFromString(reply) || result->task_id() != task_id ||
      !HasOneKindOfItems(result->values())) {
    return std::nullopt;
  }
  switch (result->outcome_case()) {
    case v1::PoolResult::kValues: {
      Object::List values;
      try {
        if (std::optional<Object::List> packed =
                DecodePacked(result->values())) {
          return Outcome::Value(Object::list(std::move(*packed)));
        }
        values.reserve(result->values().items_size());
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
  if (!HasOneKindOfItems(task)) {
    throw ProcessError("a pool task sets more than one kind of items");
  }
  if (std::optional<Object::List> packed = DecodePacked(task)) {
    return std::move(*packed);
  }
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
  if (EncodePacked(values, out->mutable_int_items(),
                   out->mutable_float_items())) {
    return result->SerializeAsString();
  }
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
