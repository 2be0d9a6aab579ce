// The array module's typecodes, shared by Value and Array on both sides of
// the wire. Elements are stored and shipped packed, little-endian (the only
// byte order mp targets), in the element's native size.
#ifndef MP_COMMON_TYPECODE_H_
#define MP_COMMON_TYPECODE_H_

#include <cstddef>
#include <string_view>

#include "mp/object.h"

namespace mp::internal {

struct TypeCode {
  char code;
  size_t size;  // bytes per element
  enum Kind { kSigned, kUnsigned, kFloat, kChar } kind;
};

// nullptr when `code` is not a supported typecode.
const TypeCode* FindTypeCode(char code);
// Like FindTypeCode, but throws mp::ValueError naming the bad code.
const TypeCode& GetTypeCode(std::string_view code);
// "bBhHiIlLqQfdc": for error messages.
std::string_view SupportedTypeCodes();

// Converts `value` for storage in an element of type `tc`, throwing
// mp::TypeError for the wrong kind of value and mp::ValueError when it is
// out of range. Writes tc.size bytes to `out`.
void PackElement(const TypeCode& tc, const Object& value, char* out);
Object UnpackElement(const TypeCode& tc, const char* in);

}  // namespace mp::internal

#endif  // MP_COMMON_TYPECODE_H_
