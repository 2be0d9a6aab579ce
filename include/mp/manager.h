// mp::Manager: a handle on a manager server, and the factory for the shared
// objects it holds (Python's SyncManager).
//
//   mp::Manager m;                    // starts a private server process
//   auto d = m.dict();                // a DictProxy
//   auto jobs = m.named("jobs").list();   // get-or-create by name
//
// Thread safety: a Manager may be used from any number of threads. All
// proxies a process gets from one server share one session (one gRPC
// stream); a forked child opens its own on first use.
#ifndef MP_MANAGER_H_
#define MP_MANAGER_H_

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/array_proxy.h"
#include "mp/custom_proxy.h"
#include "mp/dict_proxy.h"
#include "mp/list_proxy.h"
#include "mp/namespace_proxy.h"
#include "mp/object.h"
#include "mp/queue_proxy.h"
#include "mp/sync_proxy.h"
#include "mp/tls.h"
#include "mp/transport.h"
#include "mp/value_proxy.h"

namespace mp {

struct ManagerOptions {
  // Where the started server listens: "unix:/path" or "host:port". Empty: a
  // unix socket in a fresh private (0700) directory.
  std::string address{};
  // Empty: 32 random bytes.
  std::string authkey{};
  // See ServerOptions::lease_timeout; 0 keeps the server's default.
  std::chrono::milliseconds lease_timeout{0};
  // How this process (and children it hands proxies to) reach the server:
  // kAuto takes the local transport, as the server is on this host.
  Transport transport = Transport::kAuto;
};

// How Manager::connect reaches a server.
struct ConnectOptions {
  // Connect over TLS (the server must listen with TLS). nullopt: plaintext.
  std::optional<TlsOptions> tls{};
  // kAuto: the local transport for a "unix:PATH" address whose server
  // offers it, gRPC otherwise (see mp/transport.h).
  Transport transport = Transport::kAuto;
};

class Manager;

// Object factory whose objects are registered under a name
// (Manager::named): the first call creates, later calls - from any process
// or host - get the same object. A name bound to a different type is a
// TypeError.
class NamedObjects {
 public:
  DictProxy dict() const;
  ListProxy list() const;
  NamespaceProxy Namespace() const;
  LockProxy Lock() const;
  RLockProxy RLock() const;
  SemaphoreProxy Semaphore(int64_t value = 1) const;
  EventProxy Event() const;
  BarrierProxy Barrier(int64_t parties) const;
  QueueProxy Queue(int64_t maxsize = 0) const;
  JoinableQueueProxy JoinableQueue(int64_t maxsize = 0) const;
  template <class T>
  ValueProxy<T> Value(T initial = T()) const;
  template <class T>
  ArrayProxy<T> Array(size_t size) const;
  // A custom object (see Manager::create) under this name; `args` go to
  // the constructor only when it is created. A name bound to another type
  // is a TypeError.
  template <class P = Proxy, class... Args>
  P create(const std::string& type_name, const Args&... args) const;
  // Forgets the name (the object lives while referenced). False if unknown.
  bool remove() const;

 private:
  friend class Manager;
  NamedObjects(const Manager& m, std::string name)
      : m_(m), name_(std::move(name)) {}
  const Manager& m_;
  std::string name_;
};

class Manager {
 public:
  // Starts a private manager server process (the `mp-manager` binary, found
  // through $MP_MANAGER_PATH, the build tree, or the install prefix) and
  // connects to it. The server exits when this Manager is destroyed or shut
  // down, or when this process dies.
  Manager();
  explicit Manager(ManagerOptions options);
  // Attaches to a running server. Throws AuthenticationError for a wrong
  // key, ConnectionError when nothing answers (or the TLS handshake fails)
  // and ValueError for unusable TLS options. After the server restarts,
  // proxies from before fail with ConnectionError and are never bound to
  // the new server's objects; connect again (named objects are found by
  // name, if the new server has them).
  static Manager connect(const std::string& address, const std::string& authkey,
                         const ConnectOptions& options = {});

  ~Manager();  // shuts down a server this Manager started
  Manager(Manager&&) noexcept;
  Manager& operator=(Manager&&) noexcept;

  const std::string& address() const;
  const std::string& authkey() const;
  // The transport this process's session uses: "local" or "grpc".
  std::string transport() const;
  // Stops a server this Manager started (waiting for it to exit); asks a
  // connected-to server to stop otherwise. Proxies fail with
  // ConnectionError afterwards.
  void shutdown();

  DictProxy dict() const;
  DictProxy dict(std::initializer_list<std::pair<Object, Object>> items) const;
  DictProxy dict(const Object& contents) const;  // a dict Object
  ListProxy list() const;
  ListProxy list(std::initializer_list<Object> items) const;
  ListProxy list(const Object& contents) const;  // a list or tuple Object
  template <class T>
  ListProxy list(const std::vector<T>& items) const {
    return list(to_object(items));
  }
  NamespaceProxy Namespace() const;

