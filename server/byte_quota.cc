#include "server/byte_quota.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "mp/errors.h"

namespace mp::server {
namespace {

// What any stored value costs beyond its own bytes: the value cell and its
// share of the container's bookkeeping.
constexpr size_t kPerValue = 16;

}  // namespace

void ByteQuota::Charge(size_t bytes) {
  size_t used = used_.load();
  do {
    if (bytes > limit_ || used > limit_ - bytes) {
      throw MemoryError(
          "the objects this client created would hold " +
          std::to_string(used + bytes) + " bytes, over the server's limit of " +
          std::to_string(limit_) +
          " per session (max_stored_bytes_per_session); remove or release "
          "some first");
    }
  } while (!used_.compare_exchange_weak(used, used + bytes));
}

void ByteQuota::ForceCharge(size_t bytes) noexcept { used_.fetch_add(bytes); }

void ByteQuota::Refund(size_t bytes) noexcept { used_.fetch_sub(bytes); }

size_t StoredSize(const Object& value) {
  switch (value.type()) {
    case Object::Type::kStr:
      return kPerValue + value.as_str().size();
    case Object::Type::kBytes:
      return kPerValue + value.as_bytes().size();
    case Object::Type::kList:
    case Object::Type::kTuple: {
      size_t total = kPerValue;
      for (const Object& e : value.as_list()) total += StoredSize(e);
      return total;
    }
    case Object::Type::kDict: {
      size_t total = kPerValue;
      for (const auto& [k, v] : value.as_dict()) {
        total += StoredSize(k) + StoredSize(v);
      }
      return total;
    }
    default:
      return kPerValue;
  }
}

void StoredBytes::Change(size_t added, size_t removed) {
  if (!measured() || added <= removed) return ForceChange(added, removed);
  const size_t growth = added - removed;
  if (max_bytes_ != 0 &&
      (growth > max_bytes_ || bytes_ > max_bytes_ - growth)) {
    throw MemoryError(
        "this object would hold " +
        std::to_string(bytes_ + std::min(growth, SIZE_MAX - bytes_)) +
        " bytes, over the server's limit of " + std::to_string(max_bytes_) +
        " per object (max_object_bytes)");
  }
  if (quota_ != nullptr) quota_->Charge(growth);
  bytes_ += growth;
}

void StoredBytes::ForceChange(size_t added, size_t removed) noexcept {
  if (!measured() || added == removed) return;
  if (added > removed) {
    if (quota_ != nullptr) quota_->ForceCharge(added - removed);
    bytes_ += added - removed;
  } else {
    // Never more than was charged, whatever the estimate of the removed
    // contents says.
    const size_t refund = std::min(removed - added, bytes_);
    if (quota_ != nullptr) quota_->Refund(refund);
    bytes_ -= refund;
  }
}

}  // namespace mp::server
