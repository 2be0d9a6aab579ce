// An mp::Object that carries a file descriptor to another process: the
// shared-memory objects (mp::Value, mp::Lock, mp::SharedMemory, ...) become
// one when they are converted with to_object, so that they can be Process
// arguments. A fork child finds the descriptor (and the in-process object,
// `local`) where the parent had it; spawn and forkserver children receive
// the descriptor itself (process/task_codec.cc: inherited across exec, or
// SCM_RIGHTS through the forkserver socket) and rebuild the object from it
// and `meta`. Pool workers and Pipe receivers get it with the message
// (SCM_RIGHTS, process/pipe_message.h) under every start method.
#ifndef MP_COMMON_FD_REF_H_
#define MP_COMMON_FD_REF_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mp/object.h"

namespace mp::internal {

class FdRef : public ObjectRef {
 public:
  // Owns `fd` (closed with the last copy of the Object). `local` keeps the
  // object it came from alive while the Object exists (null when decoded
  // in another process).
  FdRef(int fd, std::string kind, std::string meta,
        std::shared_ptr<const void> local);
  ~FdRef() override;
  FdRef(const FdRef&) = delete;
  FdRef& operator=(const FdRef&) = delete;

  uint64_t id() const override { return 0; }
  std::string_view type_name() const override { return kind_; }

  // The descriptor; -1 once Release()d.
  int fd() const { return fd_.load(); }
  // Hands the descriptor over to the caller (who closes it), once: -1
  // afterwards. A Connection end decoded in a child takes its descriptor
  // so that closing it in the child really closes it (no copy stays in the
  // task's arguments while the task runs).
  int Release() const { return fd_.exchange(-1); }
  const std::string& kind() const { return kind_; }
  const std::string& meta() const { return meta_; }
  const std::shared_ptr<const void>& local() const { return local_; }

 private:
  mutable std::atomic<int> fd_;
  std::string kind_;
  std::string meta_;
  std::shared_ptr<const void> local_;
};

// Wraps a new FdRef; `fd` is duplicated (close-on-exec), the caller keeps
// its own. Throws ValueError if it cannot be duplicated.
Object FdObject(int fd, std::string kind, std::string meta,
                std::shared_ptr<const void> local);

// Descriptors received with a message (SCM_RIGHTS), owned until adopted:
// whatever is still here is closed on destruction, so a message that fails
// to decode leaks none. Move-only.
class ReceivedFds {
 public:
  ReceivedFds() = default;
  ~ReceivedFds() { Close(); }
  ReceivedFds(ReceivedFds&& other) noexcept : fds_(std::move(other.fds_)) {
    other.fds_.clear();
  }
  ReceivedFds& operator=(ReceivedFds&& other) noexcept;
  ReceivedFds(const ReceivedFds&) = delete;
  ReceivedFds& operator=(const ReceivedFds&) = delete;

  void Add(int fd) { fds_.push_back(fd); }
  size_t size() const { return fds_.size(); }
  bool empty() const { return fds_.empty(); }
  // Hands them over (the caller owns them now).
  std::vector<int> Release() { return std::exchange(fds_, {}); }
  void Close();

 private:
  std::vector<int> fds_;
};

// The FdRef in `value` if it is one of `kind`; TypeError otherwise
// ("expected <what>, got <type>").
const FdRef& ExpectFdRef(const Object& value, std::string_view kind,
                         std::string_view what);

}  // namespace mp::internal

#endif  // MP_COMMON_FD_REF_H_
