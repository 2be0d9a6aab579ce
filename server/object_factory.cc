#include "server/object_factory.h"

#include <string>

#include "common/wire_codec.h"
#include "mp/errors.h"
#include "server/array_object.h"
#include "server/barrier_object.h"
#include "server/condition_object.h"
#include "server/dict_object.h"
#include "server/event_object.h"
#include "server/list_object.h"
#include "server/namespace_object.h"
#include "server/queue_object.h"
#include "server/semaphore_object.h"
#include "server/value_object.h"

namespace mp::server {

Dict CreateArgs::InitialDict() const {
  if (!has_init) return Dict();
  if (!init.is_dict()) {
    throw TypeError(std::string("initial contents must be a dict, not ") +
                    init.type_name());
  }
  return init.as_dict();
}

Object::List CreateArgs::InitialList() const {
  if (!has_init) return Object::List();
  if (!init.is_list() && !init.is_tuple()) {
    throw TypeError(std::string("initial contents must be a list, not ") +
                    init.type_name());
  }
  return init.as_list();
}

void CreateArgs::ChargeInitial(const Dict& contents) {
  size_t bytes = 0;
  for (const auto& [k, v] : contents) {
    bytes += stored.SizeOf(k) + stored.SizeOf(v);
  }
  stored.Change(bytes, 0);
}

void CreateArgs::ChargeInitial(const Object::List& contents) {
  stored.Change(stored.SizeOfAll(contents), 0);
}

ObjectMaker PrepareCreate(CreateArgs& args) {
  switch (args.request.type()) {
    case v1::DICT:
      return DictObject::Prepare(args);
    case v1::LIST:
      return ListObject::Prepare(args);
    case v1::NAMESPACE:
      return NamespaceObject::Prepare(args);
    case v1::VALUE:
      return ValueObject::Prepare(args);
    case v1::ARRAY:
      return ArrayObject::Prepare(args);
    case v1::LOCK:
    case v1::RLOCK:
    case v1::SEMAPHORE:
    case v1::BOUNDED_SEMAPHORE:
      return SemaphoreObject::Prepare(args);
    case v1::CONDITION:
      return ConditionObject::Prepare(args);
    case v1::EVENT:
      return EventObject::Prepare(args);
    case v1::BARRIER:
      return BarrierObject::Prepare(args);
    case v1::QUEUE:
    case v1::JOINABLE_QUEUE:
      return QueueObject::Prepare(args);
    default:  // ITERATOR (made by iter()), unspecified, unknown numbers
      break;
  }
  throw ValueError("cannot create an object of type " +
                   std::string(internal::ObjectTypeName(args.request.type())) +
                   " (not supported by this server)");
}

}  // namespace mp::server
