// What carries one client session's messages to the server and back: the
// seam under Connection. Two implementations: gRPC's bidirectional stream
// (proxy/grpc_client_transport.h: TCP, TLS, any host) and the local
// transport's frames on a unix socket (proxy/local_client_transport.h:
// same host, no HTTP/2). Connection holds everything above it - the
// handshake, call ids, pipelining, the leader/follower wait, acks.
#ifndef MP_PROXY_CLIENT_TRANSPORT_H_
#define MP_PROXY_CLIENT_TRANSPORT_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mp/v1/session.pb.h"

namespace mp::internal {

// Not thread-safe by itself: Connection calls StartWrite under its mutex
// and Poll from one thread at a time (its leader), possibly concurrently
// with StartWrite - implementations allow exactly that overlap.
class ClientTransport {
 public:
  enum class Event {
    kTimeout,      // nothing happened before the deadline
    kRead,         // a message arrived
    kWriteDone,    // the outstanding write completed
    kWriteFailed,  // the outstanding write failed (the stream is broken)
    kClosed,       // the stream ended; EndStatus() says why
  };

  virtual ~ClientTransport() = default;

  // "grpc" or "local".
  virtual const char* name() const = 0;

  // Starts sending `message` (copied or serialized before returning). True
  // when it was handed over completely; false when a later kWriteDone (or
  // kWriteFailed) from Poll completes it. At most one write is outstanding.
  virtual bool StartWrite(const v1::ClientMessage& message) = 0;

  // Waits until `deadline` for the next event; kRead fills `*read`.
  virtual Event Poll(absl::Time deadline, v1::ServerMessage* read) = 0;

  // After kClosed: the server's reason (its status code and message), or
  // what broke. Blocks at most until `deadline`.
  virtual absl::Status EndStatus(absl::Time deadline) = 0;

  // Ends the stream from this side; Poll then reports kClosed.
  virtual void Cancel() = 0;
};

}  // namespace mp::internal

#endif  // MP_PROXY_CLIENT_TRANSPORT_H_
