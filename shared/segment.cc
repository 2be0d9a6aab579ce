#include "shared/segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "common/fd_ref.h"
#include "mp/errors.h"
#include "shared/robust_lock.h"

namespace mp::internal {
namespace {

constexpr char kFdKind[] = "mp.shared";

std::string Errno(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

bool KnownKind(uint32_t kind) {
  return kind >= static_cast<uint32_t>(SegmentKind::kLock) &&
         kind <= static_cast<uint32_t>(SegmentKind::kQueue);
}

}  // namespace

std::shared_ptr<Segment> Segment::Create(SegmentKind kind, size_t payload_size,
                                         uint32_t flags, uint32_t elem_size,
                                         uint32_t elem_tag, uint64_t count) {
  if (payload_size > std::numeric_limits<size_t>::max() / 2) {
    throw MemoryError("shared segment too large");
  }
  const size_t size = kPayloadOffset + payload_size;
  int fd = memfd_create("mp-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw MemoryError(Errno("memfd_create"));
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    std::string message = Errno("cannot size a shared segment");
    ::close(fd);
    throw MemoryError(message);
  }
  // The size is fixed for the segment's life: nobody can truncate it under
  // another process's mapping.
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    std::string message = Errno("cannot map a shared segment");
    ::close(fd);
    throw MemoryError(message);
  }
  auto* header = static_cast<SegmentHeader*>(base);
  header->magic = kSegmentMagic;
  header->version = kSegmentVersion;
  header->kind = static_cast<uint32_t>(kind);
  header->flags = flags;
  header->payload_size = payload_size;
  header->elem_size = elem_size;
  header->elem_tag = elem_tag;
  header->count = count;
  return std::shared_ptr<Segment>(
      new Segment(fd, static_cast<std::byte*>(base), size));
}

std::shared_ptr<Segment> Segment::FromFd(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw ValueError(Errno("not a shared segment"));
  const size_t size = static_cast<size_t>(st.st_size);
  if (!S_ISREG(st.st_mode) || size < kPayloadOffset) {
    throw ValueError("not a shared segment (wrong size)");
  }
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw ValueError(Errno("cannot duplicate a shared segment"));
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, copy, 0);
  if (base == MAP_FAILED) {
    std::string message = Errno("cannot map a shared segment");
    ::close(copy);
    throw ValueError(message);
  }
  std::shared_ptr<Segment> segment(
      new Segment(copy, static_cast<std::byte*>(base), size));
  const SegmentHeader& h = segment->header();
  const bool data = h.kind == static_cast<uint32_t>(SegmentKind::kValue) ||
                    h.kind == static_cast<uint32_t>(SegmentKind::kArray);
  const bool fits = h.payload_size == size - kPayloadOffset &&
                    (!data || (h.elem_size > 0 &&
                               h.count <= (size - kDataOffset) / h.elem_size));
  if (h.magic != kSegmentMagic || h.version != kSegmentVersion ||
      !KnownKind(h.kind) || !fits) {
    throw ValueError("not a shared segment (bad header)");
  }
  return segment;
}

Segment::~Segment() {
  munmap(base_, size_);
  ::close(fd_);
}

std::shared_ptr<Segment> CreateDataSegment(SegmentKind kind, uint32_t elem_size,
                                           uint32_t elem_tag, uint64_t count,
                                           bool with_lock) {
  if (elem_size == 0) throw ValueError("element size 0");
  if (count > (std::numeric_limits<size_t>::max() / 4) / elem_size) {
    throw MemoryError("shared array too large: " + std::to_string(count) +
                      " elements");
  }
  auto segment = Segment::Create(
      kind, kLockAreaSize + static_cast<size_t>(elem_size) * count,
      with_lock ? kHasLock : 0, elem_size, elem_tag, count);
  if (with_lock) InitRobustLock(segment->payload(), /*recursive=*/true);
  return segment;
}

void* SegmentData(const Segment& segment) {
  return segment.payload() + kLockAreaSize;
}
uint64_t SegmentCount(const Segment& segment) { return segment.header().count; }
bool SegmentHasLock(const Segment& segment) {
  return (segment.header().flags & kHasLock) != 0;
}

Object SegmentToObject(const std::shared_ptr<Segment>& segment) {
  return FdObject(segment->fd(), kFdKind, "", segment);
}

std::shared_ptr<Segment> AnySegmentFromObject(const Object& value,
                                              std::string_view what) {
  const FdRef& ref = ExpectFdRef(value, kFdKind, what);
  if (ref.local()) {
    return std::const_pointer_cast<Segment>(
        std::static_pointer_cast<const Segment>(ref.local()));
  }
  return Segment::FromFd(ref.fd());
}

std::shared_ptr<Segment> SegmentFromObject(const Object& value,
                                           SegmentKind kind, uint32_t elem_tag,
                                           std::string_view what) {
  std::shared_ptr<Segment> segment = AnySegmentFromObject(value, what);
  if (segment->kind() != kind ||
      (elem_tag != 0 && segment->header().elem_tag != elem_tag)) {
    throw TypeError("expected " + std::string(what) +
                    ", got another shared object");
  }
  return segment;
}

}  // namespace mp::internal
