// Copyright 2026 The mp Authors.
#include "mp/object.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <compare>
#include <functional>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "mp/errors.h"

namespace mp {
namespace {

using Type = Object::Type;

constexpr size_t Idx(Type t) { return static_cast<size_t>(t); }

// This Abseil build has its own string_view type, which StrCat requires.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

// 2**63 as a double: the first double above every int64.
constexpr double kTwo63 = 9223372036854775808.0;

const char* BuiltinTypeName(Type t) {
  switch (t) {
    case Type::kNone:
      return "NoneType";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kStr:
      return "str";
    case Type::kBytes:
      return "bytes";
    case Type::kList:
      return "list";
    case Type::kTuple:
      return "tuple";
    case Type::kDict:
      return "dict";
    case Type::kProxy:
      return "proxy";
  }
  return "?";
}

// type_name() hands out const char*, but ObjectRef::type_name() is a
// string_view that need not be NUL-terminated nor outlive the ref, so proxy
// type names are copied into a process-lifetime table. The common names are
// served without taking the lock.
const char* InternTypeName(std::string_view name) {
  static constexpr const char* kCommon[] = {
      "dict",    "list",  "Namespace", "Value",         "Array",
      "Lock",    "RLock", "Semaphore", "Condition",     "Event",
      "Barrier", "Queue", "Iterator",  "JoinableQueue", "BoundedSemaphore"};
  for (const char* common : kCommon) {
    if (name == common) return common;
  }
  static std::mutex* mu = new std::mutex;
  static auto* names = new std::set<std::string, std::less<>>;
  std::lock_guard<std::mutex> lock(*mu);
  auto it = names->find(name);
  if (it == names->end()) it = names->emplace(name).first;
  return it->c_str();
}

bool IsNumber(Type t) {
  return t == Type::kBool || t == Type::kInt || t == Type::kFloat;
}

// Exact comparison of an int64 with a double: converting either side to the
// other's type would round (2**53 + 1 vs 2.0**53).
std::partial_ordering CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= kTwo63) return std::partial_ordering::less;
  if (d < -kTwo63) return std::partial_ordering::greater;
  double f = std::floor(d);  // in [-2**63, 2**63), so the cast is exact
  int64_t fi = static_cast<int64_t>(f);
  if (i != fi) return i <=> fi;
  return d > f ? std::partial_ordering::less
               : std::partial_ordering::equivalent;
}

// Precondition: both are bool, int or float.
std::partial_ordering CompareNumbers(const Object& a, const Object& b) {
  bool af = a.is_float();
  bool bf = b.is_float();
  if (af && bf) return a.as_float() <=> b.as_float();
  if (af) return 0 <=> CompareIntDouble(b.as_int(), a.as_float());
  if (bf) return CompareIntDouble(a.as_int(), b.as_float());
  return a.as_int() <=> b.as_int();
}

bool DictEqual(const Dict& a, const Dict& b, bool nan_equal);

// Python's ==, or with `nan_equal` the reflexive variant used for dict keys.
bool Equal(const Object& a, const Object& b, bool nan_equal) {
  Type ta = a.type();
  Type tb = b.type();
  if (IsNumber(ta) && IsNumber(tb)) {
    if (CompareNumbers(a, b) == std::partial_ordering::equivalent) return true;
    return nan_equal && ta == Type::kFloat && tb == Type::kFloat &&
           std::isnan(a.as_float()) && std::isnan(b.as_float());
  }
  if (ta != tb) return false;
  switch (ta) {
    case Type::kNone:
      return true;
    case Type::kStr:
      return a.as_str() == b.as_str();
    case Type::kBytes:
      return a.as_bytes() == b.as_bytes();
    case Type::kList:
    case Type::kTuple: {
      const Object::List& x = a.as_list();
      const Object::List& y = b.as_list();
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equal(x[i], y[i], nan_equal)) return false;
      }
      return true;
    }
    case Type::kDict:
      return DictEqual(a.as_dict(), b.as_dict(), nan_equal);
    case Type::kProxy: {
      const ObjectRef& x = *a.as_proxy();
      const ObjectRef& y = *b.as_proxy();
      return &x == &y || (x.id() == y.id() && x.type_name() == y.type_name());
    }
    default:
      return false;  // numbers were handled above
  }
}

bool DictEqual(const Dict& a, const Dict& b, bool nan_equal) {
  if (&a == &b) return true;
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a) {
    const Object* other = b.find(key);
    if (other == nullptr || !Equal(value, *other, nan_equal)) return false;
  }
  return true;
}

