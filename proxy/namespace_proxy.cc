#include "mp/namespace_proxy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/proxy_op.h"

namespace mp {

using internal::ProxyOp;

Object NamespaceProxy::get(const std::string& name) const {
  ProxyOp op(*this);
  op.call().mutable_namespace_()->mutable_getattr()->set_name(name);
  return op.Run();
}

void NamespaceProxy::set(const std::string& name, const Object& value) const {
  ProxyOp op(*this);
  auto* set = op.call().mutable_namespace_()->mutable_setattr();
  set->set_name(name);
  op.Put(value, set->mutable_value());
  op.RunRaw();
}

Object NamespaceProxy::inplace(const std::string& name, InplaceOp how,
                               const Object& operand) const {
  ProxyOp op(*this);
  auto* attr = op.call().mutable_namespace_()->mutable_inplace();
  attr->set_name(name);
  internal::SetInplace(op, how, operand, attr->mutable_inplace());
  return op.Run();
}

void NamespaceProxy::erase(const std::string& name) const {
  ProxyOp op(*this);
  op.call().mutable_namespace_()->mutable_delattr()->set_name(name);
  op.RunRaw();
}

bool NamespaceProxy::contains(const std::string& name) const {
  ProxyOp op(*this);
  op.call().mutable_namespace_()->mutable_hasattr()->set_name(name);
  return op.Run().as_bool();
}

Object NamespaceProxy::copy() const {
  ProxyOp op(*this);
  op.call().mutable_namespace_()->mutable_copy();
  return op.Run();
}

std::string NamespaceProxy::str() const {
  std::vector<std::string> parts;
  const Object attrs = copy();  // outlives the loop (C++20 range-for)
  for (const auto& [name, value] : attrs.as_dict()) {
    const std::string& n = name.as_str();
    if (!n.empty() && n[0] == '_') continue;
    parts.push_back(n + "=" + value.repr());
  }
  std::sort(parts.begin(), parts.end());
  std::string out = "Namespace(";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ", ";
    out += parts[i];
  }
  return out + ")";
}

Object to_object(const NamespaceProxy& proxy) { return proxy.object(); }

void from_object(const Object& object, NamespaceProxy& proxy) {
  proxy = NamespaceProxy(internal::HandleOf(object, v1::NAMESPACE));
}

}  // namespace mp
