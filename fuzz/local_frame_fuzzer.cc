// bytes -> the local transport's framing: FrameReader (the magic prefix,
// frame cutting, the size limit) and ParseFrame on every frame.
//
// The first bytes choose the frame size limit and how the rest is split
// into writes; the rest goes through a socketpair into FrameReader::ReadFrom,
// as a peer's bytes do. What the reader reports is checked against a model
// of the format (kLocalMagic, then frames of a 4-byte little-endian length
// and that many bytes): the same frames, the same refusal of an oversized
// one, never a frame before its last byte arrived.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/local_frame.h"
#include "google/protobuf/stubs/logging.h"
#include "mp/v1/session.pb.h"

namespace {

using mp::internal::FrameReader;
using mp::internal::kFrameHeaderBytes;
using mp::internal::kLocalMagic;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct SocketPair {
  SocketPair() {
    Check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
  }
  int fds[2];
};

// One pair for the whole run; every input leaves it drained.
SocketPair& Sockets() {
  static SocketPair* pair = new SocketPair;
  return *pair;
}

uint32_t Load32(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 |
         uint32_t{b[3]} << 24;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field is a parse failure that protobuf also
  // logs, once per input; the transports rate-limit that line themselves.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // A limit from 0 to 4 KiB: inputs are small, so small limits are where
  // kTooLarge happens.
  const size_t max_frame = (size_t{data[0]} << 4) | (data[1] & 0xf);
  const size_t piece = 1 + (data[1] >> 4) * 7;  // bytes per write: 1..106
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2,
                                size - 2);
  SocketPair& sp = Sockets();
  FrameReader reader(max_frame);

  bool prefix_done = false;
  size_t model_pos = 0;  // where the model expects the next frame
  size_t sent = 0;
  while (sent < stream.size()) {
    const size_t n = std::min(piece, stream.size() - sent);
    Check(send(sp.fds[0], stream.data() + sent, n, MSG_NOSIGNAL) ==
          static_cast<ssize_t>(n));
    sent += n;
    for (;;) {
      const ssize_t got = reader.ReadFrom(sp.fds[1]);
      if (got > 0) continue;
      Check(got < 0 && errno == EAGAIN);
      break;
    }
    const std::string_view arrived = stream.substr(0, sent);
    if (!prefix_done) {
      const auto status = reader.ConsumePrefix(kLocalMagic);
      const size_t have = std::min(arrived.size(), kLocalMagic.size());
      const bool matches =
          arrived.substr(0, have) == kLocalMagic.substr(0, have);
      if (!matches) {
        Check(status == FrameReader::PrefixStatus::kMismatch);
        break;  // the transport refuses the peer here
      }
      if (have < kLocalMagic.size()) {
        Check(status == FrameReader::PrefixStatus::kNeedMore);
        continue;
      }
      Check(status == FrameReader::PrefixStatus::kMatch);
      prefix_done = true;
      model_pos = kLocalMagic.size();
    }
    bool refused = false;
    for (;;) {
      std::string_view payload;
      uint64_t declared = 0;
      const auto status = reader.Next(&payload, &declared);
      const std::string_view rest = arrived.substr(model_pos);
      if (rest.size() < kFrameHeaderBytes) {
        Check(status == FrameReader::Status::kNeedMore);
        break;
      }
      const uint32_t len = Load32(rest);
      if (len > max_frame) {
        Check(status == FrameReader::Status::kTooLarge && declared == len);
        refused = true;
        break;
      }
      if (rest.size() - kFrameHeaderBytes < len) {
        Check(status == FrameReader::Status::kNeedMore);
        break;
      }
      Check(status == FrameReader::Status::kFrame);
      Check(payload == rest.substr(kFrameHeaderBytes, len));
      model_pos += kFrameHeaderBytes + len;
      Check(reader.buffered() == arrived.size() - model_pos);
      // What the transports do with a frame: parse it. Any bytes may fail
      // to parse; none may crash or recurse without bound.
      mp::v1::ClientMessage message;
      if (mp::internal::ParseFrame(payload, &message)) {
        std::string again;
        Check(mp::internal::AppendFrame(message, &again));
        mp::v1::ClientMessage reparsed;
        Check(mp::internal::ParseFrame(
            std::string_view(again).substr(kFrameHeaderBytes), &reparsed));
      }
    }
    if (refused) break;
  }
  // Drain what the reader did not take, for the next input.
  char sink[4096];
  while (recv(sp.fds[1], sink, sizeof sink, MSG_DONTWAIT) > 0) {
  }
  return 0;
}
