// ArrayProxy<T>: a fixed-size typed array held by a manager
// (multiprocessing's Array). Bulk reads and writes travel as packed bytes in
// one message.
//
// Thread safety: any number of threads and processes may use one Array at
// once; each call (an element, a slice read, a bulk write, a compound
// assignment a[i] += x) is atomic on the server. Nothing blocks beyond one
// round trip (ConnectionError, TimeoutError).
#ifndef MP_ARRAY_PROXY_H_
#define MP_ARRAY_PROXY_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "mp/object.h"
#include "mp/proxy.h"
#include "mp/value_proxy.h"

namespace mp {

// The untyped operations; ArrayProxy<T> converts.
class ArrayProxyBase : public BaseProxy {
 public:
  size_t size() const;
  Object get_object(int64_t index) const;  // IndexError
  void set_object(int64_t index, const Object& value) const;
  // a[index] op= operand, atomically (see ItemRef): numeric typecodes only;
  // the result is stored as set_object would (ValueError out of range).
  // The new value.
  Object inplace(int64_t index, InplaceOp op, const Object& operand) const;
  // Elements [start, stop) (Python slice clamping) packed in the array's
  // typecode layout.
  std::string read_packed(std::optional<int64_t> start = std::nullopt,
                          std::optional<int64_t> stop = std::nullopt) const;
  // Overwrites elements from `start` with packed data of `typecode`.
  void write_packed(int64_t start, char typecode, std::string data) const;
  // Packs `values` in the array's typecode (TypeError/ValueError per
  // element) and writes them from `start`.
  void write_objects(int64_t start, const std::vector<Object>& values) const;
  std::vector<Object> read_objects(
      std::optional<int64_t> start = std::nullopt,
      std::optional<int64_t> stop = std::nullopt) const;
  char typecode() const;

 public:
  using BaseProxy::BaseProxy;

 protected:
  ArrayProxyBase() = default;
};

template <class T>
class ArrayProxy : public ArrayProxyBase {
 public:
  ArrayProxy() = default;

  T get(int64_t index) const { return from_object<T>(get_object(index)); }
  void set(int64_t index, const T& value) const {
    set_object(index, to_object(value));
  }
  ItemRef<ArrayProxy, int64_t> operator[](int64_t index) const {
    return ItemRef<ArrayProxy, int64_t>(*this, index);
  }
  Object getitem(int64_t index) const { return get_object(index); }
  void set(int64_t index, const Object& value) const
      requires(!std::is_same_v<T, Object>) {
    set_object(index, value);
  }

  std::vector<T> slice(std::optional<int64_t> start,
                       std::optional<int64_t> stop) const {
    if constexpr (std::is_arithmetic_v<T>) {
      if (typecode() == internal::TypeCodeFor<T>()) {
        std::string packed = read_packed(start, stop);
        std::vector<T> out(packed.size() / sizeof(T));
        std::memcpy(out.data(), packed.data(), out.size() * sizeof(T));
        return out;
      }
    }
    std::vector<T> out;
    for (const Object& o : read_objects(start, stop)) {
      out.push_back(from_object<T>(o));
    }
    return out;
  }
  std::vector<T> to_vector() const { return slice(std::nullopt, std::nullopt); }

  // a[start:start + values.size()] = values (the size never changes).
  void assign(int64_t start, const std::vector<T>& values) const {
    if constexpr (std::is_arithmetic_v<T>) {
      constexpr char code = internal::TypeCodeFor<T>();
      if (typecode() == code) {
        write_packed(start, code,
                     std::string(reinterpret_cast<const char*>(values.data()),
                                 values.size() * sizeof(T)));
        return;
      }
    }
    std::vector<Object> objects;
    objects.reserve(values.size());
    for (const T& v : values) objects.push_back(to_object(v));
    write_objects(start, objects);
  }

  friend std::ostream& operator<<(std::ostream& os, const ArrayProxy& a) {
    return os << Object::list(a.read_objects()).repr();
  }

  using ArrayProxyBase::ArrayProxyBase;
};

template <class T>
Object to_object(const ArrayProxy<T>& proxy) {
  return proxy.object();
}
void FromObjectArrayProxy(const Object& object, ArrayProxyBase& proxy);
template <class T>
void from_object(const Object& object, ArrayProxy<T>& proxy) {
  FromObjectArrayProxy(object, proxy);
}

}  // namespace mp

#endif  // MP_ARRAY_PROXY_H_