size_t HashInt(int64_t i) { return absl::HashOf(i); }

size_t HashFloat(double d) {
  // Integral floats must hash like the equal int. Every NaN is one dict key
  // (see ObjectEq), so all NaNs share a hash whatever their payload bits.
  if (std::isnan(d)) return absl::HashOf(uint8_t{0x7f});
  if (d >= -kTwo63 && d < kTwo63 && std::floor(d) == d) {
    return HashInt(static_cast<int64_t>(d));
  }
  return absl::HashOf(d);
}

void AppendHexByte(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xf]);
}

// Python prefers single quotes and switches to double quotes only when that
// avoids escaping.
char PickQuote(std::string_view s) {
  bool single = s.find('\'') != std::string_view::npos;
  bool dbl = s.find('"') != std::string_view::npos;
  return single && !dbl ? '"' : '\'';
}

// Appends a str or bytes body (without quotes) escaped as Python's repr does.
void AppendEscaped(std::string_view s, char quote, bool is_bytes,
                   std::string* out) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
      AppendHexByte(c, out);
    } else if (!is_bytes && c == 0xc2 && i + 1 < s.size()) {
      // U+0080..U+00A0 (C1 controls, no-break space) and U+00AD (soft
      // hyphen) are the non-printable code points below U+0100; Python
      // writes them as \xNN.
      unsigned char next = static_cast<unsigned char>(s[i + 1]);
      if ((next >= 0x80 && next <= 0xa0) || next == 0xad) {
        AppendHexByte(next, out);
        ++i;
      } else {
        out->push_back(static_cast<char>(c));
      }
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

void AppendQuoted(std::string_view s, bool is_bytes, std::string* out) {
  char quote = PickQuote(s);
  if (is_bytes) out->push_back('b');
  out->push_back(quote);
  AppendEscaped(s, quote, is_bytes, out);
  out->push_back(quote);
}

// Python's float repr: the shortest digits that round-trip, positional
// notation for decimal exponents in [-4, 16), scientific otherwise, and a
// trailing ".0" on integral positional values.
void AppendFloat(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("nan");
    return;
  }
  if (std::isinf(d)) {
    out->append(d < 0 ? "-inf" : "inf");
    return;
  }
  char buf[64];
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, ec == std::errc() ? end - buf : 0);
  // sci is "[-]D[.DDD]e(+|-)XX".
  if (!sci.empty() && sci[0] == '-') {
    out->push_back('-');
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+'),
                  sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 16) {
    out->push_back(digits[0]);
    if (digits.size() > 1) {
      out->push_back('.');
      out->append(digits, 1);
    }
    out->push_back('e');
    out->push_back(exp < 0 ? '-' : '+');
    int mag = exp < 0 ? -exp : exp;
    if (mag < 10) out->push_back('0');
    absl::StrAppend(out, mag);
    return;
  }
  int point = exp + 1;  // digits before the decimal point
  if (point <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-point), '0');
    out->append(digits);
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out->append(digits);
    out->append(static_cast<size_t>(point) - digits.size(), '0');
    out->append(".0");
  } else {
    out->append(digits, 0, point);
    out->push_back('.');
    out->append(digits, point);
  }
}

void AppendRepr(const Object& o, std::string* out);

void AppendDictRepr(const Dict& d, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [key, value] : d) {
    if (!first) out->append(", ");
    first = false;
    AppendRepr(key, out);
    out->append(": ");
    AppendRepr(value, out);
  }
  out->push_back('}');
}

void AppendRepr(const Object& o, std::string* out) {
  switch (o.type()) {
    case Type::kNone:
      out->append("None");
      return;
    case Type::kBool:
      out->append(o.as_bool() ? "True" : "False");
      return;
    case Type::kInt:
      absl::StrAppend(out, o.as_int());
      return;
    case Type::kFloat:
      AppendFloat(o.as_float(), out);
      return;
    case Type::kStr:
      AppendQuoted(o.as_str(), /*is_bytes=*/false, out);
      return;
    case Type::kBytes:
      AppendQuoted(o.as_bytes(), /*is_bytes=*/true, out);
      return;
    case Type::kList:
    case Type::kTuple: {
      bool list = o.is_list();
      const Object::List& items = o.as_list();
      out->push_back(list ? '[' : '(');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out->append(", ");
        AppendRepr(items[i], out);
      }
      if (!list && items.size() == 1) out->push_back(',');
      out->push_back(list ? ']' : ')');
      return;
    }
    case Type::kDict:
      AppendDictRepr(o.as_dict(), out);
      return;
    case Type::kProxy: {
      const ObjectRef& ref = *o.as_proxy();
      std::string_view name = ref.type_name();
      std::string cls(name);
      if (!cls.empty() && cls[0] >= 'a' && cls[0] <= 'z') {
        cls[0] = static_cast<char>(cls[0] - 'a' + 'A');
      }
      absl::StrAppend(out, "<", cls, "Proxy object, typeid '", Sv(name),
                      "' at 0x", absl::Hex(ref.id()), ">");
      return;
    }
  }
}

