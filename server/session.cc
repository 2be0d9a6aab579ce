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

void Session::NoteParked(uint64_t call_id) {
  absl::MutexLock lock(&mu_);
  parked_.insert(call_id);
}

bool Session::Deliver(v1::Reply reply) {
  {
    // Checked and recorded together, so EndWithError answers exactly the
    // calls nobody else answered.
    absl::MutexLock lock(&mu_);
    if (ended_) return false;
    parked_.erase(reply.call_id());
  }
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

void Session::ExpectAck(uint64_t call_id, std::function<void()> on_lost) {
  absl::MutexLock lock(&mu_);
  unacked_[call_id] = std::move(on_lost);
}

void Session::Acked(uint64_t call_id) {
  std::function<void()> dropped;
  absl::MutexLock lock(&mu_);
  auto it = unacked_.find(call_id);
  if (it == unacked_.end()) return;
  dropped = std::move(it->second);
  unacked_.erase(it);
}

void Session::End() {
  Detach();
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
  }
  GiveBackAll();
}

void Session::GiveBackAll() {
  absl::flat_hash_map<uint64_t, std::weak_ptr<ServerObject>> leases;
  absl::flat_hash_map<uint64_t, Held> held;
  std::map<uint64_t, std::function<void()>> unacked;
  {
    absl::MutexLock lock(&mu_);
    leases.swap(leases_);
    unacked.swap(unacked_);
    parked_.clear();
  }
  // Newest first: each goes back to the head of its queue, so the oldest
  // ends up in front.
  for (auto it = unacked.rbegin(); it != unacked.rend(); ++it) it->second();
  for (auto& [id, weak] : leases) {
    if (auto object = weak.lock()) object->OnSessionEnd(*this);
  }
  {
    absl::MutexLock lock(&mu_);
    held.swap(held_);
  }
  // `held` dies here, outside the lock.
}

void Session::EndWithError(const std::string& type,
                           const std::string& message) {
  absl::flat_hash_set<uint64_t> parked;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    // From here Deliver refuses: an object completing a parked call now
    // undoes its grant (the item stays queued, the permit stays free).
    ended_ = true;
    parked.swap(parked_);
  }
  {
    absl::MutexLock lock(&sink_mu_);
    for (uint64_t call_id : parked) {
      if (sink_ == nullptr) break;
      v1::Reply reply;
      reply.set_call_id(call_id);
      reply.mutable_error()->set_type(type);
      reply.mutable_error()->set_message(message);
      sink_->Deliver(std::move(reply));
    }
  }
  Detach();
  GiveBackAll();
}

bool Session::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

size_t Session::held_objects() const {
  absl::MutexLock lock(&mu_);
  return held_.size();
}

size_t Session::lease_count() const {
  absl::MutexLock lock(&mu_);
  return leases_.size();
}

size_t Session::unacked_count() const {
  absl::MutexLock lock(&mu_);
  return unacked_.size();
}

}  // namespace mp::server
