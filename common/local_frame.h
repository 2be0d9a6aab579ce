// The local transport's framing, shared by the client and the server.
//
// A session on the local transport is a unix stream socket carrying the
// same mp.v1 messages as the gRPC stream: ClientMessage one way,
// ServerMessage the other, each as one frame - a 4-byte little-endian
// length, then that many bytes of the serialized message. Nothing else:
// no HTTP/2 framing, flow control or header compression. The socket's own
// buffer is the flow control; the session's reply backlog limit does the
// rest (server/session_endpoint.h).
//
// Every connection starts with kLocalMagic from the client, so that a
// client of the wrong kind (an HTTP/2 preface, garbage) is told apart from
// a short first frame and refused at once.
#ifndef MP_COMMON_LOCAL_FRAME_H_
#define MP_COMMON_LOCAL_FRAME_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/message_lite.h"

namespace mp::internal {

inline constexpr size_t kFrameHeaderBytes = 4;
// Sent by the client before its first frame.
inline constexpr std::string_view kLocalMagic = "mp-local/1\n";
// The local transport's socket beside a gRPC unix socket at PATH.
inline constexpr std::string_view kLocalSocketSuffix = ".local";

// Serializes `message` as one frame appended to `out`. False (and nothing
// appended) for a message of 4 GiB or more, which a frame cannot carry;
// both sides keep messages far below that (max_message_bytes).
[[nodiscard]] bool AppendFrame(const google::protobuf::MessageLite& message,
                               std::string* out);

// Parses one frame's payload with a recursion limit that matches the
// value nesting limit (a deeper message is a parse failure, not a stack
// overflow). False if the bytes are not a valid message.
bool ParseFrame(std::string_view payload,
                google::protobuf::MessageLite* message);

// Accumulates bytes read from a stream and cuts them into frames. Not
// thread-safe. Memory is bounded by the largest frame allowed plus one
// read's worth.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_bytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // The limit may be raised once the peer is trusted (after the handshake).
  void set_max_frame_bytes(size_t n) { max_frame_bytes_ = n; }
  size_t max_frame_bytes() const { return max_frame_bytes_; }

  // Reads once from `fd`: returns the bytes read, 0 at EOF, or -1 with
  // errno (EAGAIN when nothing was there). With `wait`, the recv(2) may
  // block - for as long as the socket's SO_RCVTIMEO allows, if it is a
  // blocking socket; otherwise it never blocks.
  ssize_t ReadFrom(int fd, bool wait = false);

  // Consumes `prefix` if the buffered bytes start with it. kMatch: done;
  // kNeedMore: fewer bytes than the prefix, matching so far; kMismatch.
  enum class PrefixStatus { kMatch, kNeedMore, kMismatch };
  PrefixStatus ConsumePrefix(std::string_view prefix);

  enum class Status { kFrame, kNeedMore, kTooLarge };
  // The next complete frame's payload in `*payload` (valid until the next
  // ReadFrom), or why there is none. kTooLarge: the peer declared
  // a frame over the limit; `*declared` says how large.
  Status Next(std::string_view* payload, uint64_t* declared = nullptr);

  // Bytes buffered but not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }

 private:
  size_t max_frame_bytes_;
  size_t read_chunk_ = 4 << 10;  // see ReadFrom
  std::string buf_;
  size_t begin_ = 0;  // start of the unconsumed bytes
  size_t end_ = 0;    // end of the bytes read
};

}  // namespace mp::internal

#endif  // MP_COMMON_LOCAL_FRAME_H_
