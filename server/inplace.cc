#include "server/inplace.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "mp/errors.h"

namespace mp::server {
namespace {

using Op = v1::Inplace;

// The same cap as list *= n (list_object.cc).
constexpr size_t kMaxElements = size_t{1} << 28;

const char* Symbol(Op::Operator op) {
  switch (op) {
    case Op::ADD: return "+=";
    case Op::SUB: return "-=";
    case Op::MUL: return "*=";
    case Op::TRUE_DIV: return "/=";
    case Op::FLOOR_DIV: return "//=";
    case Op::MOD: return "%=";
    case Op::AND: return "&=";
    case Op::OR: return "|=";
    case Op::XOR: return "^=";
    case Op::LSHIFT: return "<<=";
    case Op::RSHIFT: return ">>=";
    default: return "?=";
  }
}

[[noreturn]] void Unsupported(Op::Operator op, const Object& a,
                              const Object& b) {
  throw TypeError(std::string("unsupported operand type(s) for ") +
                  Symbol(op) + ": '" + a.type_name() + "' and '" +
                  b.type_name() + "'");
}

[[noreturn]] void Overflow(Op::Operator op) {
  throw ValueError(std::string("the result of ") + Symbol(op) +
                   " does not fit in int64");
}

bool IsInt(const Object& o) { return o.is_int() || o.is_bool(); }
bool IsNumber(const Object& o) { return IsInt(o) || o.is_float(); }

Object IntOp(Op::Operator op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case Op::ADD:
      if (__builtin_add_overflow(a, b, &r)) Overflow(op);
      return Object(r);
    case Op::SUB:
      if (__builtin_sub_overflow(a, b, &r)) Overflow(op);
      return Object(r);
    case Op::MUL:
      if (__builtin_mul_overflow(a, b, &r)) Overflow(op);
      return Object(r);
    case Op::TRUE_DIV:
      if (b == 0) throw ZeroDivisionError("division by zero");
      return Object(static_cast<double>(a) / static_cast<double>(b));
    case Op::FLOOR_DIV: {
      if (b == 0) throw ZeroDivisionError("integer division or modulo by zero");
      if (a == std::numeric_limits<int64_t>::min() && b == -1) Overflow(op);
      int64_t q = a / b;
      if (a % b != 0 && ((a < 0) != (b < 0))) --q;
      return Object(q);
    }
    case Op::MOD: {
      if (b == 0) throw ZeroDivisionError("integer division or modulo by zero");
      if (b == -1) return Object(int64_t{0});  // INT64_MIN % -1 is UB in C++
      int64_t m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return Object(m);
    }
    case Op::AND:
      return Object(a & b);
    case Op::OR:
      return Object(a | b);
    case Op::XOR:
      return Object(a ^ b);
    case Op::LSHIFT: {
      if (b < 0) throw ValueError("negative shift count");
      if (a == 0) return Object(int64_t{0});
      if (b >= 63) Overflow(op);
      int64_t shifted = static_cast<int64_t>(static_cast<uint64_t>(a) << b);
      if ((shifted >> b) != a) Overflow(op);
      return Object(shifted);
    }
    case Op::RSHIFT:
      if (b < 0) throw ValueError("negative shift count");
      if (b >= 63) return Object(int64_t{a < 0 ? -1 : 0});
      return Object(a >> b);  // arithmetic, as Python's
    default:
      break;
  }
  throw ValueError("malformed Inplace operation: no operator set");
}

// CPython's float_divmod, for // and %.
std::pair<double, double> FloatDivmod(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, b);
  }
  double floordiv;
  if (div != 0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  return {floordiv, mod};
}

Object FloatOp(Op::Operator op, const Object& x, const Object& y) {
  double a = x.as_float(), b = y.as_float();
  switch (op) {
    case Op::ADD:
      return Object(a + b);
    case Op::SUB:
      return Object(a - b);
    case Op::MUL:
      return Object(a * b);
    case Op::TRUE_DIV:
      if (b == 0) throw ZeroDivisionError("float division by zero");
      return Object(a / b);
    case Op::FLOOR_DIV:
      if (b == 0) throw ZeroDivisionError("float floor division by zero");
      return Object(FloatDivmod(a, b).first);
    case Op::MOD:
      if (b == 0) throw ZeroDivisionError("float modulo");
      return Object(FloatDivmod(a, b).second);
    default:
      Unsupported(op, x, y);
  }
}

