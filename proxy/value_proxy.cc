#include "mp/value_proxy.h"

#include "proxy/proxy_op.h"

namespace mp {

using internal::ProxyOp;

Object ValueProxyBase::get_object() const {
  ProxyOp op(*this);
  op.call().mutable_value()->mutable_get();
  return op.Run();
}

void ValueProxyBase::set_object(const Object& value) const {
  ProxyOp op(*this);
  op.Put(value, op.call().mutable_value()->mutable_set()->mutable_value());
  op.RunRaw();
}

Object ValueProxyBase::fetch_add_object(const Object& delta) const {
  ProxyOp op(*this);
  op.Put(delta,
         op.call().mutable_value()->mutable_fetch_add()->mutable_delta());
  return op.Run();
}

std::pair<bool, Object> ValueProxyBase::compare_exchange_object(
    const Object& expected, const Object& desired) const {
  ProxyOp op(*this);
  auto* cx = op.call().mutable_value()->mutable_compare_exchange();
  op.Put(expected, cx->mutable_expected());
  op.Put(desired, cx->mutable_desired());
  Object result = op.Run();
  return {result.as_list()[0].as_bool(), result.as_list()[1]};
}

char ValueProxyBase::typecode() const {
  return internal::CachedTypecode(
      *this, [](v1::Call& call) { call.mutable_value()->mutable_typecode(); });
}

void FromObjectValueProxy(const Object& object, ValueProxyBase& proxy) {
  proxy = ValueProxyBase(internal::HandleOf(object, v1::VALUE));
}

}  // namespace mp
