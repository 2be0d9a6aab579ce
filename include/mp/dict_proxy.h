// DictProxy: a dict held by a manager (Python's DictProxy).
#ifndef MP_DICT_PROXY_H_
#define MP_DICT_PROXY_H_

#include <initializer_list>
#include <ostream>
#include <utility>
#include <vector>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

// Every method is one round trip to the server (or none, for *_async) and
// may throw ConnectionError or TimeoutError besides what it documents.
class DictProxy : public BaseProxy {
 public:
  DictProxy() = default;

  // d[key]: read (KeyError when absent) or assign through.
  ItemRef<DictProxy, Object> operator[](Object key) const {
    return ItemRef<DictProxy, Object>(*this, std::move(key));
  }
  Object getitem(const Object& key) const;  // KeyError when absent
  Object get(const Object& key) const;      // None when absent
  Object get(const Object& key, const Object& dflt) const;
  void set(const Object& key, const Object& value) const;
  // d[key] op= operand, atomically (see ItemRef); the new value.
  Object inplace(const Object& key, InplaceOp op, const Object& operand) const;
  // Pipelined set: returns at once; the reply's get() reports errors.
  PendingReply set_async(const Object& key, const Object& value) const;
  void erase(const Object& key) const;  // del d[key]; KeyError when absent
  bool contains(const Object& key) const;
  size_t size() const;
  void clear() const;
  Object copy() const;  // a dict Object
  std::vector<Object> keys() const;
  std::vector<Object> values() const;
  std::vector<std::pair<Object, Object>> items() const;
  Object pop(const Object& key) const;  // KeyError when absent
  Object pop(const Object& key, const Object& dflt) const;
  std::pair<Object, Object> popitem() const;  // LIFO; KeyError when empty
  Object setdefault(const Object& key, const Object& dflt = Object()) const;
  void update(const Object& dict) const;
  void update(std::initializer_list<std::pair<Object, Object>> items) const;

  // Iterates over the keys, like `for k in d`. The server raises
  // RuntimeError if the dict changes size meanwhile.
  ProxyIterator begin() const;
  ProxyIterator end() const { return ProxyIterator(); }

  // str(d): the contents, e.g. {1: '1', '2': 2}.
  std::string str() const { return copy().repr(); }
  friend std::ostream& operator<<(std::ostream& os, const DictProxy& d) {
    return os << d.str();
  }

  using BaseProxy::BaseProxy;
};

Object to_object(const DictProxy& proxy);
void from_object(const Object& object, DictProxy& proxy);

}  // namespace mp

#endif  // MP_DICT_PROXY_H_