[[noreturn]] void ThrowUnhashable(const Object& o) {
  throw TypeError(absl::StrCat("unhashable type: '", o.type_name(), "'"));
}

}  // namespace

// ---------------------------------------------------------------------------
// Object

Object::Object(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) {
    throw ValueError(
        absl::StrCat("char 0x", absl::Hex(static_cast<unsigned char>(c)),
                     " is not ASCII; pass UTF-8 text as a std::string"));
  }
  rep_.emplace<Idx(Type::kStr)>(std::make_shared<const std::string>(1, c));
}

Object::Object(const char* s) {
  if (s == nullptr) {
    throw ValueError("cannot convert a null const char* to mp::Object");
  }
  rep_.emplace<Idx(Type::kStr)>(std::make_shared<const std::string>(s));
}

Object::Object(std::string s)
    : rep_(std::in_place_index<Idx(Type::kStr)>,
           std::make_shared<const std::string>(std::move(s))) {}

Object::Object(std::string_view s)
    : rep_(std::in_place_index<Idx(Type::kStr)>,
           std::make_shared<const std::string>(s)) {}

Object Object::list(std::initializer_list<Object> items) {
  return list(List(items));
}

Object Object::list(List items) {
  return Object(Rep(std::in_place_index<Idx(Type::kList)>,
                    std::make_shared<const List>(std::move(items))));
}

Object Object::tuple(std::initializer_list<Object> items) {
  return tuple(List(items));
}

Object Object::tuple(List items) {
  return Object(Rep(std::in_place_index<Idx(Type::kTuple)>,
                    std::make_shared<const List>(std::move(items))));
}

Object Object::dict(std::initializer_list<std::pair<Object, Object>> items) {
  Dict d;
  for (const auto& [key, value] : items) d.set(key, value);
  return dict(std::move(d));
}

Object Object::dict(Dict d) {
  return Object(Rep(std::in_place_index<Idx(Type::kDict)>,
                    std::make_shared<const Dict>(std::move(d))));
}

Object Object::bytes(std::string data) {
  return Object(Rep(std::in_place_index<Idx(Type::kBytes)>,
                    std::make_shared<const std::string>(std::move(data))));
}

Object Object::proxy(std::shared_ptr<const ObjectRef> ref) {
  if (ref == nullptr) throw ValueError("proxy reference must not be null");
  return Object(Rep(std::in_place_index<Idx(Type::kProxy)>, std::move(ref)));
}

bool Object::as_bool() const {
  if (!is_bool()) convert_internal::ThrowTypeMismatch("bool", *this);
  return std::get<Idx(Type::kBool)>(rep_);
}

int64_t Object::as_int() const {
  if (is_int()) return std::get<Idx(Type::kInt)>(rep_);
  if (is_bool()) return std::get<Idx(Type::kBool)>(rep_) ? 1 : 0;
  convert_internal::ThrowTypeMismatch("int", *this);
}

double Object::as_float() const {
  if (is_float()) return std::get<Idx(Type::kFloat)>(rep_);
  if (is_int()) return static_cast<double>(std::get<Idx(Type::kInt)>(rep_));
  if (is_bool()) return std::get<Idx(Type::kBool)>(rep_) ? 1.0 : 0.0;
  convert_internal::ThrowTypeMismatch("float", *this);
}

const std::string& Object::as_str() const {
  if (!is_str()) convert_internal::ThrowTypeMismatch("str", *this);
  return *std::get<Idx(Type::kStr)>(rep_);
}

const std::string& Object::as_bytes() const {
  if (!is_bytes()) convert_internal::ThrowTypeMismatch("bytes", *this);
  return *std::get<Idx(Type::kBytes)>(rep_);
}

