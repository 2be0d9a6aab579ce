// Internal to mp (the byte level of mp/queue.h, in mp_shared; mp_process
// encodes items with the codec and stores them here). shared/queue_ring.cc
// has the memory layout and the kill-safety argument.
#ifndef MP_DETAIL_QUEUE_RING_H_
#define MP_DETAIL_QUEUE_RING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mp/detail/shared_segment.h"
#include "mp/proxy.h"

namespace mp::internal {

// Which class a queue segment was made for (checked by from_object).
enum class QueueVariant : uint32_t {
  kQueue = 1,
  kSimpleQueue = 2,
  kJoinableQueue = 3,
};

// The default virtual size of a queue's ring (shared/queue_ring.cc: why).
inline constexpr uint64_t kRingBytes = uint64_t{1} << 32;

// A FIFO of byte strings in one memfd segment, shared by every process that
// maps it. Thread safety: every method may be called from any thread of any
// process at once.
class QueueRing {
 public:
  // A new empty queue; maxsize <= 0: unbounded (in items). `ring_bytes`:
  // the virtual size of its ring (a multiple of 4096; tests make it small).
  static std::shared_ptr<Segment> Create(QueueVariant variant, int64_t maxsize,
                                         uint64_t ring_bytes = kRingBytes);
  // TypeError unless `segment` is a queue.
  explicit QueueRing(std::shared_ptr<Segment> segment);

  QueueVariant variant() const;
  int64_t maxsize() const;  // 0: unbounded
  const std::shared_ptr<Segment>& segment() const { return segment_; }

  // Appends `item`. Waits while a bounded queue is full, until `timeout`
  // (nullopt: forever; block = false: not at all); false when it is still
  // full. ValueError for an item larger than the ring; MemoryError when the
  // items already queued leave no room for it (the ring's bytes are virtual:
  // only that much data can be queued at once, see kRingBytes).
  bool Put(std::string_view item, bool block, const Timeout& timeout) const;
  // Removes the oldest item into `out`; waits like Put; false when still
  // empty.
  bool Get(std::string* out, bool block, const Timeout& timeout) const;
  int64_t Size() const;
  // JoinableQueue: one item is done; ValueError if none is unfinished.
  void TaskDone() const;
  // Waits until no item is unfinished; false on timeout.
  bool Join(const Timeout& timeout) const;
  int64_t Unfinished() const;

 private:
  std::shared_ptr<Segment> segment_;
  void* state_;
};

// Tests only (tests/shared/queue_test.cc): `hook` runs in this process at
// `point`, with the queue's lock held, after an item was copied and before
// the step that commits it - a test stops the process there and kills it.
enum class QueueTestPoint { kGetCopied, kPutCopied };
void SetQueueTestHook(std::function<void(QueueTestPoint)> hook);

}  // namespace mp::internal

#endif  // MP_DETAIL_QUEUE_RING_H_
