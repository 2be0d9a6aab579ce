#include <sstream>
#include <string>

#include "common/wire_codec.h"
#include "mp/errors.h"
#include "mp/proxy.h"
#include "proxy/proxy_op.h"

namespace mp {

uint64_t BaseProxy::id() const { return handle().id(); }

const internal::ProxyHandle& BaseProxy::handle() const {
  if (handle_ == nullptr) {
    throw ValueError(
        "operation on an empty proxy (default-constructed or "
        "moved from)");
  }
  return *handle_;
}

std::string BaseProxy::repr() const { return object().repr(); }

Object BaseProxy::object() const {
  handle();
  return Object::proxy(handle_);
}

Object PendingReply::get() const {
  if (pending_ == nullptr) throw ValueError("get() on an empty PendingReply");
  internal::Connection& conn = handle_->conn();
  v1::Reply reply = conn.Wait(pending_);
  return reply.has_value() ? conn.Decode(reply.value()) : Object();
}

ProxyIterator BaseProxyAccess::MakeIterator(const Object& iterator_proxy,
                                            uint32_t batch) {
  ProxyIterator it;
  it.iterator_ = internal::HandleOf(iterator_proxy, v1::ITERATOR);
  it.buffer_ = std::make_shared<std::deque<Object>>();
  it.batch_ = batch;
  it.Fill();
  return it;
}

void ProxyIterator::Fill() {
  while (buffer_->empty() && !exhausted_) {
    internal::Connection& conn = iterator_->conn();
    v1::Call call;
    call.mutable_iterator()->mutable_next()->set_max_items(batch_);
    v1::Reply reply = iterator_->Call(std::move(call));
    Object items = conn.Decode(reply.value());
    for (const Object& item : items.as_list()) buffer_->push_back(item);
    exhausted_ = items.as_list().size() < batch_;
  }
}

ProxyIterator& ProxyIterator::operator++() {
  if (at_end()) return *this;  // incrementing the end stays at the end
  buffer_->pop_front();
  Fill();
  return *this;
}

namespace internal {

std::shared_ptr<const ProxyHandle> HandleOfKind(const Object& object,
                                                Kind kind) {
  return HandleOf(object, static_cast<v1::ObjectType>(kind));
}

}  // namespace internal
}  // namespace mp
