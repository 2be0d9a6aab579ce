#include "mp/manager.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/custom_registry.h"
#include "common/grpc_runtime.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "proxy/connection.h"
#include "proxy/inspect.h"
#include "proxy/proxy_handle.h"

namespace mp {

namespace {

// How long a started server gets to come up, and to exit on shutdown
// before it is killed.
constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(5);

// The mp-manager installed with this shared library: <libdir>/../bin/
// mp-manager relative to the libmp_client.so this code was loaded from, so
// an install prefix that was moved (a .deb unpacked with dpkg -x) still
// finds its own server. Empty for a static mp (the file would be the
// program's), or if dladdr cannot name the file.
std::string ManagerNextToLibrary() {
#ifndef MP_LIBDIR_TO_MANAGER
  return "";
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&ManagerNextToLibrary), &info) == 0 ||
      info.dli_fname == nullptr || info.dli_fname[0] != '/') {
    return "";
  }
  return (std::filesystem::path(info.dli_fname).parent_path() /
          MP_LIBDIR_TO_MANAGER)
      .lexically_normal()
      .string();
#endif
}

std::string FindManagerBinary() {
  if (const char* env = std::getenv("MP_MANAGER_PATH"); env && *env) return env;
  const std::string candidates[] = {ManagerNextToLibrary(),
                                    MP_BUILD_TREE_MANAGER,
                                    MP_INSTALLED_MANAGER};
  std::string looked;
  for (const std::string& candidate : candidates) {
    if (candidate.empty()) continue;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    looked += (looked.empty() ? "" : ", ") + candidate;
  }
  throw RuntimeError(
      "cannot find the mp-manager binary: set MP_MANAGER_PATH (looked in " +
      looked + ")");
}

// A pipe whose ends are close-on-exec and numbered at least 10, so the
// child can dup2 them onto low fds without clobbering one another.
void HighPipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw RuntimeError(std::string("pipe: ") + std::strerror(errno));
  }
  for (int i = 0; i < 2; ++i) {
    int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    close(fds[i]);
    fds[i] = high;
  }
}

bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

struct Manager::Impl {
  std::string address;
  std::string authkey;
  std::shared_ptr<internal::Connection> conn;
  // Set when this Manager started the server.
  pid_t server_pid = -1;
  pid_t creator_pid = -1;
  int lifeline_fd = -1;
  std::string socket_dir;

  // In a forked child: that process's own connection to the server.
  mutable absl::Mutex child_mu;
  mutable pid_t child_pid ABSL_GUARDED_BY(child_mu) = 0;
  mutable std::shared_ptr<internal::Connection> child_conn
      ABSL_GUARDED_BY(child_mu);

  internal::Connection& Conn() const {
    pid_t pid = getpid();
    if (conn->owner_pid() == pid) return *conn;
    absl::MutexLock lock(&child_mu);
    if (child_pid != pid) {
      child_conn = internal::Connection::ForCurrentProcess(conn);
      child_pid = pid;
    }
    return *child_conn;
  }

  // Also when Start() fails part way: a started server never outlives
  // its Manager.
  ~Impl() { Stop(); }

  void Start(ManagerOptions options);
  void Stop();
};

