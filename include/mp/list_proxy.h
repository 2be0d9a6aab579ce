// ListProxy: a list held by a manager (Python's ListProxy).
#ifndef MP_LIST_PROXY_H_
#define MP_LIST_PROXY_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <vector>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

// Indices may be negative, as in Python. Every method is one round trip
// and may throw ConnectionError or TimeoutError besides what it documents.
class ListProxy : public BaseProxy {
 public:
  ListProxy() = default;

  ItemRef<ListProxy, int64_t> operator[](int64_t index) const {
    return ItemRef<ListProxy, int64_t>(*this, index);
  }
  Object getitem(int64_t index) const;                 // IndexError
  void set(int64_t index, const Object& value) const;  // IndexError
  // l[index] op= operand, atomically (see ItemRef); the new value.
  Object inplace(int64_t index, InplaceOp op, const Object& operand) const;
  void erase(int64_t index) const;                     // del l[i]
  void append(const Object& value) const;
  void extend(const Object& values) const;  // a list or tuple
  void insert(int64_t index, const Object& value) const;
  Object pop() const;  // IndexError when empty
  Object pop(int64_t index) const;
  void remove(const Object& value) const;    // ValueError when absent
  int64_t index(const Object& value) const;  // ValueError when absent
  int64_t count(const Object& value) const;
  void reverse() const;
  void sort(bool reverse = false) const;  // TypeError for unorderable items
  void clear() const;
  bool contains(const Object& value) const;
  size_t size() const;
  Object copy() const;  // a list Object

  // l[start:stop:step] as a list Object; absent bounds are Python's None.
  Object slice(std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step = std::nullopt) const;
  // l[start:stop] = values
  void set_slice(std::optional<int64_t> start, std::optional<int64_t> stop,
                 const Object& values) const;
  // del l[start:stop]
  void erase_slice(std::optional<int64_t> start,
                   std::optional<int64_t> stop) const;

  const ListProxy& operator+=(const Object& values) const {
    extend(values);
    return *this;
  }
  const ListProxy& operator*=(int64_t times) const;
  // l + values: a new list Object (the proxy is unchanged).
  Object operator+(const Object& values) const;

  ProxyIterator begin() const;
  ProxyIterator end() const { return ProxyIterator(); }

  std::string str() const { return copy().repr(); }
  friend std::ostream& operator<<(std::ostream& os, const ListProxy& l) {
    return os << l.str();
  }

  using BaseProxy::BaseProxy;
};

Object to_object(const ListProxy& proxy);
void from_object(const Object& object, ListProxy& proxy);

}  // namespace mp

#endif  // MP_LIST_PROXY_H_
