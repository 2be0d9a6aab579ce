// The server side of a custom type (mp/register.h): one instance of a
// registered C++ class, whose methods run on the CustomExecutor pool.
#ifndef MP_SERVER_CUSTOM_OBJECT_H_
#define MP_SERVER_CUSTOM_OBJECT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/register.h"
#include "server/custom_executor.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/server_object.h"
#include "server/timer_queue.h"
#include "server/waiter_list.h"

namespace mp::server {

// Thread-safe. A call is checked (method, argument count) and its
// arguments decoded on the session's thread, then parked (the WaiterList
// path every blocking call takes: the caller's timeout and the end of its
// session cancel it) and queued for the pool. Calls on one object run one
// at a time in arrival order unless the type is concurrent. A call whose
// caller timed out or left before it started is not run; one that finishes
// after that has its result dropped.
class CustomObject final : public ServerObject {
 public:
  CustomObject(uint64_t id, ObjectStore* store, TimerQueue* timers,
               CustomExecutor* executor,
               std::shared_ptr<const internal::CustomTypeInfo> type,
               std::shared_ptr<void> instance);

  // Runs the user's constructor (the slow part, on the pool) and returns
  // the maker that wraps the new instance in an object (cheap: it may run
  // under the store's locks). Throws what the constructor threw, as the
  // caller gets it.
  using Construct = std::function<ObjectMaker()>;

  // Checks a CUSTOM Create (AttributeError for an unknown type; TypeError
  // when no constructor takes that many arguments), decodes its arguments
  // with `ctx`, and returns the constructor call. Session thread.
  static Construct Prepare(const v1::Create& create, const OpContext& ctx,
                           ObjectStore* store, TimerQueue* timers,
                           CustomExecutor* executor);

  // The registered name ("Maths"): what inspect lists.
  std::string_view type_name() const override { return type_->name; }
  const std::string& custom_type() const { return type_->name; }

  void Apply(const v1::CustomOp& op, const OpContext& ctx, v1::Reply* reply);

  void OnSessionEnd(Session& session) override;
  void OnParkedTimeout(uint64_t session_id, uint64_t call_id) override;
  void Describe(v1::Inspection::ObjectInfo* info) override;

 private:
  struct Job {
    const internal::CustomMethod* method = nullptr;
    Object::List args;
    uint64_t session_id = 0;
    uint64_t call_id = 0;
  };

  void Enqueue(Job job);
  // Runs the next queued job of a serialized object, then hands the rest
  // back to the pool (one job per task, so a busy object does not keep a
  // pool thread from the others).
  void RunNext();
  void Run(const Job& job);
  bool StillWaiting(const Job& job);
  // The object to hand out for a method's result.
  Object ResultObject(internal::CustomValue value);

  ObjectStore* const store_;
  TimerQueue* const timers_;
  CustomExecutor* const executor_;
  const std::shared_ptr<const internal::CustomTypeInfo> type_;
  const std::shared_ptr<void> instance_;

  absl::Mutex mu_;
  WaiterList<> waiters_ ABSL_GUARDED_BY(mu_);
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);   // serialized types only
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;  // a RunNext is pending
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mp::server

#endif  // MP_SERVER_CUSTOM_OBJECT_H_
