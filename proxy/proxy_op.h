// Building and running one typed operation on a proxy's object.
#ifndef MP_PROXY_PROXY_OP_H_
#define MP_PROXY_PROXY_OP_H_

#include <memory>
#include <optional>

#include "mp/proxy.h"
#include "proxy/connection.h"
#include "proxy/proxy_handle.h"

namespace mp {

// Friend of the proxies: reaches their handles and the pieces of
// PendingReply / ProxyIterator.
class BaseProxyAccess {
 public:
  static const internal::ProxyHandle& Handle(const BaseProxy& p) {
    return p.handle();
  }
  static const std::shared_ptr<const internal::ProxyHandle>& SharedHandle(
      const BaseProxy& p) {
    return p.handle_;
  }
  static PendingReply MakePending(
      std::shared_ptr<const internal::ProxyHandle> handle,
      std::shared_ptr<internal::PendingCall> pending) {
    PendingReply r;
    r.handle_ = std::move(handle);
    r.pending_ = std::move(pending);
    return r;
  }
  static ProxyIterator MakeIterator(const Object& iterator_proxy,
                                    uint32_t batch);
};

namespace internal {

// One call on one object: encodes arguments and decodes the result with the
// connection this process uses for the object.
class ProxyOp {
 public:
  explicit ProxyOp(const BaseProxy& proxy)
      : handle_(BaseProxyAccess::Handle(proxy)), conn_(handle_.conn()) {}

  v1::Call& call() { return call_; }
  void Put(const Object& value, v1::Value* out) { conn_.Encode(value, out); }

  // Runs the call; the result decoded (None for a reply without a value).
  Object Run(absl::Duration timeout = Connection::kDefaultTimeout) {
    v1::Reply reply = RunRaw(timeout);
    return reply.has_value() ? conn_.Decode(reply.value()) : Object();
  }
  v1::Reply RunRaw(absl::Duration timeout = Connection::kDefaultTimeout) {
    return handle_.Call(std::move(call_), timeout);
  }
  std::shared_ptr<PendingCall> RunAsync() {
    return handle_.CallAsync(std::move(call_));
  }
  // Sends without waiting for (or getting) a reply.
  void RunNoReply() {
    call_.set_object_id(handle_.id());
    conn_.Send(std::move(call_));
  }

  Connection& conn() { return conn_; }
  uint64_t id() const { return handle_.id(); }

 private:
  const ProxyHandle& handle_;
  Connection& conn_;
  v1::Call call_;
};

// Fills an Inplace message: the operator (InplaceOp's values are the
// proto's) and the operand.
inline void SetInplace(ProxyOp& op, InplaceOp how, const Object& operand,
                       v1::Inplace* out) {
  static_assert(static_cast<int>(InplaceOp::kAdd) == v1::Inplace::ADD &&
                static_cast<int>(InplaceOp::kFloorDiv) ==
                    v1::Inplace::FLOOR_DIV &&
                static_cast<int>(InplaceOp::kRShift) == v1::Inplace::RSHIFT);
  out->set_op(static_cast<v1::Inplace::Operator>(how));
  op.Put(operand, out->mutable_operand());
}

// The Value/Array typecode of `proxy`, asked of the server once per handle
// (`select` picks the type's TypeCode op in the call).
template <class Select>
char CachedTypecode(const BaseProxy& proxy, Select select) {
  const ProxyHandle& h = BaseProxyAccess::Handle(proxy);
  char cached = h.typecode.load(std::memory_order_relaxed);
  if (cached != 0) return cached;
  ProxyOp op(proxy);
  select(op.call());
  char code = op.Run().as_str()[0];
  h.typecode.store(code, std::memory_order_relaxed);
  return code;
}

}  // namespace internal
}  // namespace mp

#endif  // MP_PROXY_PROXY_OP_H_
