#include "mp/queue_proxy.h"

#include <algorithm>

#include "proxy/proxy_op.h"
#include "proxy/timeouts.h"

namespace mp {

using internal::ProxyOp;

void QueueProxy::put(const Object& value, bool block, Timeout timeout) const {
  ProxyOp op(*this);
  auto* put = op.call().mutable_queue()->mutable_put();
  op.Put(value, put->mutable_value());
  put->set_block(block);
  internal::SetTimeout(timeout, put);
  op.RunRaw(internal::ClientWait(timeout));
}

Object QueueProxy::get(bool block, Timeout timeout) const {
  ProxyOp op(*this);
  auto* get = op.call().mutable_queue()->mutable_get();
  get->set_block(block);
  internal::SetTimeout(timeout, get);
  return op.Run(internal::ClientWait(timeout));
}

void QueueProxy::put_many(const std::vector<Object>& values, bool block,
                          Timeout timeout) const {
  ProxyOp op(*this);
  auto* put = op.call().mutable_queue()->mutable_put_many();
  for (const Object& v : values) op.Put(v, put->mutable_values()->add_items());
  put->set_block(block);
  internal::SetTimeout(timeout, put);
  op.RunRaw(internal::ClientWait(timeout));
}

std::vector<Object> QueueProxy::get_many(size_t max_items, bool block,
                                         Timeout timeout) const {
  ProxyOp op(*this);
  auto* get = op.call().mutable_queue()->mutable_get_many();
  get->set_max_items(
      static_cast<uint32_t>(std::min<size_t>(max_items, 1u << 30)));
  get->set_block(block);
  internal::SetTimeout(timeout, get);
  return op.Run(internal::ClientWait(timeout)).as_list();
}

int64_t QueueProxy::qsize() const {
  ProxyOp op(*this);
  op.call().mutable_queue()->mutable_qsize();
  return op.Run().as_int();
}

bool QueueProxy::empty() const {
  ProxyOp op(*this);
  op.call().mutable_queue()->mutable_empty();
  return op.Run().as_bool();
}

bool QueueProxy::full() const {
  ProxyOp op(*this);
  op.call().mutable_queue()->mutable_full();
  return op.Run().as_bool();
}

namespace {
int64_t Waiters(const QueueProxy& q, const char* which) {
  ProxyOp op(q);
  op.call().mutable_queue()->mutable_waiters();
  return op.Run().as_dict().find(which)->as_int();
}
}  // namespace

int64_t QueueProxy::waiting_getters() const {
  return Waiters(*this, "getters");
}
int64_t QueueProxy::waiting_putters() const {
  return Waiters(*this, "putters");
}

void JoinableQueueProxy::task_done() const {
  ProxyOp op(*this);
  op.call().mutable_queue()->mutable_task_done();
  op.RunRaw();
}

bool JoinableQueueProxy::join(Timeout timeout) const {
  ProxyOp op(*this);
  internal::SetTimeout(timeout, op.call().mutable_queue()->mutable_join());
  return op.Run(internal::ClientWait(timeout)).as_bool();
}

Object to_object(const QueueProxy& proxy) { return proxy.object(); }
void from_object(const Object& object, QueueProxy& proxy) {
  proxy = QueueProxy(internal::HandleOfKind(object, internal::Kind::kQueue));
}
Object to_object(const JoinableQueueProxy& proxy) { return proxy.object(); }
void from_object(const Object& object, JoinableQueueProxy& proxy) {
  proxy = JoinableQueueProxy(
      internal::HandleOfKind(object, internal::Kind::kJoinableQueue));
}

}  // namespace mp
