// What every proxy shares: a cheap-to-copy handle on one reference to one
// server object.
//
// Thread safety: proxies are safe to use from any number of threads at
// once; copies share the reference, and the last copy to go releases it.
// Proxies may be passed to forked children, which attach to the object
// through their own session on first use.
#ifndef MP_PROXY_H_
#define MP_PROXY_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

#include "mp/object.h"

namespace mp {

namespace internal {
class ProxyHandle;
struct PendingCall;
// The kinds of server objects; the values match mp.v1.ObjectType.
enum class Kind : int {
  kDict = 1,
  kList = 2,
  kNamespace = 3,
  kValue = 4,
  kArray = 5,
  kIterator = 6,
  kLock = 7,
  kRLock = 8,
  kSemaphore = 9,
  kBoundedSemaphore = 10,
  kCondition = 11,
  kEvent = 12,
  kBarrier = 13,
  kQueue = 14,
  kJoinableQueue = 15,
  kCustom = 16,  // a registered custom type (mp/register.h)
};
// The handle inside `object`, checked to be a proxy of `kind`
// (mp::TypeError otherwise).
std::shared_ptr<const ProxyHandle> HandleOfKind(const Object& object,
                                                Kind kind);
}  // namespace internal

// How long a blocking call may wait; std::nullopt waits as long as it
// takes. Any std::chrono duration converts: std::chrono::milliseconds(50).
using Timeout = std::optional<std::chrono::duration<double>>;

class BaseProxy;
namespace internal {
// A custom method's argument as an Object: proxies as references.
template <class A>
Object CustomArgObject(const A& arg) {
  if constexpr (std::is_base_of_v<BaseProxy, A>) {
    return arg.object();
  } else {
    return to_object(arg);
  }
}
}  // namespace internal

class BaseProxy {
 public:
  // False for a default-constructed proxy, which refers to nothing.
  bool valid() const { return handle_ != nullptr; }
  explicit operator bool() const { return valid(); }
  // The server's id for the object.
  uint64_t id() const;
  // "<DictProxy object, typeid 'dict' at 0x...>", like Python's repr().
  std::string repr() const;
  // A proxy Object referring to the same server object, for storing in
  // containers.
  Object object() const;
  // Proxies convert implicitly to Object, so they can be stored in dicts
  // and lists directly: d["inner"] = other_dict.
  operator Object() const { return object(); }

  friend bool operator==(const BaseProxy& a, const BaseProxy& b) {
    return a.handle_ == b.handle_ ||
           (a.valid() && b.valid() && a.id() == b.id());
  }

  // For mp's own use: proxies are made by Manager and by reading them back
  // from containers.
  explicit BaseProxy(std::shared_ptr<const internal::ProxyHandle> handle)
      : handle_(std::move(handle)) {}

 protected:
  BaseProxy() = default;
  // Throws mp::ValueError for an empty proxy.
  const internal::ProxyHandle& handle() const;

  // Calls registered method `method` of a custom object (mp/register.h)
  // and converts its result to R (void: discarded; mp::Object: as is; a
  // class derived from BaseProxy: a proxy to the object it returned).
  // Blocks until the method has run (however long it takes). Throws what
  // the method threw (an mp::Error subtype, or RemoteError naming the C++
  // type), AttributeError for a method the type does not register,
  // TypeError for wrong arguments, TimeoutError. Typed proxies derived from
  // BaseProxy call it from their own methods; mp::Proxy makes it public.
  template <class R = Object, class... Args>
  R call(const std::string& method, const Args&... args) const {
    return ConvertResult<R>(
        CallMethod(method, {internal::CustomArgObject(args)...}, std::nullopt));
  }
  // Like call, but fails with TimeoutError after `timeout`; the server then
  // drops the method's result (and does not run it if it had not started).
  template <class R = Object, class... Args>
  R call_with_timeout(Timeout timeout, const std::string& method,
                      const Args&... args) const {
    return ConvertResult<R>(
        CallMethod(method, {internal::CustomArgObject(args)...}, timeout));
  }
  Object CallMethod(const std::string& method, Object::List args,
                    Timeout timeout) const;
  template <class R>
  static R ConvertResult(const Object& result) {
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_base_of_v<BaseProxy, R>) {
      return R(internal::HandleOfKind(result, internal::Kind::kCustom));
    } else {
      return from_object<R>(result);
    }
  }

  std::shared_ptr<const internal::ProxyHandle> handle_;

 private:
  friend class BaseProxyAccess;
};

// `proxy[key]`: reads the item when converted, assigns it when assigned to.
template <class Proxy, class Key>
class ItemRef {
 public:
  ItemRef(const Proxy& proxy, Key key) : proxy_(proxy), key_(std::move(key)) {}

  Object get() const { return proxy_.getitem(key_); }
  operator Object() const { return get(); }
  template <class T>
  T as() const {
    return from_object<T>(get());
  }
  std::string repr() const { return get().repr(); }

  const ItemRef& operator=(const Object& value) const {
    proxy_.set(key_, value);
    return *this;
  }
  const ItemRef& operator=(const ItemRef& other) const {
    return *this = other.get();
  }

  friend bool operator==(const ItemRef& a, const Object& b) {
    return a.get() == b;
  }
  friend std::ostream& operator<<(std::ostream& os, const ItemRef& r) {
    return os << r.get();
  }

 private:
  Proxy proxy_;  // a copy: cheap, and safe if the original goes away
  Key key_;
};

// A reply still on its way (from the *_async methods). get() waits for it
// and throws what the synchronous call would have thrown.
class PendingReply {
 public:
  PendingReply() = default;
  // Blocks until the reply arrives (or the default deadline passes).
  Object get() const;

 private:
  friend class BaseProxyAccess;
  std::shared_ptr<const internal::ProxyHandle> handle_;
  std::shared_ptr<internal::PendingCall> pending_;
};

// Input iterator over a live server-side iterator (dict keys, list items).
// Items are fetched in batches; like Python's iterators it sees changes made
// after it was created, up to the batch already fetched.
class ProxyIterator {
 public:
  using value_type = Object;
  using difference_type = std::ptrdiff_t;
  using reference = const Object&;
  using pointer = const Object*;
  using iterator_category = std::input_iterator_tag;

  ProxyIterator() = default;  // the end
  const Object& operator*() const { return buffer_->front(); }
  const Object* operator->() const { return &buffer_->front(); }
  ProxyIterator& operator++();
  void operator++(int) { ++*this; }
  friend bool operator==(const ProxyIterator& a, const ProxyIterator& b) {
    return a.at_end() == b.at_end();
  }

 private:
  friend class BaseProxyAccess;
  bool at_end() const { return buffer_ == nullptr || buffer_->empty(); }
  void Fill();
  std::shared_ptr<const internal::ProxyHandle> iterator_;
  std::shared_ptr<std::deque<Object>> buffer_;
  bool exhausted_ = false;
  uint32_t batch_ = 64;
};

}  // namespace mp

#endif  // MP_PROXY_H_