  LockProxy Lock() const;
  RLockProxy RLock() const;
  SemaphoreProxy Semaphore(int64_t value = 1) const;
  BoundedSemaphoreProxy BoundedSemaphore(int64_t value = 1) const;
  ConditionProxy Condition() const;  // with its own RLock
  ConditionProxy Condition(const LockProxy& lock) const;
  ConditionProxy Condition(const RLockProxy& lock) const;
  EventProxy Event() const;
  // `timeout`: the default for wait() (none if nullopt).
  BarrierProxy Barrier(int64_t parties, Timeout timeout = std::nullopt) const;
  // maxsize <= 0: unbounded.
  QueueProxy Queue(int64_t maxsize = 0) const;
  JoinableQueueProxy JoinableQueue(int64_t maxsize = 0) const;

  // Value<double>(0.0): the typecode follows T.
  template <class T>
  ValueProxy<T> Value(T initial) const {
    return ValueProxy<T>(
        MakeValue(internal::TypeCodeFor<T>(), to_object(initial), ""));
  }
  // Value('i', 0): typecode as in the array module.
  ValueProxy<Object> Value(char typecode, const Object& initial = 0) const;

  template <class T>
  ArrayProxy<T> Array(const std::vector<T>& values) const {
    return ArrayProxy<T>(
        MakeArray(internal::TypeCodeFor<T>(), to_object(values), 0, ""));
  }
  template <class T>
  ArrayProxy<T> Array(std::initializer_list<T> values) const {
    return Array(std::vector<T>(values));
  }
  // Array<double>(1000): `size` zeros; the typecode follows T.
  template <class T>
  ArrayProxy<T> Array(size_t size) const {
    return ArrayProxy<T>(MakeArray(internal::TypeCodeFor<T>(), Object(),
                                   static_cast<int64_t>(size), ""));
  }
  ArrayProxy<Object> Array(char typecode, size_t size) const;
  ArrayProxy<Object> Array(char typecode, const Object& values) const;

  // A new instance of the custom type registered as `type_name`
  // (mp/register.h), made on the server by the constructor taking these
  // arguments: Python's manager.Maths(10). Returns an mp::Proxy, or the
  // typed proxy P (a class derived from BaseProxy). Throws AttributeError
  // when the server does not know the type, TypeError for arguments no
  // constructor takes, and what the constructor threw.
  template <class P = Proxy, class... Args>
  P create(const std::string& type_name, const Args&... args) const {
    static_assert(std::is_base_of_v<BaseProxy, P>,
                  "mp: create<P>: P must derive from mp::BaseProxy");
    return P(MakeCustom(type_name, {internal::CustomArgObject(args)...}, ""));
  }

  NamedObjects named(std::string name) const {
    return NamedObjects(*this, std::move(name));
  }

  // Server statistics: {"objects": n, "sessions": n, "named": n, "pid": n,
  // "threads": n, "rss_bytes": n}.
  Object stats() const;
  // What the server holds and who holds and waits on what, as
  // `mp-manager inspect` prints it: objects (id, type, name, size,
  // references, state) and sessions (peer, pid, program, objects held).
  // Blocks for one round trip (at most 30 s).
  std::string inspect() const;

 private:
  friend class NamedObjects;
  struct Impl;
  explicit Manager(std::unique_ptr<Impl> impl);
  std::shared_ptr<const internal::ProxyHandle> Make(
      internal::Kind kind, const Object& init, const std::string& name,
      int64_t size = 0, int64_t barrier_timeout_micros = 0) const;
  std::shared_ptr<const internal::ProxyHandle> MakeValue(
      char typecode, const Object& init, const std::string& name) const;
  std::shared_ptr<const internal::ProxyHandle> MakeCustom(
      const std::string& type_name, Object::List args,
      const std::string& name) const;
  std::shared_ptr<const internal::ProxyHandle> MakeArray(
      char typecode, const Object& values, int64_t size,
      const std::string& name) const;
  std::unique_ptr<Impl> impl_;
};

template <class T>
ValueProxy<T> NamedObjects::Value(T initial) const {
  return ValueProxy<T>(
      m_.MakeValue(internal::TypeCodeFor<T>(), to_object(initial), name_));
}

template <class P, class... Args>
P NamedObjects::create(const std::string& type_name,
                       const Args&... args) const {
  static_assert(std::is_base_of_v<BaseProxy, P>,
                "mp: create<P>: P must derive from mp::BaseProxy");
  return P(
      m_.MakeCustom(type_name, {internal::CustomArgObject(args)...}, name_));
}

template <class T>
ArrayProxy<T> NamedObjects::Array(size_t size) const {
  return ArrayProxy<T>(m_.MakeArray(internal::TypeCodeFor<T>(), Object(),
                                    static_cast<int64_t>(size), name_));
}

}  // namespace mp

#endif  // MP_MANAGER_H_
