#include "proxy/proxy_handle.h"

#include <unistd.h>

#include <string>

#include "common/current_pid.h"
#include "common/wire_codec.h"
#include "mp/errors.h"

namespace mp::internal {

ProxyHandle::~ProxyHandle() {
  pid_t pid = CurrentPid();
  if (conn_->owner_pid() == pid) conn_->Release(id_);
  absl::MutexLock lock(&mu_);
  if (attached_ && attached_pid_ == pid) attached_->Release(id_);
}

std::string_view ProxyHandle::type_name() const {
  if (!custom_name_.empty()) return custom_name_;
  return ObjectTypeName(type_);
}

Connection& ProxyHandle::conn() const {
  pid_t pid = CurrentPid();
  if (conn_->owner_pid() == pid) return *conn_;
  absl::MutexLock lock(&mu_);
  if (attached_pid_ != pid) {
    std::shared_ptr<Connection> own = Connection::ForCurrentProcess(conn_);
    v1::Call call;
    call.mutable_incref()->add_ids(id_);
    own->Call(std::move(call));
    attached_ = std::move(own);
    attached_pid_ = pid;
  }
  return *attached_;
}

v1::Reply ProxyHandle::Call(v1::Call call, absl::Duration timeout) const {
  call.set_object_id(id_);
  return conn().Call(std::move(call), timeout);
}

std::shared_ptr<PendingCall> ProxyHandle::CallAsync(v1::Call call) const {
  call.set_object_id(id_);
  return conn().CallAsync(std::move(call));
}

std::shared_ptr<const ProxyHandle> HandleOf(const Object& object,
                                            v1::ObjectType type) {
  if (!object.is_proxy()) {
    throw TypeError("expected a " + std::string(ObjectTypeName(type)) +
                    " proxy, got " + object.type_name());
  }
  auto handle = std::dynamic_pointer_cast<const ProxyHandle>(object.as_proxy());
  if (handle == nullptr) throw TypeError("not a client proxy");
  if (handle->type() != type) {
    throw TypeError("expected a " + std::string(ObjectTypeName(type)) +
                    " proxy, got a " + std::string(handle->type_name()) +
                    " proxy");
  }
  return handle;
}

}  // namespace mp::internal
