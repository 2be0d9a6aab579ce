#include "server/object_store.h"

#include <cstring>
#include <utility>

#include "common/auth.h"
#include "common/wire_codec.h"

namespace mp::server {
namespace {

// A keyed permutation of 64-bit integers (xor-key, then the splitmix64
// finalizer, which is invertible), so distinct counters give distinct ids.
uint64_t Permute(uint64_t x, uint64_t key) {
  x ^= key;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t RandomKey() {
  std::string bytes = internal::RandomBytes(8);
  uint64_t key;
  std::memcpy(&key, bytes.data(), 8);
  return key;
}

}  // namespace

ServerObject::~ServerObject() { store_->Remove(id_); }

std::string_view ServerObject::type_name() const {
  return internal::ObjectTypeName(type_);
}

ObjectStore::ObjectStore() : id_key_(RandomKey()) {}

ObjectStore::~ObjectStore() {
  absl::flat_hash_map<std::string, std::shared_ptr<ServerObject>> named;
  {
    absl::MutexLock lock(&named_mu_);
    named.swap(named_);
  }
}

uint64_t ObjectStore::NewId() {
  for (;;) {
    uint64_t id =
        Permute(next_id_.fetch_add(1, std::memory_order_relaxed), id_key_);
    if (id != 0) return id;
  }
}

std::shared_ptr<ServerObject> ObjectStore::Add(
    const std::function<std::shared_ptr<ServerObject>(uint64_t)>& make) {
  uint64_t id = NewId();
  std::shared_ptr<ServerObject> obj = make(id);
  Shard& shard = ShardFor(id);
  {
    absl::MutexLock lock(&shard.mu);
    shard.objects.emplace(id, obj);
  }
  live_.fetch_add(1, std::memory_order_relaxed);
  return obj;
}

std::shared_ptr<ServerObject> ObjectStore::Find(uint64_t id) const {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.objects.find(id);
  return it == shard.objects.end() ? nullptr : it->second.lock();
}

void ObjectStore::Remove(uint64_t id) {
  Shard& shard = ShardFor(id);
  {
    absl::MutexLock lock(&shard.mu);
    shard.objects.erase(id);
  }
  live_.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<ServerObject> ObjectStore::GetOrCreateNamed(
    const std::string& name,
    const std::function<std::shared_ptr<ServerObject>(uint64_t)>& make) {
  absl::MutexLock lock(&named_mu_);
  auto it = named_.find(name);
  if (it != named_.end()) return it->second;
  std::shared_ptr<ServerObject> obj = Add(make);
  named_.emplace(name, obj);
  return obj;
}

std::shared_ptr<ServerObject> ObjectStore::FindNamed(
    const std::string& name) const {
  absl::MutexLock lock(&named_mu_);
  auto it = named_.find(name);
  return it == named_.end() ? nullptr : it->second;
}

bool ObjectStore::DeleteName(const std::string& name) {
  std::shared_ptr<ServerObject> dropped;  // dies outside the lock
  absl::MutexLock lock(&named_mu_);
  auto it = named_.find(name);
  if (it == named_.end()) return false;
  dropped = std::move(it->second);
  named_.erase(it);
  return true;
}

size_t ObjectStore::named_count() const {
  absl::MutexLock lock(&named_mu_);
  return named_.size();
}

void ObjectStore::ForEach(
    const std::function<void(const std::shared_ptr<ServerObject>&,
                             const std::string& name)>& fn) const {
  absl::flat_hash_map<uint64_t, std::string> names;
  {
    absl::MutexLock lock(&named_mu_);
    for (const auto& [name, object] : named_) names[object->id()] = name;
  }
  std::vector<std::shared_ptr<ServerObject>> objects;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [id, weak] : shard.objects) {
      if (auto object = weak.lock()) objects.push_back(std::move(object));
    }
  }
  for (const auto& object : objects) {
    auto it = names.find(object->id());
    fn(object, it == names.end() ? std::string() : it->second);
  }
}

}  // namespace mp::server