const Object::List& Object::as_list() const {
  if (is_list()) return *std::get<Idx(Type::kList)>(rep_);
  if (is_tuple()) return *std::get<Idx(Type::kTuple)>(rep_);
  convert_internal::ThrowTypeMismatch("list or tuple", *this);
}

const Dict& Object::as_dict() const {
  if (!is_dict()) convert_internal::ThrowTypeMismatch("dict", *this);
  return *std::get<Idx(Type::kDict)>(rep_);
}

const std::shared_ptr<const ObjectRef>& Object::as_proxy() const {
  if (!is_proxy()) convert_internal::ThrowTypeMismatch("proxy", *this);
  return std::get<Idx(Type::kProxy)>(rep_);
}

std::string Object::repr() const {
  std::string out;
  AppendRepr(*this, &out);
  return out;
}

std::string Object::str() const { return is_str() ? as_str() : repr(); }

const char* Object::type_name() const {
  if (is_proxy()) return InternTypeName(as_proxy()->type_name());
  return BuiltinTypeName(type());
}

size_t Object::hash() const {
  switch (type()) {
    case Type::kNone:
      return absl::HashOf(uint8_t{0});
    case Type::kBool:
    case Type::kInt:
      return HashInt(as_int());
    case Type::kFloat:
      return HashFloat(as_float());
    case Type::kStr:
      return absl::HashOf(as_str());
    case Type::kBytes:
      // Tagged so that 'a' and b'a', which are unequal, do not collide.
      return absl::HashOf(uint8_t{1}, as_bytes());
    case Type::kTuple: {
      const List& items = as_list();
      size_t h = absl::HashOf(uint8_t{2}, items.size());
      for (const Object& item : items) h = absl::HashOf(h, item.hash());
      return h;
    }
    case Type::kProxy:
      return absl::HashOf(uint8_t{3}, as_proxy()->id());
    case Type::kList:
    case Type::kDict:
      break;
  }
  ThrowUnhashable(*this);
}

bool Object::is_hashable() const {
  switch (type()) {
    case Type::kList:
    case Type::kDict:
      return false;
    case Type::kTuple:
      return std::all_of(as_list().begin(), as_list().end(),
                         [](const Object& o) { return o.is_hashable(); });
    default:
      return true;
  }
}

bool operator==(const Object& a, const Object& b) {
  return Equal(a, b, /*nan_equal=*/false);
}

bool Object::less(const Object& a, const Object& b) {
  Type ta = a.type();
  Type tb = b.type();
  if (IsNumber(ta) && IsNumber(tb)) {
    return CompareNumbers(a, b) == std::partial_ordering::less;
  }
  if (ta == tb) {
    // std::string compares as unsigned bytes, which for UTF-8 is code point
    // order.
    if (ta == Type::kStr) return a.as_str() < b.as_str();
    if (ta == Type::kBytes) return a.as_bytes() < b.as_bytes();
    if (ta == Type::kList || ta == Type::kTuple) {
      // Python: the first unequal pair decides; otherwise the shorter wins.
      const List& x = a.as_list();
      const List& y = b.as_list();
      size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i]) return less(x[i], y[i]);
      }
      return x.size() < y.size();
    }
  }
  throw TypeError(absl::StrCat("'<' not supported between instances of '",
                               a.type_name(), "' and '", b.type_name(), "'"));
}

std::ostream& operator<<(std::ostream& os, const Object& o) {
  return os << o.repr();
}

bool ObjectEq::operator()(const Object& a, const Object& b) const {
  return Equal(a, b, /*nan_equal=*/true);
}

// ---------------------------------------------------------------------------
// Dict

const Object* Dict::find(const Object& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second]->second;
}

Object* Dict::find(const Object& key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second]->second;
}

void Dict::set(Object key, Object value) {
  // try_emplace hashes before it changes anything, so an unhashable key
  // leaves the dict as it was.
  auto [it, inserted] = index_.try_emplace(key, entries_.size());
  if (!inserted) {
    entries_[it->second]->second = std::move(value);
    return;
  }
  try {
    entries_.emplace_back(std::in_place, std::move(key), std::move(value));
  } catch (...) {
    index_.erase(it);
    throw;
  }
  ++version_;
}

