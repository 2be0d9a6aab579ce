// NamespaceProxy: attributes held by a manager (Python's Namespace).
//
// Thread safety: any number of threads and processes may use one Namespace
// at once; each call, including a compound assignment ns["x"] += 1, is
// atomic on the server. Nothing blocks beyond one round trip
// (ConnectionError, TimeoutError).
#ifndef MP_NAMESPACE_PROXY_H_
#define MP_NAMESPACE_PROXY_H_

#include <ostream>
#include <string>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

class NamespaceProxy : public BaseProxy {
 public:
  NamespaceProxy() = default;

  // ns["x"] reads ns.x (AttributeError when unset) or assigns it.
  ItemRef<NamespaceProxy, std::string> operator[](std::string name) const {
    return ItemRef<NamespaceProxy, std::string>(*this, std::move(name));
  }
  Object getitem(const std::string& name) const { return get(name); }
  Object get(const std::string& name) const;  // AttributeError when unset
  void set(const std::string& name, const Object& value) const;
  // ns.name op= operand, atomically (see ItemRef); the new value.
  Object inplace(const std::string& name, InplaceOp op,
                 const Object& operand) const;
  void erase(const std::string& name) const;  // AttributeError when unset
  bool contains(const std::string& name) const;
  Object copy() const;  // a dict of the attributes

  // Python's repr: "Namespace(a=1, b='x')", sorted, hiding names that
  // start with an underscore.
  std::string str() const;
  friend std::ostream& operator<<(std::ostream& os, const NamespaceProxy& ns) {
    return os << ns.str();
  }

  using BaseProxy::BaseProxy;
};

Object to_object(const NamespaceProxy& proxy);
void from_object(const Object& object, NamespaceProxy& proxy);

}  // namespace mp

#endif  // MP_NAMESPACE_PROXY_H_
