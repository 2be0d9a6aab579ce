// bytes -> mp.v1.Value -> mp::Object -> Value -> Object.
//
// Checks that the decoder refuses bad input only with mp::Error (never a
// crash, a stack overflow or an unbounded allocation - ASan and libFuzzer's
// -rss_limit_mb catch those), and that everything it accepts survives an
// encode/decode round trip: the second encoding is byte-for-byte the first
// (bytes, not Object equality, so that a NaN compares equal to itself).
// Proxy references round-trip through a stand-in ObjectRef.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "common/local_frame.h"
#include "common/wire_codec.h"
#include "google/protobuf/stubs/logging.h"
#include "mp/errors.h"
#include "mp/object.h"
#include "mp/v1/value.pb.h"

namespace {

class FakeRef : public mp::ObjectRef {
 public:
  explicit FakeRef(const mp::v1::ProxyRef& ref) : ref_(ref) {}
  uint64_t id() const override { return ref_.id(); }
  std::string_view type_name() const override {
    return mp::internal::ObjectTypeName(ref_.type());
  }
  const mp::v1::ProxyRef& ref() const { return ref_; }

 private:
  mp::v1::ProxyRef ref_;
};

mp::Object DecodeProxy(const mp::v1::ProxyRef& ref) {
  return mp::Object::proxy(std::make_shared<FakeRef>(ref));
}

void EncodeProxy(const mp::ObjectRef& ref, mp::v1::ProxyRef* out) {
  *out = static_cast<const FakeRef&>(ref).ref();
}

std::string Serialize(const mp::v1::Value& v) {
  std::string s;
  if (!v.SerializeToString(&s)) std::abort();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field is a parse failure that protobuf also
  // logs, once per input; the transports rate-limit that line themselves.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mp::v1::Value wire;
  // The transports' parser, with their recursion limit.
  if (!mp::internal::ParseFrame(
          std::string_view(reinterpret_cast<const char*>(data), size), &wire)) {
    return 0;
  }
  mp::Object first;
  try {
    first = mp::internal::DecodeValue(wire, DecodeProxy);
  } catch (const mp::Error&) {
    return 0;  // refused cleanly
  }
  // What the decoder accepted nests at most kMaxReplyNestingDepth, which
  // the encoder must take back (as a server's reply does).
  mp::v1::Value once;
  mp::internal::EncodeValue(first, &once, EncodeProxy,
                            mp::internal::kMaxReplyNestingDepth);
  const std::string once_bytes = Serialize(once);
  if (mp::internal::WireSizeAtLeast(first) > once_bytes.size() + 16) {
    std::abort();  // the "lower bound" overestimates
  }
  mp::Object second = mp::internal::DecodeValue(once, DecodeProxy);
  mp::v1::Value twice;
  mp::internal::EncodeValue(second, &twice, EncodeProxy,
                            mp::internal::kMaxReplyNestingDepth);
  if (Serialize(twice) != once_bytes) std::abort();
  // Hashing and comparing must not crash either (dict keys do both).
  (void)(first == second);
  return 0;
}
