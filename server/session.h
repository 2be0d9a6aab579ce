// A client's session: the references it holds. The session is the lease:
// when its stream ends, for whatever reason, everything it held is dropped.
#ifndef MP_SERVER_SESSION_H_
#define MP_SERVER_SESSION_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/server_object.h"

namespace mp::server {

// Thread-safe.
class Session {
 public:
  explicit Session(uint64_t id) : id_(id) {}
  ~Session() { ReleaseAll(); }

  uint64_t id() const { return id_; }

  // The object `id` if this session holds a reference to it; otherwise
  // throws mp::ReferenceError. Holding a reference is what entitles a
  // session to operate on an object.
  std::shared_ptr<ServerObject> Lookup(uint64_t id) const;

  // Adds one reference.
  void AddRef(std::shared_ptr<ServerObject> object);
  // Drops one reference; false if the session held none.
  bool Release(uint64_t id);
  // Drops every reference (the session ended).
  void ReleaseAll();

  size_t held_objects() const;

 private:
  struct Held {
    std::shared_ptr<ServerObject> object;
    int64_t count = 0;
  };
  const uint64_t id_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Held> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_SESSION_H_
