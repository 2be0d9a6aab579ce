// Accounting of the bytes a client keeps stored in the manager
// (ServerOptions::max_stored_bytes_per_session).
//
// Each object's contents are charged to the session that created it: the
// session's ByteQuota is shared by the session and every container it made,
// and outlives the session while such containers do (named objects, objects
// stored in other objects). Whoever writes into a container - its creator or
// another client sharing it - grows its creator's charge, so one client's
// objects can never hold more than the limit, and the whole server at most
// (clients x limit).
//
// Each object's contents are also held to a cap on one object
// (ServerOptions::max_object_bytes), whoever writes: a small call that would
// make one object huge (list *= n, Array('d', 2**31)) is refused before
// anything is allocated.
//
// Sizes are an estimate of what the server holds, not of the wire format: the
// bytes of strings plus a fixed cost per element (see StoredSize), counted
// once per reference (a list holding one string n times costs n strings: what
// copying it out would cost). Without a limit nothing is measured at all.
#ifndef MP_SERVER_BYTE_QUOTA_H_
#define MP_SERVER_BYTE_QUOTA_H_

#include <atomic>
#include <cstddef>
#include <memory>

#include "mp/object.h"

namespace mp::server {

// Thread-safe.
class ByteQuota {
 public:
  explicit ByteQuota(size_t limit) : limit_(limit) {}

  // Takes `bytes` more, or throws mp::MemoryError naming the limit and
  // leaves the charge unchanged.
  void Charge(size_t bytes);
  // Takes `bytes` more even beyond the limit: for contents coming back
  // (a queue item a dead consumer never acknowledged).
  void ForceCharge(size_t bytes) noexcept;
  void Refund(size_t bytes) noexcept;

  size_t used() const noexcept { return used_.load(); }
  size_t limit() const noexcept { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

// The estimated bytes `value` takes stored in the server.
size_t StoredSize(const Object& value);

// What one container holds, charged to its creator's quota and held to the
// cap on one object. Not thread-safe: the container guards it with its own
// mutex. Move-only; gives back whatever it still holds when destroyed.
class StoredBytes {
 public:
  StoredBytes() = default;  // not limited: every call is a no-op
  // `quota`: the creator's (null: none); `max_object_bytes`: the most this
  // one container may hold (0: no cap).
  explicit StoredBytes(std::shared_ptr<ByteQuota> quota,
                       size_t max_object_bytes = 0)
      : quota_(std::move(quota)), max_bytes_(max_object_bytes) {}
  ~StoredBytes() { Reset(); }
  StoredBytes(StoredBytes&& other) noexcept
      : quota_(std::move(other.quota_)),
        max_bytes_(other.max_bytes_),
        bytes_(other.bytes_) {
    other.bytes_ = 0;
  }
  StoredBytes& operator=(StoredBytes&&) = delete;
  StoredBytes(const StoredBytes&) = delete;

  // StoredSize(value), or 0 without a limit (nothing is measured then).
  size_t SizeOf(const Object& value) const {
    return measured() ? StoredSize(value) : 0;
  }
  template <class Range>
  size_t SizeOfAll(const Range& values) const {
    size_t total = 0;
    if (measured()) {
      for (const Object& v : values) total += StoredSize(v);
    }
    return total;
  }

  // The container is about to replace `removed` bytes of contents with
  // `added` bytes. Call it before changing - or allocating - anything: a
  // growth beyond the cap or the quota throws mp::MemoryError naming the
  // limit, and charges nothing.
  void Change(size_t added, size_t removed);
  // The same for contents that must be taken back whatever the limit.
  void ForceChange(size_t added, size_t removed) noexcept;
  // Everything goes (clear()).
  void Reset() noexcept { ForceChange(0, bytes_); }

  size_t bytes() const { return bytes_; }

 private:
  bool measured() const { return quota_ != nullptr || max_bytes_ != 0; }

  std::shared_ptr<ByteQuota> quota_;
  size_t max_bytes_ = 0;
  size_t bytes_ = 0;
};

}  // namespace mp::server

#endif  // MP_SERVER_BYTE_QUOTA_H_
