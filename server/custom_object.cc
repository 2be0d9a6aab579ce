#include "server/custom_object.h"

#include <cxxabi.h>

#include <cstdlib>
#include <string>
#include <typeinfo>
#include <utility>

#include "common/custom_registry.h"
#include "mp/errors.h"
#include "server/object_store.h"

namespace mp::server {
namespace {

std::string Demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (readable == nullptr) return name;
  std::string out = readable;
  std::free(readable);
  return out;
}

// An exception a user's method or constructor threw, as what the caller
// gets: an mp::Error keeps its type; any other std::exception travels under
// its C++ type's name ("std::out_of_range"), which the client raises as
// RemoteError naming it.
Error UserError(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    return Error(Demangle(typeid(e).name()), e.what());
  } catch (...) {
    return Error("RuntimeError",
                 "a custom method threw something that is not a "
                 "std::exception");
  }
}

std::string Registered() {
  std::string names;
  for (const std::string& n : internal::CustomTypeNames()) {
    names += names.empty() ? "" : ", ";
    names += n;
  }
  return names.empty() ? "none" : names;
}

}  // namespace

CustomObject::CustomObject(uint64_t id, ObjectStore* store, TimerQueue* timers,
                           CustomExecutor* executor,
                           std::shared_ptr<const internal::CustomTypeInfo> type,
                           std::shared_ptr<void> instance)
    : ServerObject(v1::CUSTOM, id, store),
      store_(store),
      timers_(timers),
      executor_(executor),
      type_(std::move(type)),
      instance_(std::move(instance)),
      waiters_(timers) {}

CustomObject::Construct CustomObject::Prepare(const v1::Create& create,
                                              const OpContext& ctx,
                                              ObjectStore* store,
                                              TimerQueue* timers,
                                              CustomExecutor* executor) {
  std::shared_ptr<const internal::CustomTypeInfo> type =
      internal::FindCustomType(create.type_name());
  if (type == nullptr) {
    throw AttributeError("this server has no custom type " +
                         Object(create.type_name()).repr() +
                         " (registered: " + Registered() + ")");
  }
  const internal::CustomConstructor* ctor = nullptr;
  for (const auto& c : type->constructors) {
    if (c.arity == static_cast<size_t>(create.args_size())) ctor = &c;
  }
  if (ctor == nullptr) {
    std::string takes;
    for (const auto& c : type->constructors) {
      takes += takes.empty() ? "" : " or ";
      takes += std::to_string(c.arity);
    }
    throw TypeError(type->name + "() takes " +
                    (takes.empty() ? std::string("no registered constructor")
                                   : takes + " arguments") +
                    " (" + std::to_string(create.args_size()) + " given)");
  }
  Object::List args;
  for (const v1::Value& v : create.args()) args.push_back(ctx.Decode(v));
  return [=, args = std::move(args)]() -> ObjectMaker {
    std::shared_ptr<void> instance;
    try {
      instance = ctor->make(args);
    } catch (...) {
      throw UserError(std::current_exception());
    }
    return [=, instance = std::move(instance)](uint64_t id) {
      return std::make_shared<CustomObject>(id, store, timers, executor, type,
                                            instance);
    };
  };
}

void CustomObject::Apply(const v1::CustomOp& op, const OpContext& ctx,
                         v1::Reply* reply) {
  (void)reply;  // answered later, from the pool
  const internal::CustomMethod* method = type_->FindMethod(op.method());
  if (method == nullptr) {
    throw AttributeError("'" + type_->name + "' object has no attribute " +
                         Object(op.method()).repr() +
                         " (only registered methods can be called)");
  }
  if (method->arity != static_cast<size_t>(op.args_size())) {
    internal::ThrowCustomArity(type_->name + "." + method->name + "()",
                               method->arity, op.args_size());
  }
  Job job;
  job.method = method;
  for (const v1::Value& v : op.args()) job.args.push_back(ctx.Decode(v));
  job.session_id = ctx.session()->id();
  job.call_id = 0;
  const absl::Time deadline =
      op.timeout_micros() > 0
          ? absl::Now() + absl::Microseconds(op.timeout_micros())
          : absl::InfiniteFuture();
  {
    absl::MutexLock lock(&mu_);
    Parked parked = ctx.Park(shared_from_this());
    job.call_id = parked.call_id;
    waiters_.Add(std::move(parked), 0, deadline, *this);
  }
  Enqueue(std::move(job));
}