bool Dict::erase(const Object& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  size_t slot = it->second;
  index_.erase(it);
  entries_[slot].reset();
  ++tombstones_;
  ++version_;
  TrimTrailingTombstones();
  if (tombstones_ > entries_.size() / 2) Compact();
  return true;
}

std::optional<Dict::value_type> Dict::pop_last() {
  if (index_.empty()) return std::nullopt;
  // Trailing tombstones are always trimmed, so the last slot is live.
  value_type item = std::move(*entries_.back());
  entries_.pop_back();
  index_.erase(item.first);
  TrimTrailingTombstones();
  ++version_;
  return item;
}

Dict& Dict::operator=(const Dict& other) {
  if (this != &other) {
    Dict copy(other);
    uint64_t version = std::max(version_, other.version_) + 1;
    *this = std::move(copy);
    version_ = version;
  }
  return *this;
}

Dict::Dict(Dict&& other) noexcept
    : entries_(std::move(other.entries_)),
      index_(std::move(other.index_)),
      tombstones_(std::exchange(other.tombstones_, 0)),
      version_(other.version_) {
  other.entries_.clear();
  other.index_.clear();
  ++other.version_;
}

Dict& Dict::operator=(Dict&& other) noexcept {
  if (this != &other) {
    entries_ = std::move(other.entries_);
    index_ = std::move(other.index_);
    tombstones_ = std::exchange(other.tombstones_, 0);
    // A fresh number, so an iterator taken on either dict before the move
    // cannot mistake the new contents for the old.
    version_ = std::max(version_, other.version_) + 1;
    other.entries_.clear();
    other.index_.clear();
    ++other.version_;
  }
  return *this;
}

void Dict::clear() {
  std::vector<std::optional<value_type>>().swap(entries_);
  decltype(index_)().swap(index_);
  tombstones_ = 0;
  ++version_;
}

size_t Dict::next_slot(size_t from) const {
  while (from < entries_.size() && !entries_[from].has_value()) ++from;
  return std::min(from, entries_.size());
}

void Dict::TrimTrailingTombstones() {
  while (!entries_.empty() && !entries_.back().has_value()) {
    entries_.pop_back();
    --tombstones_;
  }
}

void Dict::Compact() {
  // Slots move down in place; the remap table renumbers the index without
  // rehashing every key.
  std::vector<size_t> remap(entries_.size());
  size_t live = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].has_value()) continue;
    remap[i] = live;
    if (i != live) entries_[live] = std::move(entries_[i]);
    ++live;
  }
  entries_.resize(live);
  for (auto& [key, slot] : index_) slot = remap[slot];
  tombstones_ = 0;
  ++version_;
}

bool operator==(const Dict& a, const Dict& b) {
  return DictEqual(a, b, /*nan_equal=*/false);
}

std::ostream& operator<<(std::ostream& os, const Dict& d) {
  std::string out;
  AppendDictRepr(d, &out);
  return os << out;
}

// ---------------------------------------------------------------------------
// Conversion helpers

namespace convert_internal {

void ThrowTypeMismatch(std::string_view expected, const Object& obj) {
  throw TypeError(
      absl::StrCat("expected ", Sv(expected), ", got ", obj.type_name()));
}

void ThrowOutOfRange(int64_t value, const char* type_name) {
  throw ValueError(
      absl::StrCat("value ", value, " out of range for ", type_name));
}

void ThrowFloatOutOfRange(double value) {
  throw ValueError(
      absl::StrCat("value ", Object(value).repr(), " out of range for float"));
}

void ThrowIntTooLarge(uint64_t value) {
  throw ValueError(absl::StrCat("int too large to convert to mp::Object: ",
                                value, " exceeds the int64_t range"));
}

void ThrowNotAChar(const Object& obj) {
  if (!obj.is_str()) ThrowTypeMismatch("str", obj);
  throw ValueError(absl::StrCat(
      "expected a single ASCII character for char, got ", obj.repr()));
}

const Object::List& AsSequenceOfLength(const Object& obj, size_t n) {
  if (!obj.is_tuple() && !obj.is_list()) ThrowTypeMismatch("tuple", obj);
  const Object::List& items = obj.as_list();
  if (items.size() < n) {
    throw ValueError(absl::StrCat("not enough values to unpack (expected ", n,
                                  ", got ", items.size(), ")"));
  }
  if (items.size() > n) {
    throw ValueError(
        absl::StrCat("too many values to unpack (expected ", n, ")"));
  }
  return items;
}

}  // namespace convert_internal
}  // namespace mp
