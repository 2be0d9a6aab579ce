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
//
// Blocking: each factory and stats() is one round trip, bounded by the
// 5-minute default deadline (TimeoutError; see Timeout in mp/proxy.h);
// starting a server waits for it to listen; shutdown() waits for a
// started server to exit (killing it after a grace period).
//
// Destructor policy - ~Manager() of a Manager that started its server
// stops that server and waits for it (closing its lifeline, then SIGKILL
// after a grace period), so a private server never outlives its Manager;
// the server also exits by itself if this process dies. ~Manager() of a
// Manager from connect() only closes this process's session: the server
// keeps running, and objects it holds live on while referenced or named.
// Proxies and NamedObjects made from a Manager stay safe to use (and
// destroy) after it is gone; their calls then fail with ConnectionError
// if its server stopped. A moved-from Manager may only be destroyed or
// assigned to.
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

class NamedObjects;

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
  // A dict Object's contents. A template only so that a braced list such
  // as {{"k", 0}} always means the pairs above: clang 14 also reads it as
  // an Object made from std::string{"k", 0} and calls the call ambiguous.
  template <class O, std::enable_if_t<std::is_same_v<O, Object>, int> = 0>
  DictProxy dict(const O& contents) const {
    return DictOf(contents);
  }
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
        MakeValue(Unnamed(), internal::TypeCodeFor<T>(), to_object(initial)));
  }
  // Value('i', 0): typecode as in the array module.
  ValueProxy<Object> Value(char typecode, const Object& initial = 0) const;

  template <class T>
  ArrayProxy<T> Array(const std::vector<T>& values) const {
    return ArrayProxy<T>(MakeArray(Unnamed(), internal::TypeCodeFor<T>(),
                                   to_object(values), 0));
  }
  template <class T>
  ArrayProxy<T> Array(std::initializer_list<T> values) const {
    return Array(std::vector<T>(values));
  }
  // Array<double>(1000): `size` zeros; the typecode follows T.
  template <class T>
  ArrayProxy<T> Array(size_t size) const {
    return ArrayProxy<T>(MakeArray(Unnamed(), internal::TypeCodeFor<T>(),
                                   Object(), static_cast<int64_t>(size)));
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
    return P(MakeCustom(Unnamed(), type_name,
                        {internal::CustomArgObject(args)...}));
  }

  // Objects registered under `name`: the first call of a factory creates
  // the object, later calls - from any process or host - get the same one.
  NamedObjects named(std::string name) const;
  // The object already registered under `name`: its factories never
  // create, they throw KeyError when nothing is registered under the name
  // (a typo, or a name not created yet) and ignore their arguments.
  //   auto jobs = m.existing("jobs").list();
  NamedObjects existing(std::string name) const;

  // Server statistics: {"objects": n, "sessions": n, "named": n, "pid": n,
  // "threads": n, "rss_bytes": n}.
  Object stats() const;
  // What the server holds and who holds and waits on what, as
  // `mp-manager inspect` prints it: objects (id, type, name, size,
  // references, state) and sessions (peer, pid, program, objects held).
  // Blocks for one round trip (at most 30 s).
  std::string inspect() const;

 private:
  DictProxy DictOf(const Object& contents) const;
  friend class NamedObjects;
  struct Impl;
  // Where a Create goes and what it registers: NamedObjects carries one.
  struct Target {
    std::shared_ptr<const Impl> impl;
    std::string name;  // "": unnamed
    bool must_exist = false;
  };
  explicit Manager(std::shared_ptr<Impl> impl);
  Target Unnamed() const { return Target{impl_, "", false}; }
  static std::shared_ptr<const internal::ProxyHandle> Make(
      const Target& target, internal::Kind kind, const Object& init,
      int64_t size = 0, int64_t barrier_timeout_micros = 0);
  static std::shared_ptr<const internal::ProxyHandle> MakeValue(
      const Target& target, char typecode, const Object& init);
  static std::shared_ptr<const internal::ProxyHandle> MakeCustom(
      const Target& target, const std::string& type_name, Object::List args);
  static std::shared_ptr<const internal::ProxyHandle> MakeArray(
      const Target& target, char typecode, const Object& values,
      int64_t size);
  // Shared with the NamedObjects made from it, which therefore stay valid
  // after this Manager is moved or destroyed (their calls fail with
  // ConnectionError once the server is stopped).
  std::shared_ptr<Impl> impl_;
};

