#include "server/session.h"

#include <sstream>
#include <utility>
#include <vector>

#include "mp/errors.h"

namespace mp::server {

Session::~Session() { End(); }

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

void Session::AddLease(const std::shared_ptr<ServerObject>& object) {
  absl::MutexLock lock(&mu_);
  leases_.emplace(object->id(), object);
}

bool Session::Deliver(v1::Reply reply) {
  absl::MutexLock lock(&sink_mu_);
  return sink_ != nullptr && sink_->Deliver(std::move(reply));
}

void Session::Attach(ReplySink* sink) {
  absl::MutexLock lock(&sink_mu_);
  sink_ = sink;
}

void Session::Detach() {
  absl::MutexLock lock(&sink_mu_);
  sink_ = nullptr;
}

void Session::End() {
  Detach();
  absl::flat_hash_map<uint64_t, std::weak_ptr<ServerObject>> leases;
  absl::flat_hash_map<uint64_t, Held> held;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    leases.swap(leases_);
  }
  for (auto& [id, weak] : leases) {
    if (auto object = weak.lock()) object->OnSessionEnd(*this);
  }
  {
    absl::MutexLock lock(&mu_);
    held.swap(held_);
  }
  // `held` dies here, outside the lock.
}

bool Session::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

size_t Session::held_objects() const {
  absl::MutexLock lock(&mu_);
  return held_.size();
}

}  // namespace mp::server
