#include "process/task_codec.h"

#include <google/protobuf/arena.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "absl/container/flat_hash_map.h"
#include "common/fd_ref.h"
#include "common/wire_codec.h"
#include "mp/errors.h"
#include "mp/v1/process.pb.h"
#include "process/code_location.h"
#include "proxy/connection.h"
#include "proxy/proxy_handle.h"

namespace mp::internal {

namespace {

// Calls `fn` on every proxy in `value`, depth first; stops when it returns
// true, and returns whether it did.
template <class Fn>
bool AnyProxy(const Object& value, Fn&& fn) {
  switch (value.type()) {
    case Object::Type::kProxy:
      return fn(value);
    case Object::Type::kList:
    case Object::Type::kTuple:
      for (const Object& item : value.as_list()) {
        if (AnyProxy(item, fn)) return true;
      }
      return false;
    case Object::Type::kDict:
      for (const auto& [k, v] : value.as_dict()) {
        if (AnyProxy(k, fn) || AnyProxy(v, fn)) return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace

bool ContainsProxy(const Object& value) {
  // A shared object's descriptor reaches the child with the task itself:
  // nothing to wait for.
  return AnyProxy(value, [](const Object& proxy) {
    return dynamic_cast<const FdRef*>(proxy.as_proxy().get()) == nullptr;
  });
}

namespace {

// Uses every proxy in `value` once from this process, which attaches it to
// this process's own session.
void AttachProxies(const Object& value) {
  AnyProxy(value, [](const Object& proxy) {
    if (auto h =
            std::dynamic_pointer_cast<const ProxyHandle>(proxy.as_proxy())) {
      h->conn();
    }
    return false;
  });
}

void SignalReady(int ready_fd) {
  if (ready_fd < 0) return;
  // The parent may have stopped listening (it only waits when there are
  // proxies to attach): that must not kill us with SIGPIPE.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  (void)!write(ready_fd, "r", 1);
  sigaction(SIGPIPE, &old, nullptr);
  close(ready_fd);
}

// What Python's child bootstrap prints for an uncaught exception.
int ReportFailure(const char* type, const std::string& message) {
  std::cout.flush();
  std::fprintf(stderr,
               "Process %s:\nTraceback (most recent call last):\n%s: %s\n",
               current_process().name().c_str(), type, message.c_str());
  std::fflush(stderr);
  return 1;
}

template <class Body>
int Guarded(Body body) {
  try {
    body();
    std::cout.flush();
    std::fflush(stdout);
    return 0;
  } catch (const Error& e) {
    return ReportFailure(e.type_name().c_str(), e.message());
  } catch (const std::exception& e) {
    return ReportFailure("Exception", e.what());
  }
}

Transport TransportFromWire(int32_t value) {
  switch (value) {
    case static_cast<int32_t>(Transport::kGrpc):
      return Transport::kGrpc;
    case static_cast<int32_t>(Transport::kLocal):
      return Transport::kLocal;
    default:
      return Transport::kAuto;
  }
}

}  // namespace

namespace {

void EncodeValueCarrying(
    const Object& value, v1::Value* out,
    google::protobuf::RepeatedPtrField<v1::ManagerRef>* managers,
    CarriedOut* carried) {
  absl::flat_hash_map<uint64_t, bool> seen;
  for (const auto& m : *managers) seen[m.server_id()] = true;
  EncodeValue(value, out, [&](const ObjectRef& ref, v1::ProxyRef* pb) {
    if (auto* fd_ref = dynamic_cast<const FdRef*>(&ref)) {
      // Each object once (at most kMaxCarriedFds of them: a linear search
      // is enough).
      auto it = std::find(carried->seen.begin(), carried->seen.end(),
                          static_cast<const void*>(fd_ref));
      const uint64_t index = it - carried->seen.begin();
      if (it == carried->seen.end()) {
        if (carried->fds->size() >= kMaxCarriedFds) {
          throw ValueError(
              "too many shared objects and Connection ends in one task or "
              "message (at most " +
              std::to_string(kMaxCarriedFds) + ")");
        }
        carried->seen.push_back(fd_ref);
        carried->fds->push_back(fd_ref->fd());
        v1::CarriedFd* spec = carried->specs->Add();
        spec->set_kind(fd_ref->kind());
        spec->set_meta(fd_ref->meta());
      }
      pb->set_id(index);
      pb->set_type(v1::OBJECT_TYPE_UNSPECIFIED);
      pb->set_server_id(0);
      return;
    }
    auto* handle = dynamic_cast<const ProxyHandle*>(&ref);
    if (handle == nullptr) throw TypeError("not a client proxy");
    Connection& conn = handle->conn();
    pb->set_id(handle->id());
    pb->set_type(handle->type());
    pb->set_type_name(handle->custom_name());
    pb->set_server_id(conn.server_id());
    if (!seen[conn.server_id()]) {
      seen[conn.server_id()] = true;
      v1::ManagerRef* m = managers->Add();
      m->set_server_id(conn.server_id());
      m->set_address(conn.address());
      m->set_authkey(conn.authkey());
      m->set_transport(static_cast<int32_t>(conn.requested_transport()));
      if (const auto& tls = conn.tls()) {
        v1::TlsMaterial* pem = m->mutable_tls();
        pem->set_ca_certs(tls->ca_certs);
        pem->set_cert_chain(tls->cert_chain);
        pem->set_private_key(tls->private_key);
        pem->set_server_name(tls->server_name);
      }
    }
  });
}

}  // namespace

Object DecodeWithManagers(
    const v1::Value& value,
    const google::protobuf::RepeatedPtrField<v1::ManagerRef>& managers,
    const std::vector<Object>& carried) {
  return DecodeValue(value, [&](const v1::ProxyRef& ref) {
    if (ref.server_id() == 0 && ref.type() == v1::OBJECT_TYPE_UNSPECIFIED) {
      if (ref.id() >= carried.size()) {
        throw ProcessError("a shared object's descriptor did not arrive");
      }
      return carried[ref.id()];
    }
    for (const v1::ManagerRef& m : managers) {
      if (m.server_id() != ref.server_id()) continue;
      std::optional<TlsOptions> tls;
      if (m.has_tls()) {
        tls = TlsOptions{m.tls().ca_certs(), m.tls().cert_chain(),
                         m.tls().private_key(), m.tls().server_name()};
      }
      std::shared_ptr<Connection> conn = Connection::Get(
          m.address(), m.authkey(), tls, TransportFromWire(m.transport()));
      if (conn->server_id() != ref.server_id()) {
        throw ConnectionError("the manager at " + m.address() +
                              " was restarted; a proxy passed to this "
                              "process belongs to its previous run");
      }
      v1::Call incref;
      incref.mutable_incref()->add_ids(ref.id());
      conn->Call(std::move(incref));
      return Object::proxy(std::make_shared<ProxyHandle>(
          conn, ref.id(), ref.type(), ref.type_name()));
    }
    throw ProcessError("a proxy names an unknown manager");
  });
}

void EncodeWithManagers(
    const Object& value, v1::Value* out,
    google::protobuf::RepeatedPtrField<v1::ManagerRef>* managers,
    CarriedOut* carried) {
  EncodeValueCarrying(value, out, managers, carried);
}

std::vector<Object> AdoptCarried(
    const google::protobuf::RepeatedPtrField<v1::CarriedFd>& specs,
    ReceivedFds fds) {
  const std::vector<int> owned = fds.Release();
  std::vector<Object> carried;
  carried.reserve(owned.size());
  for (size_t i = 0; i < owned.size(); ++i) {
    const v1::CarriedFd* c = static_cast<int>(i) < specs.size()
                                 ? &specs[static_cast<int>(i)]
                                 : nullptr;
    carried.push_back(Object::proxy(std::make_shared<FdRef>(
        owned[i], c ? c->kind() : "", c ? c->meta() : "", nullptr)));
  }
  if (static_cast<size_t>(specs.size()) != carried.size()) {
    throw ProcessError("expected " + std::to_string(specs.size()) +
                       " descriptors with the message, got " +
                       std::to_string(carried.size()));
  }
  return carried;
}

// Messages of Pool chunks hold one Value per item: an arena turns their
// many small allocations into a few (measured: malloc/free were half the
// cost of a large Pool.map).
std::string EncodeTransfer(const Object& value, std::vector<int>* fds) {
  google::protobuf::Arena arena;
  auto* spec = google::protobuf::Arena::CreateMessage<v1::TaskSpec>(&arena);
  CarriedOut carried{spec->mutable_carried(), fds};
  EncodeWithManagers(value, spec->mutable_args(), spec->mutable_managers(),
                     &carried);
  return spec->SerializeAsString();
}

Object DecodeTransfer(const std::string& bytes, ReceivedFds fds) {
  google::protobuf::Arena arena;
  auto* spec = google::protobuf::Arena::CreateMessage<v1::TaskSpec>(&arena);
  if (!spec->ParseFromString(bytes)) throw ValueError("malformed message");
  const std::vector<Object> carried =
      AdoptCarried(spec->carried(), std::move(fds));
  return DecodeWithManagers(spec->args(), spec->managers(), carried);
}

std::string EncodeTask(const Task& task, const std::string& name,
                       const std::string& start_method,
                       std::vector<int>* carried) {
  v1::TaskSpec spec;
  CodeLocation fn = Locate(task.fn);
  CodeLocation trampoline =
      Locate(reinterpret_cast<const void*>(task.trampoline));
  spec.set_object_path(fn.object_path);
  if (trampoline.object_path != fn.object_path) {
    spec.set_trampoline_object_path(trampoline.object_path);
  }
  spec.set_fn_offset(fn.offset);
  spec.set_trampoline_offset(trampoline.offset);
  spec.set_name(name);
  spec.set_parent_pid(getpid());
  spec.set_parent_name(current_process().name());
  spec.set_start_method(start_method);
  CarriedOut fds{spec.mutable_carried(), carried};
  EncodeValueCarrying(task.args, spec.mutable_args(), spec.mutable_managers(),
                      &fds);
  return spec.SerializeAsString();
}

int RunEncodedTask(const std::string& bytes, int ready_fd,
                   const std::vector<int>& carried_fds) {
  // Each received descriptor is owned by an FdRef from here on, so those
  // the task does not name are closed too.
  std::vector<Object> carried;
  v1::TaskSpec spec;
  const bool parsed = spec.ParseFromString(bytes);
  for (size_t i = 0; i < carried_fds.size(); ++i) {
    const v1::CarriedFd* c = parsed && static_cast<int>(i) < spec.carried_size()
                                 ? &spec.carried(i)
                                 : nullptr;
    carried.push_back(Object::proxy(std::make_shared<FdRef>(
        carried_fds[i], c ? c->kind() : "", c ? c->meta() : "", nullptr)));
  }
  if (!parsed) {
    SignalReady(ready_fd);
    return ReportFailure("ProcessError", "malformed task from the parent");
  }
  SetProcessIdentity(spec.name(), static_cast<pid_t>(spec.parent_pid()),
                     spec.parent_name(), spec.start_method());
  Object args;
  Trampoline trampoline = nullptr;
  void* fn = nullptr;
  int code = Guarded([&] {
    fn = Resolve({spec.object_path(), spec.fn_offset()});
    trampoline = reinterpret_cast<Trampoline>(Resolve(
        {spec.has_trampoline_object_path() ? spec.trampoline_object_path()
                                           : spec.object_path(),
         spec.trampoline_offset()}));
    if (static_cast<size_t>(spec.carried_size()) != carried.size()) {
      throw ProcessError("expected " + std::to_string(spec.carried_size()) +
                         " descriptors from the parent, got " +
                         std::to_string(carried.size()));
    }
    args = DecodeWithManagers(spec.args(), spec.managers(), carried);
  });
  carried.clear();
  SignalReady(ready_fd);
  if (code != 0) return code;
  return Guarded([&] { trampoline(fn, args); });
}

int RunTaskInChild(const Task& task, int ready_fd) {
  int code = Guarded([&] { AttachProxies(task.args); });
  SignalReady(ready_fd);
  if (code != 0) return code;
  return Guarded([&] {
    if (task.closure) {
      task.closure();
    } else {
      task.trampoline(task.fn, task.args);
    }
  });
}

}  // namespace mp::internal
