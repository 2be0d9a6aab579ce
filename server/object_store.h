// The server's index of live objects and its registry of named objects.
#ifndef MP_SERVER_OBJECT_STORE_H_
#define MP_SERVER_OBJECT_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/server_object.h"

namespace mp::server {

// Thread-safe. The index is sharded so that creating and destroying objects
// in different sessions rarely contend.
class ObjectStore {
 public:
  ObjectStore();
  ~ObjectStore();

  // A fresh id: a keyed bijection of a counter, so ids look random, are
  // never 0 and are never reused during the server's life.
  uint64_t NewId();

  // Indexes a newly made object. `make` receives the new id.
  std::shared_ptr<ServerObject> Add(
      const std::function<std::shared_ptr<ServerObject>(uint64_t id)>& make);

  // The live object with this id, or nullptr.
  std::shared_ptr<ServerObject> Find(uint64_t id) const;

  // Returns the object registered under `name`, or makes one with `make`,
  // registers it and returns it. Atomic: concurrent callers get the same
  // object. Named objects live until DeleteName or server shutdown.
  std::shared_ptr<ServerObject> GetOrCreateNamed(
      const std::string& name,
      const std::function<std::shared_ptr<ServerObject>(uint64_t id)>& make);
  // The object registered under `name`, or nullptr.
  std::shared_ptr<ServerObject> FindNamed(const std::string& name) const;
  bool DeleteName(const std::string& name);

  size_t object_count() const { return live_.load(std::memory_order_relaxed); }
  size_t named_count() const;

  // Calls `fn` for each live object with its registered name ("" if none),
  // outside the store's locks. Objects created or destroyed meanwhile may
  // or may not be seen.
  void ForEach(const std::function<void(const std::shared_ptr<ServerObject>&,
                                        const std::string& name)>& fn) const;

  // Called by ~ServerObject.
  void Remove(uint64_t id);

 private:
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<uint64_t, std::weak_ptr<ServerObject>> objects
        ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(uint64_t id) const { return shards_[id % kShards]; }

  const uint64_t id_key_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<size_t> live_{0};
  mutable std::array<Shard, kShards> shards_;

  mutable absl::Mutex named_mu_;
  // Declared after the shards so it is destroyed first: its objects remove
  // themselves from the shards as they die.
  absl::flat_hash_map<std::string, std::shared_ptr<ServerObject>> named_
      ABSL_GUARDED_BY(named_mu_);
};

}  // namespace mp::server

#endif  // MP_SERVER_OBJECT_STORE_H_