void Manager::Impl::Start(ManagerOptions options) {
  authkey = options.authkey.empty()
                ? internal::RandomBytes(internal::kAuthkeyBytes)
                : options.authkey;
  if (options.address.empty()) {
    char tmpl[] = "/tmp/mp-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {  // mode 0700
      throw RuntimeError(std::string("mkdtemp: ") + std::strerror(errno));
    }
    socket_dir = tmpl;
    address = "unix:" + socket_dir + "/manager.sock";
  } else {
    address = options.address;
  }
  if (std::getenv(internal::kServerRoleEnv) != nullptr) {
    // This executable was started to serve its custom types, but main()
    // did not call mp::init first: starting yet another server from it
    // would recurse.
    throw RuntimeError(
        "this program was started as the manager server of its custom "
        "types; call mp::init(argc, argv) as the first statement of main()");
  }
  // A program that registered custom types serves them itself, like
  // Python's BaseManager.start(): the server is this executable in
  // mp::init's server role.
  const bool serve_own_types = internal::ServesOwnCustomTypes();
  const std::string binary =
      serve_own_types ? std::string("/proc/self/exe") : FindManagerBinary();

  int key_pipe[2], ready_pipe[2], life_pipe[2];
  HighPipe(key_pipe);
  HighPipe(ready_pipe);
  HighPipe(life_pipe);
  std::vector<std::string> args = {
      binary, "--listen",      address, "--authkey-fd", "3", "--ready-fd",
      "4",    "--lifeline-fd", "5"};
  args.push_back("--allow-client-shutdown");  // our own server
  if (options.lease_timeout.count() > 0) {
    args.push_back("--lease-timeout-ms");
    args.push_back(std::to_string(options.lease_timeout.count()));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = internal::ServerEnvironment();
  if (serve_own_types) {
    env.push_back(std::string(internal::kServerRoleEnv) + "=manager");
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(key_pipe[0], 3);
    dup2(ready_pipe[1], 4);
    dup2(life_pipe[0], 5);
    // Nothing else of the program's stays open in the server, which may
    // outlive it (a socket the program listens on, say), FD_CLOEXEC or not.
    syscall(SYS_close_range, 6, ~0U, 0);
    // Its own process group: a terminal's Ctrl-C goes to the user's program,
    // which then shuts the server down in order.
    setpgid(0, 0);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(key_pipe[0]);
  close(ready_pipe[1]);
  close(life_pipe[0]);
  server_pid = pid;
  creator_pid = getpid();
  lifeline_fd = life_pipe[1];
  (void)!write(key_pipe[1], authkey.data(), authkey.size());
  close(key_pipe[1]);

  // Wait for "ADDRESS\n" on the ready pipe.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  fcntl(ready_pipe[0], F_SETFL, O_NONBLOCK);
  while (line.find('\n') == std::string::npos) {
    char buf[256];
    ssize_t n = read(ready_pipe[0], buf, sizeof buf);
    if (n > 0) {
      line.append(buf, n);
      continue;
    }
    if (n == 0) break;  // the server exited before becoming ready
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  close(ready_pipe[0]);
  if (line.find('\n') == std::string::npos) {
    Stop();
    throw RuntimeError("the manager server (" + binary +
                       ") did not start; see its stderr");
  }
  address = line.substr(0, line.find('\n'));
  conn = internal::Connection::Open(address, authkey, std::nullopt,
                                    options.transport);
}

void Manager::Impl::Stop() {
  if (server_pid <= 0 || creator_pid != getpid()) return;
  if (lifeline_fd >= 0) close(lifeline_fd);  // the server's cue to exit
  lifeline_fd = -1;
  if (!WaitExit(server_pid, kStopTimeout)) {
    kill(server_pid, SIGKILL);
    WaitExit(server_pid, kStopTimeout);
  }
  server_pid = -1;
  if (!socket_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(socket_dir, ignored);
  }
}

Manager::Manager() : Manager(ManagerOptions{}) {}

Manager::Manager(ManagerOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->Start(std::move(options));
}

Manager::Manager(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Manager Manager::connect(const std::string& address, const std::string& authkey,
                         const ConnectOptions& options) {
  auto impl = std::make_shared<Impl>();
  impl->address = address;
  impl->authkey = authkey;
  impl->conn = internal::Connection::Open(address, authkey, options.tls,
                                          options.transport);
  return Manager(std::move(impl));
}

// The server this Manager started stops with it, even while NamedObjects
// made from it still share its connection (their calls then fail with
// ConnectionError), as proxies do.
Manager::~Manager() {
  if (impl_ != nullptr) impl_->Stop();
}
Manager::Manager(Manager&&) noexcept = default;
Manager& Manager::operator=(Manager&& other) noexcept {
  if (this != &other) {
    if (impl_ != nullptr) impl_->Stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const std::string& Manager::address() const { return impl_->address; }
const std::string& Manager::authkey() const { return impl_->authkey; }
std::string Manager::transport() const {
  return impl_->Conn().transport_name();
}

void Manager::shutdown() {
  if (impl_->server_pid > 0) {
    impl_->Stop();
    return;
  }
  v1::Call call;
  call.mutable_shutdown();
  impl_->Conn().Call(std::move(call));
}

namespace {

// Sends a Create (its `init` encoded for this connection) and adopts the
// reference the reply hands over.
std::shared_ptr<const internal::ProxyHandle> RunCreate(
    internal::Connection& conn, v1::Call call, const Object& init) {
  v1::Create* create = call.mutable_create();
  if (!init.is_none()) conn.Encode(init, create->mutable_init());
  const v1::ObjectType type = create->type();
  v1::Reply reply = conn.Call(std::move(call));
  return internal::HandleOf(conn.Decode(reply.value()), type);
}

v1::Call CreateCall(const std::string& name, bool must_exist,
                    v1::ObjectType type) {
  v1::Call call;
  v1::Create* create = call.mutable_create();
  create->set_type(type);
  create->set_name(name);
  create->set_must_exist(must_exist);
  return call;
}

int64_t BarrierMicros(const Timeout& timeout) {
  return timeout ? std::max<int64_t>(
                       1, static_cast<int64_t>(timeout->count() * 1e6))
                 : 0;
}

}  // namespace

std::shared_ptr<const internal::ProxyHandle> Manager::Make(
    const Target& target, internal::Kind kind, const Object& init,
    int64_t size, int64_t barrier_timeout_micros) {
  v1::Call call = CreateCall(target.name, target.must_exist,
                             static_cast<v1::ObjectType>(kind));
  v1::Create* create = call.mutable_create();
  create->set_size(size);
  create->set_barrier_timeout_micros(barrier_timeout_micros);
  return RunCreate(target.impl->Conn(), std::move(call), init);
}

std::shared_ptr<const internal::ProxyHandle> Manager::MakeValue(
    const Target& target, char typecode, const Object& init) {
  v1::Call call = CreateCall(target.name, target.must_exist, v1::VALUE);
  call.mutable_create()->set_typecode(std::string(1, typecode));
  auto handle = RunCreate(target.impl->Conn(), std::move(call), init);
  // An existing object's typecode is its own: asked for when needed.
  if (!target.must_exist) handle->typecode.store(typecode);
  return handle;
}

std::shared_ptr<const internal::ProxyHandle> Manager::MakeCustom(
    const Target& target, const std::string& type_name, Object::List args) {
  internal::Connection& conn = target.impl->Conn();
  v1::Call call = CreateCall(target.name, target.must_exist, v1::CUSTOM);
  v1::Create* create = call.mutable_create();
  create->set_type_name(type_name);
  for (const Object& arg : args) conn.Encode(arg, create->add_args());
  return RunCreate(conn, std::move(call), Object());
}

std::shared_ptr<const internal::ProxyHandle> Manager::MakeArray(
    const Target& target, char typecode, const Object& values, int64_t size) {
  v1::Call call = CreateCall(target.name, target.must_exist, v1::ARRAY);
  v1::Create* create = call.mutable_create();
  create->set_typecode(std::string(1, typecode));
  create->set_size(size);
  auto handle = RunCreate(target.impl->Conn(), std::move(call), values);
  if (!target.must_exist) handle->typecode.store(typecode);
  return handle;
}

// Manager's factories are NamedObjects' without a name.
DictProxy Manager::dict() const { return NamedObjects(Unnamed()).dict(); }
DictProxy Manager::dict(
    std::initializer_list<std::pair<Object, Object>> items) const {
  return NamedObjects(Unnamed()).dict(items);
}
DictProxy Manager::DictOf(const Object& contents) const {
  return NamedObjects(Unnamed()).DictOf(contents);
}
ListProxy Manager::list() const { return NamedObjects(Unnamed()).list(); }
ListProxy Manager::list(std::initializer_list<Object> items) const {
  return NamedObjects(Unnamed()).list(items);
}
ListProxy Manager::list(const Object& contents) const {
  return NamedObjects(Unnamed()).list(contents);
}
NamespaceProxy Manager::Namespace() const {
  return NamedObjects(Unnamed()).Namespace();
}
ValueProxy<Object> Manager::Value(char typecode, const Object& initial) const {
  return ValueProxy<Object>(MakeValue(Unnamed(), typecode, initial));
}
ArrayProxy<Object> Manager::Array(char typecode, size_t size) const {
  return ArrayProxy<Object>(
      MakeArray(Unnamed(), typecode, Object(), static_cast<int64_t>(size)));
}
ArrayProxy<Object> Manager::Array(char typecode, const Object& values) const {
  return ArrayProxy<Object>(MakeArray(Unnamed(), typecode, values, 0));
}
LockProxy Manager::Lock() const { return NamedObjects(Unnamed()).Lock(); }
RLockProxy Manager::RLock() const { return NamedObjects(Unnamed()).RLock(); }
SemaphoreProxy Manager::Semaphore(int64_t value) const {
  return NamedObjects(Unnamed()).Semaphore(value);
}
BoundedSemaphoreProxy Manager::BoundedSemaphore(int64_t value) const {
  return NamedObjects(Unnamed()).BoundedSemaphore(value);
}
ConditionProxy Manager::Condition() const {
  return NamedObjects(Unnamed()).Condition();
}
ConditionProxy Manager::Condition(const LockProxy& lock) const {
  return NamedObjects(Unnamed()).Condition(lock);
}
ConditionProxy Manager::Condition(const RLockProxy& lock) const {
  return NamedObjects(Unnamed()).Condition(lock);
}
EventProxy Manager::Event() const { return NamedObjects(Unnamed()).Event(); }
BarrierProxy Manager::Barrier(int64_t parties, Timeout timeout) const {
  return NamedObjects(Unnamed()).Barrier(parties, timeout);
}
QueueProxy Manager::Queue(int64_t maxsize) const {
  return NamedObjects(Unnamed()).Queue(maxsize);
}
JoinableQueueProxy Manager::JoinableQueue(int64_t maxsize) const {
  return NamedObjects(Unnamed()).JoinableQueue(maxsize);
}

DictProxy NamedObjects::dict() const {
  return DictProxy(Manager::Make(target_, internal::Kind::kDict, Object()));
}
DictProxy NamedObjects::dict(
    std::initializer_list<std::pair<Object, Object>> items) const {
  return DictOf(Object::dict(items));
}
DictProxy NamedObjects::DictOf(const Object& contents) const {
  return DictProxy(Manager::Make(target_, internal::Kind::kDict, contents));
}
ListProxy NamedObjects::list() const {
  return ListProxy(Manager::Make(target_, internal::Kind::kList, Object()));
}
ListProxy NamedObjects::list(std::initializer_list<Object> items) const {
  return list(Object::list(items));
}
ListProxy NamedObjects::list(const Object& contents) const {
  return ListProxy(Manager::Make(target_, internal::Kind::kList, contents));
}
NamespaceProxy NamedObjects::Namespace() const {
  return NamespaceProxy(
      Manager::Make(target_, internal::Kind::kNamespace, Object()));
}
LockProxy NamedObjects::Lock() const {
  return LockProxy(Manager::Make(target_, internal::Kind::kLock, Object()));
}
RLockProxy NamedObjects::RLock() const {
  return RLockProxy(Manager::Make(target_, internal::Kind::kRLock, Object()));
}
SemaphoreProxy NamedObjects::Semaphore(int64_t value) const {
  return SemaphoreProxy(
      Manager::Make(target_, internal::Kind::kSemaphore, Object(), value));
}
BoundedSemaphoreProxy NamedObjects::BoundedSemaphore(int64_t value) const {
  return BoundedSemaphoreProxy(Manager::Make(
      target_, internal::Kind::kBoundedSemaphore, Object(), value));
}
ConditionProxy NamedObjects::Condition() const {
  return ConditionProxy(
      Manager::Make(target_, internal::Kind::kCondition, Object()));
}
ConditionProxy NamedObjects::Condition(const LockProxy& lock) const {
  return ConditionProxy(
      Manager::Make(target_, internal::Kind::kCondition, lock.object()));
}
ConditionProxy NamedObjects::Condition(const RLockProxy& lock) const {
  return ConditionProxy(
      Manager::Make(target_, internal::Kind::kCondition, lock.object()));
}
EventProxy NamedObjects::Event() const {
  return EventProxy(Manager::Make(target_, internal::Kind::kEvent, Object()));
}
BarrierProxy NamedObjects::Barrier(int64_t parties, Timeout timeout) const {
  return BarrierProxy(Manager::Make(target_, internal::Kind::kBarrier,
                                    Object(), parties,
                                    BarrierMicros(timeout)));
}
QueueProxy NamedObjects::Queue(int64_t maxsize) const {
  return QueueProxy(
      Manager::Make(target_, internal::Kind::kQueue, Object(), maxsize));
}
JoinableQueueProxy NamedObjects::JoinableQueue(int64_t maxsize) const {
  return JoinableQueueProxy(Manager::Make(
      target_, internal::Kind::kJoinableQueue, Object(), maxsize));
}

Object Manager::stats() const {
  internal::Connection& conn = impl_->Conn();
  v1::Call call;
  call.mutable_stats();
  return conn.Decode(conn.Call(std::move(call)).value());
}

std::string Manager::inspect() const {
  std::ostringstream report;
  internal::PrintInspection(internal::FetchInspection(impl_->Conn()), report);
  return report.str();
}

bool NamedObjects::remove() const {
  internal::Connection& conn = target_.impl->Conn();
  v1::Call call;
  call.mutable_delete_name()->set_name(target_.name);
  return conn.Decode(conn.Call(std::move(call)).value()).as_bool();
}

}  // namespace mp
