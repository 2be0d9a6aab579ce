// Conversion between mp::Object and the wire's mp.v1.Value, shared by the
// client and the server. The two sides differ only in what a proxy
// reference becomes, which the caller supplies.
#ifndef MP_COMMON_WIRE_CODEC_H_
#define MP_COMMON_WIRE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "mp/object.h"
#include "mp/v1/session.pb.h"

namespace mp::internal {

using ProxyEncoder = absl::FunctionRef<void(const ObjectRef&, v1::ProxyRef*)>;
using ProxyDecoder = absl::FunctionRef<Object(const v1::ProxyRef&)>;

// Writes `value` into `out`; proxy references go through `encode_proxy`.
void EncodeValue(const Object& value, v1::Value* out,
                 ProxyEncoder encode_proxy);
// Reads a Value. Throws mp::ValueError for a malformed message (no kind,
// mismatched dict keys/values) and mp::TypeError for an unhashable dict key.
Object DecodeValue(const v1::Value& value, ProxyDecoder decode_proxy);

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
