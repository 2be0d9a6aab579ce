// The base of every object a manager server holds.
#ifndef MP_SERVER_SERVER_OBJECT_H_
#define MP_SERVER_SERVER_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/wire_codec.h"
#include "mp/object.h"
#include "mp/v1/admin.pb.h"
#include "mp/v1/value.pb.h"

namespace mp::server {

class ObjectStore;
class Session;

using internal::HexId;

// Lifetime: shared_ptr owned by the sessions that hold references, by
// containers that store it, and by the named registry. The store only keeps
// a weak index, so the object dies, and leaves the index, with its last
// owner. Each subclass guards its own state with its own mutex: there is no
// global lock on the operation path.
class ServerObject : public ObjectRef,
                     public std::enable_shared_from_this<ServerObject> {
 public:
  ServerObject(v1::ObjectType type, uint64_t id, ObjectStore* store)
      : type_(type), id_(id), store_(store) {}
  ~ServerObject() override;

  ServerObject(const ServerObject&) = delete;
  ServerObject& operator=(const ServerObject&) = delete;

  uint64_t id() const override { return id_; }
  std::string_view type_name() const override;
  v1::ObjectType type() const { return type_; }

  // `session` ended: give back what it held here (lock permits), cancel its
  // parked calls. Called once per lease the session took (Session::AddLease).
  virtual void OnSessionEnd(Session& /*session*/) {}

  // A call parked on this object with a deadline (WaiterList::Add) reached
  // it: answer it as timed out, if it is still waiting. Runs on the timer
  // thread.
  virtual void OnParkedTimeout(uint64_t /*session_id*/, uint64_t /*call_id*/) {}

  // Fills what `mp-manager inspect` shows of this object's own state: size,
  // holders, waiters (the caller fills id, type, name and refcount).
  // Default: size -1 (not meaningful).
  virtual void Describe(v1::Inspection::ObjectInfo* info) {
    info->set_size(-1);
  }

 private:
  const v1::ObjectType type_;
  const uint64_t id_;
  ObjectStore* const store_;
};

}  // namespace mp::server

#endif  // MP_SERVER_SERVER_OBJECT_H_
