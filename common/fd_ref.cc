#include "common/fd_ref.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "mp/errors.h"

namespace mp::internal {

FdRef::FdRef(int fd, std::string kind, std::string meta,
             std::shared_ptr<const void> local)
    : fd_(fd),
      kind_(std::move(kind)),
      meta_(std::move(meta)),
      local_(std::move(local)) {}

FdRef::~FdRef() {
  const int fd = fd_.load();
  if (fd >= 0) ::close(fd);
}

Object FdObject(int fd, std::string kind, std::string meta,
                std::shared_ptr<const void> local) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    throw ValueError("cannot duplicate the descriptor of a " + kind + ": " +
                     std::strerror(errno));
  }
  return Object::proxy(std::make_shared<FdRef>(
      copy, std::move(kind), std::move(meta), std::move(local)));
}

ReceivedFds& ReceivedFds::operator=(ReceivedFds&& other) noexcept {
  if (this != &other) {
    Close();
    fds_ = std::exchange(other.fds_, {});
  }
  return *this;
}

void ReceivedFds::Close() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

const FdRef& ExpectFdRef(const Object& value, std::string_view kind,
                         std::string_view what) {
  if (value.is_proxy()) {
    const auto* ref = dynamic_cast<const FdRef*>(value.as_proxy().get());
    if (ref != nullptr && ref->kind() == kind) return *ref;
  }
  throw TypeError("expected " + std::string(what) + ", got " +
                  value.type_name());
}

}  // namespace mp::internal
