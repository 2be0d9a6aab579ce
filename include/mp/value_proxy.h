// ValueProxy<T>: one typed scalar held by a manager (multiprocessing's
// Value), with atomic fetch_add and compare_exchange.
//
// Thread safety: any number of threads and processes may use one Value at
// once; each call is atomic on the server (get, set, fetch_add and
// compare_exchange each take the object's lock once - a get followed by a
// set is two steps, use fetch_add or compare_exchange to update). Nothing
// blocks beyond one round trip (ConnectionError, TimeoutError).
#ifndef MP_VALUE_PROXY_H_
#define MP_VALUE_PROXY_H_

#include <cstdint>
#include <ostream>
#include <type_traits>
#include <utility>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

namespace internal {
// The array module's typecode for a C++ element type.
template <class T>
constexpr char TypeCodeFor() {
  if constexpr (std::is_same_v<T, char>)
    return 'c';
  else if constexpr (std::is_same_v<T, float>)
    return 'f';
  else if constexpr (std::is_same_v<T, double>)
    return 'd';
  else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    constexpr bool s = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1)
      return s ? 'b' : 'B';
    else if constexpr (sizeof(T) == 2)
      return s ? 'h' : 'H';
    else if constexpr (sizeof(T) == 4)
      return s ? 'i' : 'I';
    else
      return s ? 'q' : 'Q';
  } else {
    static_assert(sizeof(T) == 0,
                  "mp: Value/Array element types are the array module's: "
                  "(u)int8..64, float, double or char");
  }
}
}  // namespace internal

// The untyped operations; ValueProxy<T> converts.
class ValueProxyBase : public BaseProxy {
 public:
  Object get_object() const;
  void set_object(const Object& value) const;  // TypeError / ValueError (range)
  Object fetch_add_object(const Object& delta) const;  // returns the old value
  // (exchanged, value before the operation)
  std::pair<bool, Object> compare_exchange_object(const Object& expected,
                                                  const Object& desired) const;
  char typecode() const;

 public:
  using BaseProxy::BaseProxy;

 protected:
  ValueProxyBase() = default;
};

// T is an arithmetic type, or Object for a Value made from a typecode.
template <class T>
class ValueProxy : public ValueProxyBase {
 public:
  ValueProxy() = default;

  T get() const { return from_object<T>(get_object()); }
  void set(const T& value) const { set_object(to_object(value)); }
  // Atomically adds `delta`; returns the value before (like std::atomic).
  T fetch_add(const T& delta) const {
    return from_object<T>(fetch_add_object(to_object(delta)));
  }
  // Atomically replaces the value with `desired` if it equals `expected`.
  bool compare_exchange(const T& expected, const T& desired) const {
    return compare_exchange_object(to_object(expected), to_object(desired))
        .first;
  }

  friend std::ostream& operator<<(std::ostream& os, const ValueProxy& v) {
    return os << v.get_object();
  }

  using ValueProxyBase::ValueProxyBase;
};

template <class T>
Object to_object(const ValueProxy<T>& proxy) {
  return proxy.object();
}
void FromObjectValueProxy(const Object& object, ValueProxyBase& proxy);
template <class T>
void from_object(const Object& object, ValueProxy<T>& proxy) {
  FromObjectValueProxy(object, proxy);
}

}  // namespace mp

#endif  // MP_VALUE_PROXY_H_