// seq * times, charged before it is built.
Object Repeat(const Object& seq, int64_t times, StoredBytes* stored) {
  size_t n = times <= 0 ? 0 : static_cast<size_t>(times);
  size_t len = seq.is_str()     ? seq.as_str().size()
               : seq.is_bytes() ? seq.as_bytes().size()
                                : seq.as_list().size();
  if (len != 0 && n > kMaxElements / len) {
    throw ValueError("*= " + std::to_string(times) +
                     " would exceed the server's element limit");
  }
  // What the result will cost beyond the item it replaces, checked against
  // the limits before a byte is allocated; the exact charge follows.
  size_t each = stored->SizeOf(seq);
  size_t estimate = n == 0 ? 0 : each * (n - 1);
  stored->Change(estimate, 0);
  stored->ForceChange(0, estimate);
  if (seq.is_str() || seq.is_bytes()) {
    const std::string& s = seq.is_str() ? seq.as_str() : seq.as_bytes();
    std::string out;
    out.reserve(len * n);
    for (size_t i = 0; i < n; ++i) out += s;
    return seq.is_str() ? Object(std::move(out))
                        : Object::bytes(std::move(out));
  }
  Object::List out;
  out.reserve(len * n);
  for (size_t i = 0; i < n; ++i) {
    out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  }
  return seq.is_list() ? Object::list(std::move(out))
                       : Object::tuple(std::move(out));
}

}  // namespace

Object InplaceResult(const v1::Inplace& op, const Object& a, const Object& b,
                     StoredBytes* stored) {
  const Op::Operator o = op.op();
  if (o == Op::OPERATOR_UNSPECIFIED || !Op::Operator_IsValid(o)) {
    throw ValueError("malformed Inplace operation: no operator set");
  }
  if (IsNumber(a) && IsNumber(b)) {
    if (a.is_bool() && b.is_bool() &&
        (o == Op::AND || o == Op::OR || o == Op::XOR)) {
      bool x = a.as_bool(), y = b.as_bool();
      return Object(o == Op::AND ? (x && y) : o == Op::OR ? (x || y) : x != y);
    }
    if (IsInt(a) && IsInt(b)) return IntOp(o, a.as_int(), b.as_int());
    return FloatOp(o, a, b);
  }
  const bool a_seq = a.is_str() || a.is_bytes() || a.is_list() || a.is_tuple();
  if (o == Op::ADD && a_seq) {
    if (a.is_str() && b.is_str()) return Object(a.as_str() + b.as_str());
    if (a.is_bytes() && b.is_bytes()) {
      return Object::bytes(a.as_bytes() + b.as_bytes());
    }
    // list += accepts any iterable in Python; tuple += only a tuple.
    if ((a.is_list() && (b.is_list() || b.is_tuple())) ||
        (a.is_tuple() && b.is_tuple())) {
      Object::List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return a.is_list() ? Object::list(std::move(out))
                         : Object::tuple(std::move(out));
    }
  }
  if (o == Op::MUL) {
    if (a_seq && IsInt(b)) return Repeat(a, b.as_int(), stored);
    const bool b_seq =
        b.is_str() || b.is_bytes() || b.is_list() || b.is_tuple();
    if (IsInt(a) && b_seq) return Repeat(b, a.as_int(), stored);
  }
  Unsupported(o, a, b);
}

Object ApplyInplaceLocked(const v1::Inplace& op, Object* slot,
                          const Object& operand, StoredBytes* stored,
                          Object* dropped) {
  Object result = InplaceResult(op, *slot, operand, stored);
  stored->Change(stored->SizeOf(result), stored->SizeOf(*slot));
  *dropped = std::exchange(*slot, result);
  return result;
}

}  // namespace mp::server
