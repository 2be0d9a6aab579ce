#include "mp/sync_proxy.h"

#include <atomic>
#include <cmath>

#include "mp/errors.h"
#include "proxy/proxy_op.h"
#include "proxy/timeouts.h"

namespace mp {

using internal::ProxyOp;

namespace internal {

uint64_t ThreadToken() {
  static std::atomic<uint64_t> next{1};
  thread_local uint64_t token = next.fetch_add(1);
  return token;
}

}  // namespace internal

namespace {

void FillAcquire(bool blocking, const Timeout& timeout,
                 v1::AcquirerOp::Acquire* a) {
  a->set_blocking(blocking);
  a->set_owner(internal::ThreadToken());
  internal::SetTimeout(timeout, a);
}

AcquireResult ToAcquireResult(const Object& result) {
  const auto& t = result.as_list();
  return AcquireResult{
      t[0].as_bool(), t[1].as_bool(),
      t.size() > 2 ? static_cast<uint64_t>(t[2].as_int()) : uint64_t{0}};
}

}  // namespace

AcquireResult AcquirerProxy::acquire_ex(bool blocking, Timeout timeout) const {
  ProxyOp op(*this);
  FillAcquire(blocking, timeout,
              op.call().mutable_acquirer()->mutable_acquire());
  AcquireResult result = ToAcquireResult(op.Run(internal::ClientWait(timeout)));
  if (result.acquired) op.conn().NoteAcquired(op.id(), internal::ThreadToken());
  return result;
}

void AcquirerProxy::release() const {
  ProxyOp op(*this);
  const uint64_t thread = internal::ThreadToken();
  op.call().mutable_acquirer()->mutable_release()->set_owner(thread);
  // Releasing a permit this thread is known to hold cannot fail, so it need
  // not wait for the reply: the release still reaches the server before
  // anything this process sends later, and a lock pair costs one round
  // trip instead of two. Otherwise (another thread's or process's permit)
  // wait, so errors surface here.
  if (op.conn().TakeAcquired(op.id(), thread)) {
    op.RunNoReply();
  } else {
    op.RunRaw();
  }
}

int64_t AcquirerProxy::n_waiting() const {
  ProxyOp op(*this);
  op.call().mutable_acquirer()->mutable_state();
  return op.Run().as_dict().find("waiters")->as_int();
}

bool ConditionProxy::acquire(bool blocking, Timeout timeout) const {
  ProxyOp op(*this);
  FillAcquire(blocking, timeout,
              op.call().mutable_condition()->mutable_acquire());
  return ToAcquireResult(op.Run(internal::ClientWait(timeout))).acquired;
}

void ConditionProxy::release() const {
  ProxyOp op(*this);
  op.call().mutable_condition()->mutable_release()->set_owner(
      internal::ThreadToken());
  op.RunRaw();
}

bool ConditionProxy::wait(Timeout timeout) const {
  ProxyOp op(*this);
  auto* w = op.call().mutable_condition()->mutable_wait();
  w->set_owner(internal::ThreadToken());
  internal::SetTimeout(timeout, w);
  // Waiting for a notify and then for the lock: no client deadline beyond
  // the server's own (the lock may legitimately be held for long).
  return op.Run(absl::InfiniteDuration()).as_bool();
}

bool ConditionProxy::wait_for(const std::function<bool()>& predicate,
                              Timeout timeout) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  bool result = predicate();
  while (!result) {
    Timeout remaining;
    if (timeout) {
      remaining = *timeout - (Clock::now() - start);
      if (remaining->count() <= 0) break;
    }
    wait(remaining);
    result = predicate();
  }
  return result;
}

void ConditionProxy::notify(int64_t n) const {
  ProxyOp op(*this);
  op.call().mutable_condition()->mutable_notify()->set_n(n);
  op.RunRaw();
}

void ConditionProxy::notify_all() const {
  ProxyOp op(*this);
  op.call().mutable_condition()->mutable_notify_all();
  op.RunRaw();
}

bool EventProxy::is_set() const {
  ProxyOp op(*this);
  op.call().mutable_event()->mutable_is_set();
  return op.Run().as_bool();
}

void EventProxy::set() const {
  ProxyOp op(*this);
  op.call().mutable_event()->mutable_set();
  op.RunRaw();
}

void EventProxy::clear() const {
  ProxyOp op(*this);
  op.call().mutable_event()->mutable_clear();
  op.RunRaw();
}

bool EventProxy::wait(Timeout timeout) const {
  ProxyOp op(*this);
  internal::SetTimeout(timeout, op.call().mutable_event()->mutable_wait());
  return op.Run(internal::ClientWait(timeout)).as_bool();
}

int64_t EventProxy::n_waiting() const {
  ProxyOp op(*this);
  op.call().mutable_event()->mutable_waiters();
  return op.Run().as_int();
}

int64_t BarrierProxy::wait(Timeout timeout) const {
  ProxyOp op(*this);
  internal::SetTimeout(timeout, op.call().mutable_barrier()->mutable_wait());
  // The barrier's default timeout is unknown here: no client deadline
  // without an explicit one.
  return op.Run(internal::ClientWait(timeout)).as_int();
}

void BarrierProxy::abort() const {
  ProxyOp op(*this);
  op.call().mutable_barrier()->mutable_abort();
  op.RunRaw();
}

void BarrierProxy::reset() const {
  ProxyOp op(*this);
  op.call().mutable_barrier()->mutable_reset();
  op.RunRaw();
}

int64_t BarrierProxy::parties() const {
  ProxyOp op(*this);
  op.call().mutable_barrier()->mutable_parties();
  return op.Run().as_int();
}

int64_t BarrierProxy::n_waiting() const {
  ProxyOp op(*this);
  op.call().mutable_barrier()->mutable_n_waiting();
  return op.Run().as_int();
}

bool BarrierProxy::broken() const {
  ProxyOp op(*this);
  op.call().mutable_barrier()->mutable_broken();
  return op.Run().as_bool();
}

#define MP_PROXY_CONVERSIONS_IMPL_(Proxy, kind)                          \
  Object to_object(const Proxy& proxy) { return proxy.object(); }        \
  void from_object(const Object& object, Proxy& proxy) {                 \
    proxy = Proxy(internal::HandleOfKind(object, internal::Kind::kind)); \
  }
MP_PROXY_CONVERSIONS_IMPL_(LockProxy, kLock)
MP_PROXY_CONVERSIONS_IMPL_(RLockProxy, kRLock)
MP_PROXY_CONVERSIONS_IMPL_(SemaphoreProxy, kSemaphore)
MP_PROXY_CONVERSIONS_IMPL_(BoundedSemaphoreProxy, kBoundedSemaphore)
MP_PROXY_CONVERSIONS_IMPL_(ConditionProxy, kCondition)
MP_PROXY_CONVERSIONS_IMPL_(EventProxy, kEvent)
MP_PROXY_CONVERSIONS_IMPL_(BarrierProxy, kBarrier)

}  // namespace mp
