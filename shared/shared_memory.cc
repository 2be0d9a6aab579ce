#include "mp/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/fd_ref.h"
#include "common/resource_tracker.h"
#include "mp/errors.h"

namespace mp {

struct SharedMemory::Mapping {
  int fd = -1;
  std::byte* base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base != nullptr) munmap(base, size);
    if (fd >= 0) ::close(fd);
  }
};

namespace {

constexpr char kFdKind[] = "mp.SharedMemory";

std::string CheckedPath(const std::string& name) {
  if (name.empty() || name.size() > 250 ||
      name.find('/') != std::string::npos || name == "." || name == "..") {
    throw ValueError("invalid shared memory name '" + name +
                     "': 1 to 250 characters, no '/'");
  }
  return "/" + name;
}

std::string RandomName() {
  unsigned char bytes[8];
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    throw ValueError(std::string("getrandom: ") + std::strerror(errno));
  }
  std::string name = "mp_";
  for (unsigned char b : bytes) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    name += hex;
  }
  return name;
}

// Maps `fd` (owned by the result).
std::shared_ptr<SharedMemory::Mapping> Map(int fd, size_t size,
                                           const std::string& what) {
  auto mapping = std::make_shared<SharedMemory::Mapping>();
  mapping->fd = fd;
  mapping->size = size;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    throw ValueError("cannot map shared memory " + what + ": " +
                     std::strerror(errno));
  }
  mapping->base = static_cast<std::byte*>(base);
  return mapping;
}

}  // namespace

SharedMemory::SharedMemory(std::shared_ptr<Mapping> mapping, std::string name,
                           size_t size)
    : mapping_(std::move(mapping)), name_(std::move(name)), size_(size) {}

SharedMemory SharedMemory::create(size_t size, const std::string& name) {
  if (size == 0) {
    throw ValueError("'size' must be a positive number different from zero");
  }
  for (int attempt = 0;; ++attempt) {
    const std::string chosen = name.empty() ? RandomName() : name;
    const std::string path = CheckedPath(chosen);
    int fd =
        shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST && name.empty() && attempt < 8) continue;
      throw ValueError("cannot create shared memory '" + chosen +
                       "': " + std::strerror(errno));
    }
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      const std::string message = std::strerror(errno);
      ::close(fd);
      shm_unlink(path.c_str());
      throw ValueError("cannot size shared memory '" + chosen +
                       "': " + message);
    }
    std::shared_ptr<Mapping> mapping;
    try {
      mapping = Map(fd, size, "'" + chosen + "'");
    } catch (...) {
      shm_unlink(path.c_str());
      throw;
    }
    // Unlinked by the tracker if this process tree ends without unlink().
    internal::TrackSharedMemory(chosen);
    return SharedMemory(std::move(mapping), chosen, size);
  }
}

SharedMemory SharedMemory::attach(const std::string& name) {
  const std::string path = CheckedPath(name);
  int fd = shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    throw ValueError("No such shared memory: '" + name +
                     "': " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    throw ValueError("shared memory '" + name + "' is empty");
  }
  const auto size = static_cast<size_t>(st.st_size);
  return SharedMemory(Map(fd, size, "'" + name + "'"), name, size);
}

const std::string& SharedMemory::name() const { return name_; }
size_t SharedMemory::size() const { return size_; }

std::span<std::byte> SharedMemory::buf() const {
  if (!mapping_) throw ValueError("operation on a closed SharedMemory");
  return {mapping_->base, size_};
}

void SharedMemory::close() { mapping_.reset(); }

void SharedMemory::unlink() const {
  if (shm_unlink(CheckedPath(name_).c_str()) != 0) {
    throw ValueError("cannot unlink shared memory '" + name_ +
                     "': " + std::strerror(errno));
  }
  internal::UntrackSharedMemory(name_);
}

Object to_object(const SharedMemory& shm) {
  if (!shm.mapping()) throw ValueError("operation on a closed SharedMemory");
  return internal::FdObject(shm.mapping()->fd, kFdKind, shm.name(),
                            shm.mapping());
}

void from_object(const Object& object, SharedMemory& shm) {
  const internal::FdRef& ref =
      internal::ExpectFdRef(object, kFdKind, "mp::SharedMemory");
  if (ref.local()) {
    auto mapping = std::const_pointer_cast<SharedMemory::Mapping>(
        std::static_pointer_cast<const SharedMemory::Mapping>(ref.local()));
    shm = SharedMemory(mapping, ref.meta(), mapping->size);
    return;
  }
  struct stat st {};
  if (fstat(ref.fd(), &st) != 0 || st.st_size <= 0) {
    throw ValueError("the shared memory passed in is empty");
  }
  int fd = fcntl(ref.fd(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) throw ValueError(std::string("dup: ") + std::strerror(errno));
  const auto size = static_cast<size_t>(st.st_size);
  shm = SharedMemory(Map(fd, size, "'" + ref.meta() + "'"), ref.meta(), size);
}

}  // namespace mp
