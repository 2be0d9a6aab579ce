// Creating objects. Each type owns its creation: a static Prepare on its
// class checks the Create request's arguments, charges the initial contents
// and returns what makes the object; PrepareCreate picks it by type. Two
// steps, because a named Create may find the object already made: the
// arguments are checked either way, the object is made only if needed.
#ifndef MP_SERVER_OBJECT_FACTORY_H_
#define MP_SERVER_OBJECT_FACTORY_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "server/byte_quota.h"
#include "server/server_object.h"
#include "server/timer_queue.h"

namespace mp::server {

class ObjectStore;

// One Create request, as a type's factory sees it.
struct CreateArgs {
  const v1::Create& request;
  // The decoded initial contents; None when the request has none.
  Object init;
  bool has_init = false;
  ObjectStore* store = nullptr;
  TimerQueue* timers = nullptr;
  // Accounts for the new object's contents (the creator's stored-bytes
  // quota). The factory charges the initial contents to it - before
  // allocating them - and hands it to the object it makes; if none is made,
  // the charge is given back when the args die.
  StoredBytes stored;

  // The initial contents as a dict / a list (a list or a tuple); empty
  // without any. TypeError naming what was sent otherwise.
  Dict InitialDict() const;
  Object::List InitialList() const;
  // Charges `contents` to `stored` (MemoryError beyond a limit).
  void ChargeInitial(const Dict& contents);
  void ChargeInitial(const Object::List& contents);
};

// Makes the object once the store has given it an id. Refers to the
// CreateArgs it was prepared from, which must outlive it.
using ObjectMaker = std::function<std::shared_ptr<ServerObject>(uint64_t id)>;

// The factory of `args.request.type()`: checks the arguments and returns
// the maker. Throws the mp::Error the client should see (ValueError for a
// type this server cannot create).
ObjectMaker PrepareCreate(CreateArgs& args);

}  // namespace mp::server

#endif  // MP_SERVER_OBJECT_FACTORY_H_