// Object factory whose objects are registered under a name (Manager::named,
// Manager::existing). A name bound to a different type is a TypeError.
// Arguments (initial contents, sizes) are used only by the call that
// creates the object; a call that finds it ignores them.
//
// Holds a share of its Manager's connection, not a reference to the
// Manager: it may outlive it, or be used after the Manager was moved.
// Thread-safe, like Manager; each factory is one round trip.
class NamedObjects {
 public:
  DictProxy dict() const;
  DictProxy dict(std::initializer_list<std::pair<Object, Object>> items) const;
  // A dict Object's contents. A template only so that a braced list such
  // as {{"k", 0}} always means the pairs above: clang 14 also reads it as
  // an Object made from std::string{"k", 0} and calls the call ambiguous.
  template <class O, std::enable_if_t<std::is_same_v<O, Object>, int> = 0>
  DictProxy dict(const O& contents) const {
    return DictOf(contents);
  }
  ListProxy list() const;
  ListProxy list(std::initializer_list<Object> items) const;
  ListProxy list(const Object& contents) const;  // a list or tuple Object
  NamespaceProxy Namespace() const;
  LockProxy Lock() const;
  RLockProxy RLock() const;
  SemaphoreProxy Semaphore(int64_t value = 1) const;
  BoundedSemaphoreProxy BoundedSemaphore(int64_t value = 1) const;
  ConditionProxy Condition() const;  // with its own RLock
  ConditionProxy Condition(const LockProxy& lock) const;
  ConditionProxy Condition(const RLockProxy& lock) const;
  EventProxy Event() const;
  BarrierProxy Barrier(int64_t parties, Timeout timeout = std::nullopt) const;
  QueueProxy Queue(int64_t maxsize = 0) const;
  JoinableQueueProxy JoinableQueue(int64_t maxsize = 0) const;
  template <class T>
  ValueProxy<T> Value(T initial = T()) const {
    return ValueProxy<T>(Manager::MakeValue(
        target_, internal::TypeCodeFor<T>(), to_object(initial)));
  }
  template <class T>
  ArrayProxy<T> Array(size_t size) const {
    return ArrayProxy<T>(Manager::MakeArray(target_, internal::TypeCodeFor<T>(),
                                            Object(),
                                            static_cast<int64_t>(size)));
  }
  template <class T>
  ArrayProxy<T> Array(const std::vector<T>& values) const {
    return ArrayProxy<T>(Manager::MakeArray(
        target_, internal::TypeCodeFor<T>(), to_object(values), 0));
  }
  template <class T>
  ArrayProxy<T> Array(std::initializer_list<T> values) const {
    return Array(std::vector<T>(values));
  }
  // The existing array (for Manager::existing, which ignores sizes).
  template <class T>
  ArrayProxy<T> Array() const {
    return Array<T>(size_t{0});
  }
  // A custom object (see Manager::create) under this name; `args` go to
  // the constructor only when it is created. A name bound to another type
  // is a TypeError.
  template <class P = Proxy, class... Args>
  P create(const std::string& type_name, const Args&... args) const {
    static_assert(std::is_base_of_v<BaseProxy, P>,
                  "mp: create<P>: P must derive from mp::BaseProxy");
    return P(Manager::MakeCustom(target_, type_name,
                                 {internal::CustomArgObject(args)...}));
  }
  // Forgets the name (the object lives while referenced). False if unknown.
  bool remove() const;

 private:
  friend class Manager;
  DictProxy DictOf(const Object& contents) const;
  explicit NamedObjects(Manager::Target target) : target_(std::move(target)) {}
  Manager::Target target_;
};

inline NamedObjects Manager::named(std::string name) const {
  return NamedObjects(Target{impl_, std::move(name), false});
}
inline NamedObjects Manager::existing(std::string name) const {
  return NamedObjects(Target{impl_, std::move(name), true});
}

}  // namespace mp

#endif  // MP_MANAGER_H_
