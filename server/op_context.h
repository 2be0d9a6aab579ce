// What an operation needs besides its object: the calling session (to
// resolve proxy references it sends and to hand it the ones it receives).
#ifndef MP_SERVER_OP_CONTEXT_H_
#define MP_SERVER_OP_CONTEXT_H_

#include <memory>

#include "mp/object.h"
#include "mp/v1/session.pb.h"
#include "proxy/wire_codec.h"
#include "server/session.h"

namespace mp::server {

class OpContext {
 public:
  explicit OpContext(Session* session) : session_(session) {}

  // Decodes a value from the caller. A proxy reference must name an object
  // the caller holds (mp::ReferenceError otherwise).
  Object Decode(const v1::Value& value) const {
    return internal::DecodeValue(value, [this](const v1::ProxyRef& ref) {
      return Object::proxy(session_->Lookup(ref.id()));
    });
  }

  // Encodes a value for the caller; each proxy reference in it gives the
  // caller one reference.
  void Encode(const Object& value, v1::Value* out) const {
    internal::EncodeValue(value, out,
                          [this](const ObjectRef& ref, v1::ProxyRef* pb) {
                            auto& object =
                                static_cast<const ServerObject&>(ref);
                            session_->AddRef(std::const_pointer_cast<ServerObject>(
                                object.shared_from_this()));
                            pb->set_id(object.id());
                            pb->set_type(object.type());
                          });
  }

  void Return(const Object& value, v1::Reply* reply) const {
    Encode(value, reply->mutable_value());
  }
  void ReturnNone(v1::Reply* reply) const { reply->mutable_value()->mutable_none(); }

  Session* session() const { return session_; }

 private:
  Session* session_;
};

}  // namespace mp::server

#endif  // MP_SERVER_OP_CONTEXT_H_
