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

#include "mp/detail/proxy_kind.h"
#include "mp/object.h"

namespace mp {

namespace internal {
class ProxyHandle;
struct PendingCall;
}  // namespace internal

// How long a blocking call may wait; std::nullopt waits as long as it
// takes. Any std::chrono duration converts: std::chrono::milliseconds(50).
// Wherever Python's signature lets the timeout be given alone, so can it
// here: q.get(10s), q.put(x, 10s), lock.acquire(10s), ev.wait(10s),
// jq.join(10s) (each blocks, as Python's does with timeout=10).
//
// Deadlines on the round trip itself (TimeoutError when they pass):
// - a call that does not block on the server (d[k], l.append(x), ...):
//   5 minutes, the default deadline, so an unresponsive server cannot
//   hang its caller;
// - a blocking call with a timeout: the timeout plus 30 s for the trip
//   (the server answers at the timeout itself);
// - a blocking call without one (q.get()): none; a dead server or
//   connection still ends it with ConnectionError (keepalive).
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

  // Internal to mp: proxies are made by Manager and by reading them back
  // from containers (internal::ProxyHandle is not part of the API).
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

// The operators of Python's augmented assignment, for ItemRef's compound
// assignments and the proxies' inplace(). The values match
// mp.v1.Inplace.Operator.
enum class InplaceOp : int {
  kAdd = 1,       // +=
  kSub = 2,       // -=
  kMul = 3,       // *=
  kTrueDiv = 4,   // /=  Python's /: int / int is a float
  kFloorDiv = 5,  // Python's //= (no C++ operator: ItemRef::floordiv_assign)
  kMod = 6,       // %=  the sign follows the divisor, as in Python
  kAnd = 7,       // &=
  kOr = 8,        // |=
  kXor = 9,       // ^=
  kLShift = 10,   // <<=
  kRShift = 11,   // >>=
};

// `proxy[key]`: reads the item when converted, assigns it when assigned to.
// Lazy: creating one sends nothing, so an ItemRef that is neither read nor
// assigned (`d["missing"];` as a statement) is a mistake the compiler
// reports ([[nodiscard]]); Python would have raised KeyError there.
//
// Compound assignment (`d[k] += 1`, `-=`, `*=`, `/=`, `%=`, `&=`, `|=`,
// `^=`, `<<=`, `>>=`) is one operation on the server, applied under the
// object's lock: concurrent `d[k] += 1` from any number of processes never
// loses an update (Python's proxies read and write back in two steps and
// do: cpython #137233). The operators follow Python's rules for the stored
// value, not C++'s: `/=` is true division (an int becomes a float), `%=`
// takes the divisor's sign, str/bytes/list/tuple `+=` concatenates and
// `*=` repeats. Each returns the item's new value, like std::atomic's
// operators. The item must exist (KeyError, IndexError, AttributeError);
// TypeError for operand types Python refuses, ZeroDivisionError for
// division or modulo by zero, ValueError for an int result outside int64.
template <class Proxy, class Key>
class [[nodiscard(
    "d[key] alone reads nothing: use the value, assign to it, or call "
    "getitem(key) to check that it exists")]] ItemRef {
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

  // `item op= operand` as one server-side step; the new value.
  Object inplace(InplaceOp op, const Object& operand) const {
    return proxy_.inplace(key_, op, operand);
  }
  Object operator+=(const Object& v) const {
    return inplace(InplaceOp::kAdd, v);
  }
  Object operator-=(const Object& v) const {
    return inplace(InplaceOp::kSub, v);
  }
  Object operator*=(const Object& v) const {
    return inplace(InplaceOp::kMul, v);
  }
  Object operator/=(const Object& v) const {
    return inplace(InplaceOp::kTrueDiv, v);
  }
  Object floordiv_assign(const Object& v) const {  // Python's //=
    return inplace(InplaceOp::kFloorDiv, v);
  }
  Object operator%=(const Object& v) const {
    return inplace(InplaceOp::kMod, v);
  }
  Object operator&=(const Object& v) const {
    return inplace(InplaceOp::kAnd, v);
  }
  Object operator|=(const Object& v) const {
    return inplace(InplaceOp::kOr, v);
  }
  Object operator^=(const Object& v) const {
    return inplace(InplaceOp::kXor, v);
  }
  Object operator<<=(const Object& v) const {
    return inplace(InplaceOp::kLShift, v);
  }
  Object operator>>=(const Object& v) const {
    return inplace(InplaceOp::kRShift, v);
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
