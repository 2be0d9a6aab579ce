// Internal to mp (included by mp/synchronize.h and mp/sharedctypes.h): the
// memfd-backed segment behind the server-less shared objects, as far as the
// header templates need it. shared/segment.h has the layout.
#ifndef MP_DETAIL_SHARED_SEGMENT_H_
#define MP_DETAIL_SHARED_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

#include "mp/object.h"

namespace mp::internal {

class Segment;

enum class SegmentKind : uint32_t {
  kLock = 1,
  kRLock = 2,
  kSemaphore = 3,
  kBoundedSemaphore = 4,
  kCondition = 5,
  kEvent = 6,
  kBarrier = 7,
  kValue = 8,
  kArray = 9,
  kQueue = 10,  // Queue, SimpleQueue, JoinableQueue (mp/queue.h)
};

// A Value or Array segment: `count` elements of `elem_size` bytes (aligned
// to 64), zero-filled, after a robust RLock when `with_lock`. Throws
// ValueError/MemoryError when it cannot be made.
std::shared_ptr<Segment> CreateDataSegment(SegmentKind kind, uint32_t elem_size,
                                           uint32_t elem_tag, uint64_t count,
                                           bool with_lock);
// The first element; stays valid while the segment lives.
void* SegmentData(const Segment& segment);
uint64_t SegmentCount(const Segment& segment);
bool SegmentHasLock(const Segment& segment);

// What a Value<T> or Array<T> records of T, so that another process cannot
// read a double as an int64_t: float/signed/unsigned/other, and the size.
template <class T>
constexpr uint32_t ElementTag() {
  const uint32_t family = std::is_floating_point_v<T> ? 1
                          : std::is_integral_v<T>
                              ? (std::is_signed_v<T> ? 2 : 3)
                              : 4;
  return family << 24 | static_cast<uint32_t>(sizeof(T));
}

// The segment as an Object (a Process argument), and back: TypeError unless
// `value` is a segment of `kind` whose elements have `elem_tag` (0: any).
Object SegmentToObject(const std::shared_ptr<Segment>& segment);
std::shared_ptr<Segment> SegmentFromObject(const Object& value,
                                           SegmentKind kind, uint32_t elem_tag,
                                           std::string_view what);

}  // namespace mp::internal

#endif  // MP_DETAIL_SHARED_SEGMENT_H_
