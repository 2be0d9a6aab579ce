// The shared state behind every copy of a proxy: one reference, held by
// one session, on one server object.
#ifndef MP_PROXY_PROXY_HANDLE_H_
#define MP_PROXY_PROXY_HANDLE_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "mp/object.h"
#include "proxy/connection.h"

namespace mp::internal {

// Thread-safe. The destructor gives the reference back, but only from the
// process that owns it: a forked child never releases its parent's
// references, it takes its own on first use (see conn()).
class ProxyHandle final : public ObjectRef {
 public:
  // Adopts one reference already held by `conn`'s session.
  // `custom_name`: a CUSTOM object's registered type name, as the server
  // sent it (ProxyRef.type_name); type_name() returns it when not empty.
  ProxyHandle(std::shared_ptr<Connection> conn, uint64_t id,
              v1::ObjectType type, std::string custom_name = {})
      : conn_(std::move(conn)),
        id_(id),
        type_(type),
        custom_name_(std::move(custom_name)) {}
  ~ProxyHandle() override;

  uint64_t id() const override { return id_; }
  std::string_view type_name() const override;
  v1::ObjectType type() const { return type_; }
  const std::string& custom_name() const { return custom_name_; }
  uint64_t server_id() const { return conn_->server_id(); }

  // The connection to use from the calling process. In a process other
  // than the one that received the reference (a fork child), attaches the
  // object to that process's own session first.
  Connection& conn() const;

  // Runs `call` on this object.
  v1::Reply Call(v1::Call call,
                 absl::Duration timeout = Connection::kDefaultTimeout) const;
  std::shared_ptr<PendingCall> CallAsync(v1::Call call) const;

  // Value/Array typecode, remembered after the first lookup (0: unknown).
  mutable std::atomic<char> typecode{0};

 private:
  const std::shared_ptr<Connection> conn_;
  const uint64_t id_;
  const v1::ObjectType type_;
  const std::string custom_name_;
  mutable absl::Mutex mu_;
  mutable pid_t attached_pid_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::shared_ptr<Connection> attached_ ABSL_GUARDED_BY(mu_);
};

// The handle inside a proxy Object, checked to be a proxy of `type`.
std::shared_ptr<const ProxyHandle> HandleOf(const Object& object,
                                            v1::ObjectType type);

}  // namespace mp::internal

#endif  // MP_PROXY_PROXY_HANDLE_H_
