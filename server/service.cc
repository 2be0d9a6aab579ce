#include "server/service.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "server/array_object.h"
#include "server/barrier_object.h"
#include "server/condition_object.h"
#include "server/custom_object.h"
#include "server/dict_object.h"
#include "server/event_object.h"
#include "server/iterator_object.h"
#include "server/list_object.h"
#include "server/log.h"
#include "server/namespace_object.h"
#include "server/object_factory.h"
#include "server/op_context.h"
#include "server/queue_object.h"
#include "server/semaphore_object.h"
#include "server/value_object.h"

namespace mp::server {
namespace {

uint64_t RandomId() {
  std::string bytes = internal::RandomBytes(8);
  uint64_t id;
  std::memcpy(&id, bytes.data(), 8);
  return id;
}

// The object `id` held by `session`, checked to be of `type`.
template <class T>
std::shared_ptr<T> Typed(const Session& session, uint64_t id,
                         v1::ObjectType type) {
  std::shared_ptr<ServerObject> object = session.Lookup(id);
  if (object->type() != type) {
    throw TypeError("object " + HexId(id) + " is a " +
                    std::string(object->type_name()) + ", not a " +
                    std::string(internal::ObjectTypeName(type)));
  }
  return std::static_pointer_cast<T>(object);
}

}  // namespace

ManagerService::ManagerService(std::string authkey, SessionLimits limits)
    : authkey_(std::move(authkey)),
      limits_(limits),
      server_id_(RandomId()),
      custom_executor_(limits.custom_threads) {}

size_t ManagerService::session_count() const {
  absl::MutexLock lock(&sessions_mu_);
  return sessions_.size();
}

void ManagerService::SessionStarted(const std::shared_ptr<Session>& session,
                                    std::string peer, std::string transport) {
  absl::MutexLock lock(&sessions_mu_);
  sessions_[session->id()] = SessionEntry{
      session, std::move(peer), std::move(transport), 0, "", absl::Now()};
}

void ManagerService::SessionIdentified(uint64_t session_id, int64_t pid,
                                       std::string client_name) {
  absl::MutexLock lock(&sessions_mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  it->second.pid = pid;
  it->second.client_name = std::move(client_name);
}

void ManagerService::SessionEnded(uint64_t session_id) {
  absl::MutexLock lock(&sessions_mu_);
  sessions_.erase(session_id);
}

std::string ManagerService::DescribeSession(uint64_t session_id) const {
  std::string text = "session " + std::to_string(session_id);
  absl::MutexLock lock(&sessions_mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return text;
  const SessionEntry& entry = it->second;
  text += " (peer " + entry.peer + ", pid " + std::to_string(entry.pid);
  if (!entry.client_name.empty()) {
    text += ", client " + Object(entry.client_name).repr();
  }
  return text + ")";
}

void ManagerService::EndAllSessions(const std::string& reason) {
  std::vector<std::shared_ptr<Session>> live;
  {
    absl::MutexLock lock(&sessions_mu_);
    for (const auto& [id, entry] : sessions_) {
      if (auto session = entry.session.lock())
        live.push_back(std::move(session));
    }
  }
  for (const auto& session : live) {
    session->EndWithError("ConnectionError", reason);
  }
}

void ManagerService::Inspect(v1::Inspection* out) const {
  const absl::Time now = absl::Now();
  out->set_server_id(server_id_);
  out->set_pid(getpid());
  out->set_uptime_seconds(absl::ToDoubleSeconds(now - started_));
  store_.ForEach([out](const std::shared_ptr<ServerObject>& object,
                       const std::string& name) {
    v1::Inspection::ObjectInfo* info = out->add_objects();
    info->set_id(object->id());
    info->set_type(std::string(object->type_name()));
    info->set_name(name);
    // Minus the reference ForEach holds for this call.
    info->set_refcount(object.use_count() - 1);
    object->Describe(info);
  });
  std::sort(out->mutable_objects()->begin(), out->mutable_objects()->end(),
            [](const auto& a, const auto& b) {
              // Named objects first, by name; then by id.
              return std::make_tuple(a.name().empty(), a.name(), a.id()) <
                     std::make_tuple(b.name().empty(), b.name(), b.id());
            });
  absl::MutexLock lock(&sessions_mu_);
  for (const auto& [id, entry] : sessions_) {
    auto session = entry.session.lock();
    if (session == nullptr) continue;
    v1::Inspection::SessionInfo* info = out->add_sessions();
    info->set_id(id);
    info->set_peer(entry.peer);
    info->set_transport(entry.transport);
    info->set_pid(entry.pid);
    info->set_client_name(entry.client_name);
    info->set_age_seconds(absl::ToDoubleSeconds(now - entry.started));
    info->set_objects_held(static_cast<int64_t>(session->held_objects()));
    info->set_leases(static_cast<int64_t>(session->lease_count()));
    info->set_unacked(static_cast<int64_t>(session->unacked_count()));
  }
  std::sort(out->mutable_sessions()->begin(), out->mutable_sessions()->end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
}

bool ManagerService::Execute(const v1::Call& call, server::Session& session,
                             v1::Reply* reply) {
  reply->set_call_id(call.call_id());
  OpContext ctx(&session, call.call_id(), &timers_, limits_.max_message_bytes);
  try {
    // The server ended the session (shutting down, or its lease expired)
    // while its stream still delivers calls.
    if (session.ended()) {
      throw ConnectionError(
          "the manager ended this session (it is shutting down, or the "
          "session's lease expired); the call was not run");
    }
    ExecuteOrThrow(call, ctx, reply);
    return !ctx.deferred();
  } catch (const Error& e) {
    reply->clear_result();
    reply->mutable_error()->set_type(e.type_name());
    reply->mutable_error()->set_message(e.message());
  } catch (const std::exception& e) {
    reply->clear_result();
    reply->mutable_error()->set_type("RuntimeError");
    reply->mutable_error()->set_message(e.what());
  }
  return true;
}

void ManagerService::ExecuteOrThrow(const v1::Call& call, const OpContext& ctx,
                                    v1::Reply* reply) {
  server::Session& session = *ctx.session();
  const uint64_t id = call.object_id();
  switch (call.op_case()) {
    case v1::Call::kCreate:
      return Create(call.create(), ctx, reply);
    case v1::Call::kIncref: {
      // All or nothing: resolve every id before taking any reference.
      std::vector<std::shared_ptr<ServerObject>> found;
      for (uint64_t ref : call.incref().ids()) {
        std::shared_ptr<ServerObject> object = store_.Find(ref);
        if (object == nullptr) {
          throw ReferenceError("no object with id " + HexId(ref) +
                               " exists on this server");
        }
        found.push_back(std::move(object));
      }
      for (auto& object : found) session.AddRef(std::move(object));
      return ctx.ReturnNone(reply);
    }
    case v1::Call::kRelease:
      for (uint64_t ref : call.release().ids()) session.Release(ref);
      return ctx.ReturnNone(reply);
    case v1::Call::kAck:
      for (uint64_t acked : call.ack().call_ids()) session.Acked(acked);
      return ctx.ReturnNone(reply);
    case v1::Call::kDeleteName:
      return ctx.Return(Object(store_.DeleteName(call.delete_name().name())),
                        reply);
    case v1::Call::kStats: {
      Dict stats;
      stats.set("objects", static_cast<int64_t>(store_.object_count()));
      stats.set("sessions", static_cast<int64_t>(session_count()));
      stats.set("named", static_cast<int64_t>(store_.named_count()));
      stats.set("pid", static_cast<int64_t>(getpid()));
      // From /proc/self/status: what a monitor (or the benchmark) wants to
      // know about the server process itself.
      std::ifstream status("/proc/self/status");
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("Threads:", 0) == 0) {
          stats.set("threads", std::stoll(line.substr(8)));
        } else if (line.rfind("VmRSS:", 0) == 0) {
          stats.set("rss_bytes", std::stoll(line.substr(6)) * 1024);
        }
      }
      return ctx.Return(Object::dict(std::move(stats)), reply);
    }
    case v1::Call::kInspect:
      Inspect(reply->mutable_inspection());
      return;
    case v1::Call::kShutdown: {
      // Whoever asks, and whatever the answer, the operator can see it.
      const bool allowed = limits_.allow_client_shutdown;
      Log(LogLevel::kWarning,
          "shutdown requested by " + DescribeSession(session.id()) +
              (allowed ? ": accepted, shutting down"
                       : ": refused (allow_client_shutdown is off; "
                         "mp-manager --allow-client-shutdown allows it)"));
      if (!allowed) {
        throw PermissionError(
            "this manager does not accept shutdown requests from clients; "
            "start mp-manager with --allow-client-shutdown "
            "(ServerOptions::allow_client_shutdown) to allow them");
      }
      RequestShutdown();
      return ctx.ReturnNone(reply);
    }
    case v1::Call::kDict: {
      auto dict = Typed<DictObject>(session, id, v1::DICT);
      if (call.dict().has_iter()) {
        auto kind = call.dict().iter().kind();
        auto it = store_.Add([&](uint64_t new_id) {
          return std::make_shared<IteratorObject>(new_id, &store_, dict, kind);
        });
        return ctx.Return(Object::proxy(it), reply);
      }
      return dict->Apply(call.dict(), ctx, reply);
    }
    case v1::Call::kList: {
      auto list = Typed<ListObject>(session, id, v1::LIST);
      if (call.list().has_iter()) {
        auto it = store_.Add([&](uint64_t new_id) {
          return std::make_shared<IteratorObject>(new_id, &store_, list);
        });
        return ctx.Return(Object::proxy(it), reply);
      }
      return list->Apply(call.list(), ctx, reply);
    }
    case v1::Call::kNamespace:
      return Typed<NamespaceObject>(session, id, v1::NAMESPACE)
          ->Apply(call.namespace_(), ctx, reply);
    case v1::Call::kValue:
      return Typed<ValueObject>(session, id, v1::VALUE)
          ->Apply(call.value(), ctx, reply);
    case v1::Call::kArray:
      return Typed<ArrayObject>(session, id, v1::ARRAY)
          ->Apply(call.array(), ctx, reply);
    case v1::Call::kIterator:
      return Typed<IteratorObject>(session, id, v1::ITERATOR)
          ->Apply(call.iterator(), ctx, reply);
    case v1::Call::kAcquirer: {
      std::shared_ptr<ServerObject> object = session.Lookup(id);
      switch (object->type()) {
        case v1::LOCK:
        case v1::RLOCK:
        case v1::SEMAPHORE:
        case v1::BOUNDED_SEMAPHORE:
          return static_cast<SemaphoreObject&>(*object).Apply(call.acquirer(),
                                                              ctx, reply);
        default:
          throw TypeError("object " + HexId(id) + " is a " +
                          std::string(object->type_name()) +
                          ", not a Lock, RLock or Semaphore");
      }
    }
    case v1::Call::kCondition:
      return Typed<ConditionObject>(session, id, v1::CONDITION)
          ->Apply(call.condition(), ctx, reply);
    case v1::Call::kEvent:
      return Typed<EventObject>(session, id, v1::EVENT)
          ->Apply(call.event(), ctx, reply);
    case v1::Call::kBarrier:
      return Typed<BarrierObject>(session, id, v1::BARRIER)
          ->Apply(call.barrier(), ctx, reply);
    case v1::Call::kQueue: {
      std::shared_ptr<ServerObject> object = session.Lookup(id);
      if (object->type() != v1::QUEUE && object->type() != v1::JOINABLE_QUEUE) {
        throw TypeError("object " + HexId(id) + " is a " +
                        std::string(object->type_name()) + ", not a Queue");
      }
      return static_cast<QueueObject&>(*object).Apply(call.queue(), ctx, reply);
    }
    case v1::Call::kCustom:
      return Typed<CustomObject>(session, id, v1::CUSTOM)
          ->Apply(call.custom(), ctx, reply);
    case v1::Call::OP_NOT_SET:
      break;
  }
  throw ValueError("malformed call: no operation set");
}

void ManagerService::Create(const v1::Create& create, const OpContext& ctx,
                            v1::Reply* reply) {
  Session& session = *ctx.session();
  if (limits_.max_objects_per_session > 0 &&
      session.held_objects() >= limits_.max_objects_per_session) {
    throw MemoryError("this client holds " +
                      std::to_string(session.held_objects()) +
                      " objects, the server's limit per session "
                      "(max_objects_per_session); release some first");
  }
  if (create.must_exist()) {  // a lookup: nothing is prepared or created
    if (create.name().empty()) {
      throw ValueError("Create.must_exist needs a name");
    }
    std::shared_ptr<ServerObject> object = store_.FindNamed(create.name());
    if (object == nullptr) {
      throw KeyError("no object is registered under the name " +
                     Object(create.name()).repr());
    }
    return ReturnNamed(create, object, ctx, reply);
  }
  const bool has_init = create.has_init() && !create.init().has_none();
  // The new container's contents are charged to this session's quota and
  // held to the cap on one object.
  CreateArgs args{
      .request = create,
      .init = has_init ? ctx.Decode(create.init()) : Object(),
      .has_init = has_init,
      .store = &store_,
      .timers = &timers_,
      .stored = StoredBytes(session.quota(), limits_.max_object_bytes)};
  if (create.type() == v1::CUSTOM) return CreateCustom(create, ctx, reply);
  ObjectMaker make = PrepareCreate(args);
  std::shared_ptr<ServerObject> object =
      create.name().empty() ? store_.Add(make)
                            : store_.GetOrCreateNamed(create.name(), make);
  ReturnNamed(create, object, ctx, reply);
}

// A custom type's constructor is user code, which may be slow: like its
// methods it runs on the pool, never on the thread that reads the session.
// The call is checked and its arguments decoded here, then parked.
void ManagerService::CreateCustom(const v1::Create& create,
                                  const OpContext& ctx, v1::Reply* reply) {
  // A named create that finds its object answers at once, running no
  // constructor.
  if (!create.name().empty()) {
    if (std::shared_ptr<ServerObject> found = store_.FindNamed(create.name())) {
      return ReturnNamed(create, found, ctx, reply);
    }
  }
  CustomObject::Construct construct = CustomObject::Prepare(
      create, ctx, &store_, &timers_, &custom_executor_);
  const Parked parked = ctx.ParkCall();
  custom_executor_.Submit([this, parked, construct = std::move(construct),
                           name = create.name(),
                           type_name = create.type_name()] {
    try {
      // The constructor runs outside the store's locks. A named create
      // that lost a race for its name (another created it meanwhile) gets
      // that object; its own new instance is dropped.
      ObjectMaker make = construct();
      std::shared_ptr<ServerObject> object =
          name.empty() ? store_.Add(make) : store_.GetOrCreateNamed(name, make);
      if (object->type() != v1::CUSTOM || object->type_name() != type_name) {
        throw TypeError("the name " + Object(name).repr() + " is a " +
                        std::string(object->type_name()) + ", not a " +
                        type_name);
      }
      // Returns false when the session ended meanwhile: the object then
      // has no holder and goes (unless named).
      parked.Complete(Object::proxy(object));
    } catch (const Error& e) {
      parked.Fail(e);
    } catch (const std::exception& e) {
      parked.Fail(RuntimeError(e.what()));
    }
  });
}

void ManagerService::ReturnNamed(const v1::Create& create,
                                 const std::shared_ptr<ServerObject>& object,
                                 const OpContext& ctx, v1::Reply* reply) {
  if (object->type() != create.type()) {
    throw TypeError("the name " + Object(create.name()).repr() + " is a " +
                    std::string(object->type_name()) + ", not a " +
                    std::string(internal::ObjectTypeName(create.type())));
  }
  if (create.type() == v1::CUSTOM &&
      object->type_name() != create.type_name()) {
    throw TypeError("the name " + Object(create.name()).repr() + " is a " +
                    std::string(object->type_name()) + ", not a " +
                    create.type_name());
  }
  ctx.Return(Object::proxy(object), reply);
}

}  // namespace mp::server
