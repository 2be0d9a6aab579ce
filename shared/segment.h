// A memfd-backed shared-memory segment: the memory of every server-less
// shared object (Lock, Value, Array, ...). Anonymous, so it frees itself
// when the last descriptor and mapping in any process are gone - also when
// every holder was SIGKILLed. Its size is sealed: a holder cannot shrink it
// under another's mapping (SIGBUS).
//
// Layout: a 64-byte SegmentHeader, then the payload at kPayloadOffset. A
// data segment (Value, Array) holds a 64-byte lock area and its elements at
// kDataOffset; a synchronisation object's state is the payload.
#ifndef MP_SHARED_SEGMENT_H_
#define MP_SHARED_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "mp/detail/shared_segment.h"

namespace mp::internal {

struct SegmentHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t kind;   // SegmentKind
  uint32_t flags;  // kHasLock
  uint64_t payload_size;
  uint32_t elem_size;
  uint32_t elem_tag;  // ElementTag<T>() of a Value or Array
  uint64_t count;
};
static_assert(sizeof(SegmentHeader) <= 64);

inline constexpr uint32_t kSegmentMagic = 0x6d707367;  // "mpsg"
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr uint32_t kHasLock = 1;
inline constexpr size_t kPayloadOffset = 64;
inline constexpr size_t kLockAreaSize = 64;
inline constexpr size_t kDataOffset = kPayloadOffset + kLockAreaSize;

class Segment {
 public:
  // A new zero-filled segment with `payload_size` bytes of payload.
  static std::shared_ptr<Segment> Create(SegmentKind kind, size_t payload_size,
                                         uint32_t flags, uint32_t elem_size,
                                         uint32_t elem_tag, uint64_t count);
  // Maps the segment behind `fd` (duplicated; the caller keeps its own),
  // after checking its header against its size. ValueError if it is not a
  // segment.
  static std::shared_ptr<Segment> FromFd(int fd);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int fd() const { return fd_; }
  const SegmentHeader& header() const {
    return *reinterpret_cast<const SegmentHeader*>(base_);
  }
  SegmentKind kind() const { return static_cast<SegmentKind>(header().kind); }
  std::byte* payload() const { return base_ + kPayloadOffset; }
  size_t size() const { return size_; }

 private:
  Segment(int fd, std::byte* base, size_t size)
      : fd_(fd), base_(base), size_(size) {}

  int fd_;
  std::byte* base_;
  size_t size_;
};

// The segment of `value` (an Object from SegmentToObject) without checking
// its kind; TypeError if it is not one.
std::shared_ptr<Segment> AnySegmentFromObject(const Object& value,
                                              std::string_view what);

}  // namespace mp::internal

#endif  // MP_SHARED_SEGMENT_H_
