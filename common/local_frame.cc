#include "common/local_frame.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "google/protobuf/io/coded_stream.h"

namespace mp::internal {
namespace {

// Reads are issued for read_chunk_ bytes of room, which adapts: it starts
// small, since an idle session's buffer is memory the server holds per
// client (measured: a fixed 64 KiB made a local session cost twice a gRPC
// one), and doubles while reads fill it (a pipelining peer), up to
// kMaxReadChunk, halving again when reads come back small.
constexpr size_t kMinReadChunk = 4 << 10;
constexpr size_t kMaxReadChunk = 256 << 10;
// Protobuf's parser recursion limit for frames. A value nested N levels
// deep is 2N+1 message levels (Value, List, Value, ...), inside at most
// ~6 levels of envelope (ClientMessage, Call, an op, its arguments):
// 200 admits the codec's nesting limit with room to spare and turns
// anything deeper into a parse error instead of deep recursion.
constexpr int kRecursionLimit = 200;

uint32_t LoadLittleEndian32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 |
         uint32_t{b[3]} << 24;
}

}  // namespace

bool AppendFrame(const google::protobuf::MessageLite& message,
                 std::string* out) {
  const size_t size = message.ByteSizeLong();
  if (size > std::numeric_limits<uint32_t>::max()) return false;
  const size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  char* p = out->data() + start;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) {
    p[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(p + kFrameHeaderBytes));
  return true;
}

bool ParseFrame(std::string_view payload,
                google::protobuf::MessageLite* message) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(payload.data()),
      static_cast<int>(payload.size()));
  in.SetRecursionLimit(kRecursionLimit);
  return message->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

ssize_t FrameReader::ReadFrom(int fd, bool wait) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // Give back what a burst or a large frame grew.
    if (buf_.size() > 2 * read_chunk_) std::string().swap(buf_);
  }
  size_t want = read_chunk_;
  // A frame begun but not complete: make room for all of it at once
  // (its size was checked against the limit by Next).
  if (end_ - begin_ >= kFrameHeaderBytes) {
    const size_t frame =
        kFrameHeaderBytes + LoadLittleEndian32(buf_.data() + begin_);
    if (frame - kFrameHeaderBytes <= max_frame_bytes_ &&
        frame > end_ - begin_) {
      want = std::max(want, frame - (end_ - begin_));
    }
  }
  if (buf_.size() - end_ < want) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < want) buf_.resize(end_ + want);
  }
  const size_t room = buf_.size() - end_;
  const ssize_t n = recv(fd, buf_.data() + end_, room, wait ? 0 : MSG_DONTWAIT);
  if (n > 0) {
    end_ += static_cast<size_t>(n);
    if (static_cast<size_t>(n) == room) {
      read_chunk_ = std::min(kMaxReadChunk, read_chunk_ * 2);
    } else if (static_cast<size_t>(n) < read_chunk_ / 4) {
      read_chunk_ = std::max(kMinReadChunk, read_chunk_ / 2);
    }
  }
  return n;
}

FrameReader::PrefixStatus FrameReader::ConsumePrefix(std::string_view prefix) {
  const std::string_view have(buf_.data() + begin_,
                              std::min(end_ - begin_, prefix.size()));
  if (have != prefix.substr(0, have.size())) return PrefixStatus::kMismatch;
  if (have.size() < prefix.size()) return PrefixStatus::kNeedMore;
  begin_ += prefix.size();
  return PrefixStatus::kMatch;
}

FrameReader::Status FrameReader::Next(std::string_view* payload,
                                      uint64_t* declared) {
  if (end_ - begin_ < kFrameHeaderBytes) return Status::kNeedMore;
  const uint32_t size = LoadLittleEndian32(buf_.data() + begin_);
  if (size > max_frame_bytes_) {
    if (declared != nullptr) *declared = size;
    return Status::kTooLarge;
  }
  if (end_ - begin_ - kFrameHeaderBytes < size) return Status::kNeedMore;
  *payload = std::string_view(buf_.data() + begin_ + kFrameHeaderBytes, size);
  begin_ += kFrameHeaderBytes + size;
  return Status::kFrame;
}

}  // namespace mp::internal
