#include "mp/array_proxy.h"

#include "common/typecode.h"
#include "mp/errors.h"
#include "proxy/proxy_op.h"

namespace mp {

using internal::ProxyOp;

size_t ArrayProxyBase::size() const {
  ProxyOp op(*this);
  op.call().mutable_array()->mutable_len();
  return static_cast<size_t>(op.Run().as_int());
}

Object ArrayProxyBase::get_object(int64_t index) const {
  ProxyOp op(*this);
  op.call().mutable_array()->mutable_getitem()->set_index(index);
  return op.Run();
}

void ArrayProxyBase::set_object(int64_t index, const Object& value) const {
  ProxyOp op(*this);
  auto* set = op.call().mutable_array()->mutable_setitem();
  set->set_index(index);
  op.Put(value, set->mutable_value());
  op.RunRaw();
}

Object ArrayProxyBase::inplace(int64_t index, InplaceOp how,
                               const Object& operand) const {
  ProxyOp op(*this);
  auto* item = op.call().mutable_array()->mutable_inplace();
  item->set_index(index);
  internal::SetInplace(op, how, operand, item->mutable_inplace());
  return op.Run();
}

std::string ArrayProxyBase::read_packed(std::optional<int64_t> start,
                                        std::optional<int64_t> stop) const {
  ProxyOp op(*this);
  auto* read = op.call().mutable_array()->mutable_read();
  if (start) read->mutable_start()->set_value(*start);
  if (stop) read->mutable_stop()->set_value(*stop);
  v1::Reply reply = op.RunRaw();
  if (!reply.has_array()) throw RuntimeError("Array read: malformed reply");
  return std::move(*reply.mutable_array()->mutable_data());
}

void ArrayProxyBase::write_packed(int64_t start, char typecode,
                                  std::string data) const {
  ProxyOp op(*this);
  auto* write = op.call().mutable_array()->mutable_write();
  write->set_start(start);
  write->mutable_data()->set_typecode(std::string(1, typecode));
  write->mutable_data()->set_data(std::move(data));
  op.RunRaw();
}

void ArrayProxyBase::write_objects(int64_t start,
                                   const std::vector<Object>& values) const {
  const internal::TypeCode& tc =
      internal::GetTypeCode(std::string(1, typecode()));
  std::string packed(values.size() * tc.size, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    internal::PackElement(tc, values[i], &packed[i * tc.size]);
  }
  write_packed(start, tc.code, std::move(packed));
}

std::vector<Object> ArrayProxyBase::read_objects(
    std::optional<int64_t> start, std::optional<int64_t> stop) const {
  const internal::TypeCode& tc =
      internal::GetTypeCode(std::string(1, typecode()));
  std::string packed = read_packed(start, stop);
  std::vector<Object> out;
  out.reserve(packed.size() / tc.size);
  for (size_t i = 0; i + tc.size <= packed.size(); i += tc.size) {
    out.push_back(internal::UnpackElement(tc, &packed[i]));
  }
  return out;
}

char ArrayProxyBase::typecode() const {
  return internal::CachedTypecode(
      *this, [](v1::Call& call) { call.mutable_array()->mutable_typecode(); });
}

void FromObjectArrayProxy(const Object& object, ArrayProxyBase& proxy) {
  proxy = ArrayProxyBase(internal::HandleOf(object, v1::ARRAY));
}

}  // namespace mp
