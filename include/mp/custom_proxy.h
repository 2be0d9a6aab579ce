// Copyright 2026 The mp Authors.
//
// Proxies of custom objects (mp/register.h): mp::Proxy, which calls any
// registered method by name, and typed proxies - classes derived from
// mp::BaseProxy that inherit its constructors and wrap its protected
// call<R>():
//
//   class MathsProxy : public mp::BaseProxy {
//    public:
//     using mp::BaseProxy::BaseProxy;
//     int64_t add(int64_t x, int64_t y) const { return call<int64_t>("add", x,
//     y); }
//   };
//   MathsProxy maths = m.create<MathsProxy>("Maths");
//
// Thread safety and copying as for every proxy (mp/proxy.h). A typed proxy
// converts like any proxy: stored in dicts and lists, passed to Process and
// Pool, and read back with obj.as<MathsProxy>().
#ifndef MP_CUSTOM_PROXY_H_
#define MP_CUSTOM_PROXY_H_

#include <memory>
#include <string>
#include <type_traits>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

// Python's BaseProxy with _callmethod: call<R>(method, args...) is public.
class Proxy : public BaseProxy {
 public:
  using BaseProxy::BaseProxy;
  Proxy() = default;  // refers to nothing
  using BaseProxy::call;
  using BaseProxy::call_with_timeout;
};

// A typed proxy as an Object (a reference), so that it converts like any
// proxy: a Process/Pool argument, an element of a container. The built-in
// proxies' own overloads win for them.
template <class P>
requires std::is_base_of_v<BaseProxy, P> Object to_object(const P& proxy) {
  return proxy.object();
}

// Reads a custom object's proxy back from an Object (obj.as<MathsProxy>()):
// TypeError unless `object` is a proxy of a custom object. For any class
// derived from BaseProxy (the built-in proxies have their own overloads,
// which win).
template <class P>
requires std::is_base_of_v<BaseProxy, P>
void from_object(const Object& object, P& proxy) {
  proxy = P(internal::HandleOfKind(object, internal::Kind::kCustom));
}

}  // namespace mp

#endif  // MP_CUSTOM_PROXY_H_
