// mp::SharedMemory: a named block of shared memory, as Python's
// multiprocessing.shared_memory.SharedMemory (POSIX shm_open: a Python
// process can attach the same name).
//
//   mp::SharedMemory shm = mp::SharedMemory::create(4096);  // random name
//   mp::SharedMemory other = mp::SharedMemory::attach(shm.name());
//   shm.buf()[0] = std::byte{1};   // other.buf()[0] sees it
//   other.close(); shm.close(); shm.unlink();
//
// Lifetime: as in Python, the name exists until someone unlink()s it; the
// memory lives while the name or any mapping does. close() unmaps this
// handle's view (its copies in this process share it: the view is
// unmapped when the last of them closes or is destroyed).
//
// Resource tracker (as Python's resource_tracker): in a program that calls
// mp::init, create() registers the name with the process tree's tracker
// (a small process started with the first create(), which every child
// under every start method shares) and unlink() unregisters it. When every
// process of the tree is gone - exited or SIGKILLed - the tracker unlinks
// the names still registered and prints "resource_tracker: There appear to
// be N leaked shared_memory objects to clean up at shutdown" on stderr. A
// segment only attach()ed is never unlinked by the attacher's tracker.
// A process whose parent had no tracker when it started gets one of its
// own with its first create(): its segments are unlinked when it (and its
// children) are gone, even if the parent still uses them by name - create
// one in the parent first to share it. Registration is best effort and
// never fails create() or unlink().
//
// Passing to a child (a Process argument) hands it the descriptor itself
// under every start method: the child's handle works even if the name was
// unlinked meanwhile.
//
// Thread safety: a handle is used by one thread at a time; the memory is
// the user's to synchronise (a Lock, for example).
#ifndef MP_SHARED_MEMORY_H_
#define MP_SHARED_MEMORY_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "mp/object.h"

namespace mp {

class SharedMemory {
 public:
  SharedMemory() = default;  // closed; create() or attach() make one

  // A new block of `size` bytes (zero-filled). `name` (without the leading
  // "/"; at most 250 characters, no "/") is random when empty. ValueError:
  // size 0, a bad name, the name exists, or the system refuses.
  static SharedMemory create(size_t size, const std::string& name = "");
  // The existing block `name`. ValueError if there is none (Python raises
  // FileNotFoundError) or it cannot be mapped.
  static SharedMemory attach(const std::string& name);

  const std::string& name() const;
  size_t size() const;
  // The memory itself. ValueError after close().
  std::span<std::byte> buf() const;

  // Unmaps this handle's view (no-op when closed).
  void close();
  // Removes the name; mappings stay valid. ValueError if it is already gone.
  void unlink() const;

  struct Mapping;
  // For to_object.
  const std::shared_ptr<Mapping>& mapping() const { return mapping_; }

 private:
  explicit SharedMemory(std::shared_ptr<Mapping> mapping, std::string name,
                        size_t size);
  friend void from_object(const Object& object, SharedMemory& shm);

  std::shared_ptr<Mapping> mapping_;
  std::string name_;
  size_t size_ = 0;
};

Object to_object(const SharedMemory& shm);
void from_object(const Object& object, SharedMemory& shm);

}  // namespace mp

#endif  // MP_SHARED_MEMORY_H_