void CustomObject::Enqueue(Job job) {
  auto self = std::static_pointer_cast<CustomObject>(shared_from_this());
  if (type_->concurrent) {
    executor_->Submit([self, job = std::move(job)] { self->Run(job); });
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(job));
    if (scheduled_) return;
    scheduled_ = true;
  }
  executor_->Submit([self] { self->RunNext(); });
}

void CustomObject::RunNext() {
  Job job;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) {
      scheduled_ = false;
      return;
    }
    job = std::move(queue_.front());
    queue_.pop_front();
  }
  Run(job);
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) {
      scheduled_ = false;
      return;
    }
  }
  executor_->Submit([self = std::static_pointer_cast<CustomObject>(
                         shared_from_this())] { self->RunNext(); });
}

bool CustomObject::StillWaiting(const Job& job) {
  absl::MutexLock lock(&mu_);
  for (const auto& w : waiters_.all()) {
    if (w.parked.session_id == job.session_id &&
        w.parked.call_id == job.call_id) {
      return true;
    }
  }
  return false;
}

void CustomObject::Run(const Job& job) {
  // Timed out or its session ended while queued: not run at all.
  if (!StillWaiting(job)) return;
  internal::CustomValue value;
  std::exception_ptr thrown;
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  try {
    value = job.method->call(instance_.get(), job.args);
  } catch (...) {
    thrown = std::current_exception();
  }
  WaiterList<>::Waiter w;
  {
    absl::MutexLock lock(&mu_);
    --running_;
    // Gone: the caller's timeout answered it, or its session ended. The
    // result is dropped.
    if (!waiters_.Take(job.session_id, job.call_id, &w)) return;
  }
  if (w.parked.timer != 0) timers_->Cancel(w.parked.timer);
  if (thrown) {
    w.parked.Fail(UserError(thrown));
    return;
  }
  try {
    w.parked.Complete(ResultObject(std::move(value)));
  } catch (const Error& e) {
    w.parked.Fail(e);
  } catch (const std::exception& e) {
    w.parked.Fail(RuntimeError(e.what()));
  }
}

Object CustomObject::ResultObject(internal::CustomValue value) {
  if (value.instance == nullptr) return std::move(value.value);
  std::shared_ptr<const internal::CustomTypeInfo> type =
      internal::FindCustomType(*value.type);
  if (type == nullptr) {
    throw TypeError(type_->name + " method returned a " +
                    Demangle(value.type->name()) +
                    ", which is neither convertible to an mp::Object nor a "
                    "registered type");
  }
  auto object = store_->Add([&](uint64_t id) {
    return std::make_shared<CustomObject>(id, store_, timers_, executor_, type,
                                          value.instance);
  });
  return Object::proxy(object);
}

void CustomObject::OnParkedTimeout(uint64_t session_id, uint64_t call_id) {
  WaiterList<>::Waiter w;
  {
    absl::MutexLock lock(&mu_);
    if (!waiters_.Take(session_id, call_id, &w)) return;
  }
  w.parked.Fail(TimeoutError("a call on " + type_->name +
                             " did not finish within the caller's timeout; "
                             "its result will be dropped"));
}

void CustomObject::OnSessionEnd(Session& session) {
  absl::MutexLock lock(&mu_);
  waiters_.TakeSession(session.id());
}

void CustomObject::Describe(v1::Inspection::ObjectInfo* info) {
  absl::MutexLock lock(&mu_);
  info->set_size(-1);
  waiters_.AppendSessions(info->mutable_waiter_sessions());
  info->set_state(std::to_string(running_) + " running, " +
                  std::to_string(queue_.size()) + " queued");
}

}  // namespace mp::server
