// Blocking reads and writes of whole buffers on file descriptors, retrying
// short transfers and EINTR. Shared by mp-manager's bootstrap pipes, the
// spawn/forkserver task pipes and mp::Pipe.
#ifndef MP_COMMON_FD_IO_H_
#define MP_COMMON_FD_IO_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace mp::internal {

// Everything until EOF (or an error, which ends the read like EOF).
std::string ReadToEof(int fd);

// The whole content of the file at `path`; false (errno set) if it cannot
// be opened.
bool ReadFile(const std::string& path, std::string* content);

// Reads exactly `n` bytes. Returns `n`, fewer when EOF came first (0 on an
// immediate EOF), or -1 on an error (errno set).
ssize_t ReadExactly(int fd, void* buf, size_t n);

// Writes all `n` bytes; false on an error (errno set). Sockets are written
// with MSG_NOSIGNAL, so a closed peer is an error rather than SIGPIPE.
bool WriteExactly(int fd, const void* buf, size_t n);

}  // namespace mp::internal

#endif  // MP_COMMON_FD_IO_H_
