#include "common/typecode.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "mp/errors.h"

namespace mp::internal {
namespace {

constexpr TypeCode kTypeCodes[] = {
    {'b', 1, TypeCode::kSigned}, {'B', 1, TypeCode::kUnsigned},
    {'h', 2, TypeCode::kSigned}, {'H', 2, TypeCode::kUnsigned},
    {'i', 4, TypeCode::kSigned}, {'I', 4, TypeCode::kUnsigned},
    {'l', 8, TypeCode::kSigned}, {'L', 8, TypeCode::kUnsigned},
    {'q', 8, TypeCode::kSigned}, {'Q', 8, TypeCode::kUnsigned},
    {'f', 4, TypeCode::kFloat},  {'d', 8, TypeCode::kFloat},
    {'c', 1, TypeCode::kChar},
};

int64_t MinOf(const TypeCode& tc) {
  if (tc.kind != TypeCode::kSigned) return 0;
  return tc.size == 8 ? std::numeric_limits<int64_t>::min()
                      : -(int64_t{1} << (tc.size * 8 - 1));
}

// Unsigned 64-bit elements are limited to int64's range because mp::Object
// integers are int64.
int64_t MaxOf(const TypeCode& tc) {
  if (tc.size == 8) return std::numeric_limits<int64_t>::max();
  return tc.kind == TypeCode::kSigned ? (int64_t{1} << (tc.size * 8 - 1)) - 1
                                      : (int64_t{1} << (tc.size * 8)) - 1;
}

}  // namespace

const TypeCode* FindTypeCode(char code) {
  for (const TypeCode& tc : kTypeCodes) {
    if (tc.code == code) return &tc;
  }
  return nullptr;
}

std::string_view SupportedTypeCodes() { return "bBhHiIlLqQfdc"; }

const TypeCode& GetTypeCode(std::string_view code) {
  const TypeCode* tc = code.size() == 1 ? FindTypeCode(code[0]) : nullptr;
  if (tc == nullptr) {
    throw ValueError("bad typecode '" + std::string(code) +
                     "' (must be one of " + std::string(SupportedTypeCodes()) +
                     ")");
  }
  return *tc;
}

void PackElement(const TypeCode& tc, const Object& value, char* out) {
  switch (tc.kind) {
    case TypeCode::kFloat: {
      if (!value.is_int() && !value.is_float() && !value.is_bool()) {
        throw TypeError(std::string("must be real number, not ") +
                        value.type_name());
      }
      double d = value.as_float();
      if (tc.size == 4) {
        float f = static_cast<float>(d);
        std::memcpy(out, &f, 4);
      } else {
        std::memcpy(out, &d, 8);
      }
      return;
    }
    case TypeCode::kChar: {
      if (!value.is_bytes() || value.as_bytes().size() != 1) {
        throw TypeError(
            std::string("typecode 'c' needs a bytes object of length 1, not ") +
            value.repr());
      }
      *out = value.as_bytes()[0];
      return;
    }
    case TypeCode::kSigned:
    case TypeCode::kUnsigned: {
      if (!value.is_int() && !value.is_bool()) {
        throw TypeError(std::string("an integer is required (got type ") +
                        value.type_name() + ")");
      }
      int64_t v = value.as_int();
      if (v < MinOf(tc) || v > MaxOf(tc)) {
        throw ValueError("value " + std::to_string(v) +
                         " out of range for typecode '" + tc.code + "' (" +
                         std::to_string(MinOf(tc)) + " .. " +
                         std::to_string(MaxOf(tc)) + ")");
      }
      // Little-endian: the low tc.size bytes of the int64 are the element.
      std::memcpy(out, &v, tc.size);
      return;
    }
  }
}

Object UnpackElement(const TypeCode& tc, const char* in) {
  switch (tc.kind) {
    case TypeCode::kFloat:
      if (tc.size == 4) {
        float f;
        std::memcpy(&f, in, 4);
        return Object(static_cast<double>(f));
      } else {
        double d;
        std::memcpy(&d, in, 8);
        return Object(d);
      }
    case TypeCode::kChar:
      return Object::bytes(std::string(1, *in));
    case TypeCode::kSigned: {
      int64_t v = 0;
      switch (tc.size) {
        case 1:
          v = static_cast<int8_t>(*in);
          break;
        case 2: {
          int16_t x;
          std::memcpy(&x, in, 2);
          v = x;
          break;
        }
        case 4: {
          int32_t x;
          std::memcpy(&x, in, 4);
          v = x;
          break;
        }
        default:
          std::memcpy(&v, in, 8);
      }
      return Object(v);
    }
    case TypeCode::kUnsigned: {
      uint64_t v = 0;
      std::memcpy(&v, in, tc.size);
      return Object(static_cast<int64_t>(v));
    }
  }
  return Object();
}

}  // namespace mp::internal
