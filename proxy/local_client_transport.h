// The local transport, client side: the session's messages as frames
// (common/local_frame.h) on a unix stream socket, read and written by the
// calling threads themselves - no HTTP/2, no runtime threads. Same host
// only: it is offered beside a manager's unix socket.
#ifndef MP_PROXY_LOCAL_CLIENT_TRANSPORT_H_
#define MP_PROXY_LOCAL_CLIENT_TRANSPORT_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/busy_poll.h"
#include "common/local_frame.h"
#include "proxy/client_transport.h"

namespace mp::internal {

class LocalClientTransport final : public ClientTransport {
 public:
  // Connects to the socket at `path` (the manager's unix socket path plus
  // kLocalSocketSuffix). Returns null when nothing listens there (no such
  // socket, or refused) so that the caller can fall back to gRPC; throws
  // ConnectionError for other failures and at `deadline`.
  static std::unique_ptr<LocalClientTransport> Connect(const std::string& path,
                                                       absl::Time deadline);
  // Closes the socket - in the process that opened it only; a fork()ed
  // child's copy was already closed when it was forked.
  ~LocalClientTransport() override;

  const char* name() const override { return "local"; }
  bool StartWrite(const v1::ClientMessage& message) override;
  Event Poll(absl::Time deadline, v1::ServerMessage* read) override;
  absl::Status EndStatus(absl::Time deadline) override;
  void Cancel() override;

 private:
  // One recv(2) into reader_ (blocking up to a SO_RCVTIMEO slice if
  // `wait`). False when the connection is over; end_status_ says why.
  bool Read(bool wait);
  // Read's verdict on what FrameReader::ReadFrom returned (errno set).
  bool ReadResult(ssize_t n);
  explicit LocalClientTransport(int fd);
  // Writes what it can of pending_ without blocking; false on an error.
  bool FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const int fd_;
  const pid_t owner_pid_;

  // Writes come from callers under Connection's mutex, the rest of a
  // partial write from Poll's thread: both under write_mu_.
  absl::Mutex write_mu_;
  std::string pending_ ABSL_GUARDED_BY(write_mu_);  // frames not yet sent
  size_t pending_sent_ ABSL_GUARDED_BY(write_mu_) = 0;
  std::atomic<bool> write_outstanding_{false};
  std::atomic<bool> write_failed_{false};

  // Poll's thread only.
  FrameReader reader_;
  BusyPoll busy_poll_;
  absl::Status end_status_;
};

}  // namespace mp::internal

#endif  // MP_PROXY_LOCAL_CLIENT_TRANSPORT_H_
