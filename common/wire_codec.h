// Conversion between mp::Object and the wire's mp.v1.Value, shared by the
// client and the server. The two sides differ only in what a proxy
// reference becomes, which the caller supplies.
#ifndef MP_COMMON_WIRE_CODEC_H_
#define MP_COMMON_WIRE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"

namespace mp::internal {

// How deep values nest: containers (list, tuple, dict) within containers;
// [[1]] nests 2, a scalar 0. What a client sends - an argument, whatever it
// stores - nests at most kMaxNestingDepth: the client's encoder refuses more
// with ValueError, and so does the server, per call (the session carries
// on). Replies may wrap stored values in two more levels (dict.items(): a
// list of (key, value) tuples), so what a client receives nests at most
// kMaxReplyNestingDepth.
//
// Why 32: protobuf parsers refuse a message nested more than 100 messages
// deep by default - in C++, in Python and in the other gRPC languages - and
// each level of a value is two messages (a Value and its Sequence or
// Mapping). The deepest legal message is then kMaxProtoNestingDepth = 70
// below its root (a reply: ServerMessage > Reply > 2 * 34 + 1 Values and
// Sequences; the deepest call, ClientMessage > Call > QueueOp > PutMany >
// Sequence > 2 * 32 + 1, is 69). Every legal message parses with stock
// settings on every side, and a value nested up to 47 deep still parses,
// reaching the server to be refused per call; deeper ones make the message
// itself malformed for any parser at its default limit.
inline constexpr int kMaxNestingDepth = 32;
inline constexpr int kMaxReplyNestingDepth = kMaxNestingDepth + 2;
// A transport's protobuf parser must allow at least this much recursion
// (its default, 100, does).
inline constexpr int kMaxProtoNestingDepth = 2 + 2 * kMaxReplyNestingDepth;
static_assert(kMaxProtoNestingDepth <= 100,
              "legal messages must parse at protobuf's default limit");

using ProxyEncoder = absl::FunctionRef<void(const ObjectRef&, v1::ProxyRef*)>;
using ProxyDecoder = absl::FunctionRef<Object(const v1::ProxyRef&)>;

// Writes `value` into `out`; proxy references go through `encode_proxy`.
// Throws mp::ValueError, naming the limit, for a value nested deeper than
// `max_depth` (found without recursing past it) and for a str that is not
// UTF-8.
void EncodeValue(const Object& value, v1::Value* out, ProxyEncoder encode_proxy,
                 int max_depth = kMaxNestingDepth);
// Reads a Value. Throws mp::ValueError for a malformed message (no kind,
// mismatched dict keys/values) or one nested deeper than `max_depth`, and
// mp::TypeError for an unhashable dict key.
Object DecodeValue(const v1::Value& value, ProxyDecoder decode_proxy,
                   int max_depth = kMaxReplyNestingDepth);

// A lower bound of the bytes `value` takes encoded as a field: 2 per value
// (a tag and a length or varint) plus the bytes of strings and floats.
// Counts no further than just past `stop_after`, so measuring a huge value
// against a limit costs no more than the limit. Recurses once per level of
// nesting: for values the decoder accepted.
size_t WireSizeAtLeast(const Object& value, size_t stop_after = SIZE_MAX);

// "dict", "list", "Namespace", ... (Python's typeid names).
std::string_view ObjectTypeName(v1::ObjectType type);
// OBJECT_TYPE_UNSPECIFIED for an unknown name.
v1::ObjectType ObjectTypeFromName(std::string_view name);

// How object ids appear in messages and reports: 0x-prefixed hex.
inline std::string HexId(uint64_t id) {
  return absl::StrCat("0x", absl::Hex(id));
}

// Throws the mp::Error subtype the wire error names.
[[noreturn]] void ThrowWireError(const v1::Error& error);

}  // namespace mp::internal

#endif  // MP_COMMON_WIRE_CODEC_H_
