#include "server/session.h"

#include <sstream>
#include <utility>

#include "mp/errors.h"

namespace mp::server {

std::shared_ptr<ServerObject> Session::Lookup(uint64_t id) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(id);
    if (it != held_.end()) return it->second.object;
  }
  std::ostringstream msg;
  msg << "no object with id 0x" << std::hex << id
      << " is held by this session (released, never existed, or from "
         "another server)";
  throw ReferenceError(msg.str());
}

void Session::AddRef(std::shared_ptr<ServerObject> object) {
  uint64_t id = object->id();
  absl::MutexLock lock(&mu_);
  Held& held = held_[id];
  if (held.object == nullptr) held.object = std::move(object);
  ++held.count;
}

bool Session::Release(uint64_t id) {
  std::shared_ptr<ServerObject> dropped;  // may die here, outside the lock
  absl::MutexLock lock(&mu_);
  auto it = held_.find(id);
  if (it == held_.end()) return false;
  if (--it->second.count == 0) {
    dropped = std::move(it->second.object);
    held_.erase(it);
  }
  return true;
}

void Session::ReleaseAll() {
  absl::flat_hash_map<uint64_t, Held> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped.swap(held_);
  }
}

size_t Session::held_objects() const {
  absl::MutexLock lock(&mu_);
  return held_.size();
}

}  // namespace mp::server
