// Copyright 2026 The mp Authors.
//
// mp::Object: the values that travel between a manager and its clients,
// modelled on the Python objects multiprocessing would pickle. An Object is
// one of None, bool, int (int64_t), float (double), str (UTF-8), bytes, list,
// tuple, dict, or a reference to an object living in a manager server.
//
// Ownership and copying: scalars are stored inline; str, bytes, list, tuple,
// dict and proxy payloads are held by std::shared_ptr<const ...>. Copying an
// Object therefore never deep-copies, and copies share their payload the way
// two Python names bound to one object do.
//
// Thread safety: the value an Object holds never changes after construction,
// so any number of threads may read, copy and destroy copies of the same
// Object concurrently. Assigning a new value to an Object variable rebinds
// that variable only; like any other C++ variable it must not be assigned
// while another thread reads it.
//
// mp::Dict is the mutable, insertion-ordered map behind dict values (and the
// server's dict storage). It is an ordinary value type: not thread-safe,
// callers synchronise.
//
// Conversions: mp::to_object(x) and mp::from_object<T>(obj) convert between
// Object and C++ types (see the end of this file); user types opt in with
// ADL overloads `Object to_object(const T&)` and
// `void from_object(const Object&, T&)` in T's namespace.
#ifndef MP_OBJECT_H_
#define MP_OBJECT_H_

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "mp/errors.h"

namespace mp {

struct NoneType {
  friend bool operator==(NoneType, NoneType) { return true; }
};
inline constexpr NoneType None{};

// A reference to an object held by a manager server. Implemented elsewhere
// (client proxy handles, server-side refs).
class ObjectRef {
 public:
  virtual ~ObjectRef() = default;
  virtual uint64_t id() const = 0;
  // "dict", "list", "Namespace", "Value", "Array", "Lock", ...
  virtual std::string_view type_name() const = 0;
};

class Dict;

namespace convert_internal {
// Python ints: every integral type but bool and char (a 1-char str).
template <class T>
concept PyInt =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>;
template <class T>
concept NotChar = !std::same_as<std::remove_cv_t<T>, char>;
}  // namespace convert_internal

class Object {
 public:
  // The numeric values double as the index of the alternative in the
  // internal representation; keep them in sync.
  enum class Type {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kBytes,
    kList,
    kTuple,
    kDict,
    kProxy
  };
  using List = std::vector<Object>;

  // Constructors are implicit on purpose: an Object stands in for a
  // dynamically typed Python value, so `Object o = 1;` and
  // `Object::list({1, "a"})` should read naturally.
  Object() = default;  // None
  Object(std::nullptr_t) {}
  Object(NoneType) {}
  Object(bool b) : rep_(std::in_place_index<kBoolIdx>, b) {}
  // Every integral type except bool and char is a Python int. Unsigned values
  // above INT64_MAX throw mp::ValueError.
  template <convert_internal::PyInt T>
  Object(T v);
  // A char is a str of length 1, because `Object('x')` reads as a string.
  // Only ASCII is accepted (a lone byte >= 0x80 is not UTF-8): mp::ValueError
  // otherwise.
  Object(char c);
  Object(double d) : rep_(std::in_place_index<kFloatIdx>, d) {}
  Object(float f) : Object(static_cast<double>(f)) {}
  // Strings are UTF-8. A null `s` throws mp::ValueError.
  Object(const char* s);
  Object(std::string s);
  Object(std::string_view s);
  // Without this, any other pointer would silently become a bool.
  template <convert_internal::NotChar T>
  Object(T*) = delete;
  // Containers convert element-wise through to_object() (defined below).
  template <class T, class A>
  Object(const std::vector<T, A>& v);
  template <class K, class V, class C, class A>
  Object(const std::map<K, V, C, A>& m);
  template <class K, class V, class H, class E, class A>
  Object(const std::unordered_map<K, V, H, E, A>& m);

  static Object list(std::initializer_list<Object> items);
  static Object list(List items);
  static Object tuple(std::initializer_list<Object> items);
  static Object tuple(List items);
  // Later duplicates overwrite earlier values but keep the first key, as in a
  // Python dict display. Throws mp::TypeError for an unhashable key.
  static Object dict(std::initializer_list<std::pair<Object, Object>> items);
  static Object dict(Dict d);
  static Object bytes(std::string data);
  // Throws mp::ValueError if `ref` is null.
  static Object proxy(std::shared_ptr<const ObjectRef> ref);

  Type type() const { return static_cast<Type>(rep_.index()); }
  bool is_none() const { return type() == Type::kNone; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_float() const { return type() == Type::kFloat; }
  bool is_str() const { return type() == Type::kStr; }
  bool is_bytes() const { return type() == Type::kBytes; }
  bool is_list() const { return type() == Type::kList; }
  bool is_tuple() const { return type() == Type::kTuple; }
  bool is_dict() const { return type() == Type::kDict; }
  bool is_proxy() const { return type() == Type::kProxy; }

  // Checked accessors; a wrong type throws mp::TypeError
  // ("expected int, got str").
  bool as_bool() const;
  // bool is accepted too: Python's bool is a subclass of int.
  int64_t as_int() const;
  // int and bool widen.
  double as_float() const;
  const std::string& as_str() const;
  const std::string& as_bytes() const;
  // Elements of a list or a tuple.
  const List& as_list() const;
  const Dict& as_dict() const;
  const std::shared_ptr<const ObjectRef>& as_proxy() const;
  // Same as from_object<T>(*this).
  template <class T>
  T as() const;

  // Python's repr(). Non-printable code points in U+0080..U+00FF are escaped
  // as Python does; other non-ASCII text is passed through unchanged.
  std::string repr() const;
  // Python's str(): a str value unquoted, anything else its repr().
  std::string str() const;
  // Python's type name ("NoneType", "int", ...); for a proxy, the referenced
  // object's ObjectRef::type_name(). The pointer stays valid for the life of
  // the process.
  const char* type_name() const;

  // Consistent with ==: hash(1) == hash(1.0) == hash(True). Throws
  // mp::TypeError("unhashable type: 'list'") for lists, dicts and tuples
  // containing them.
  size_t hash() const;
  bool is_hashable() const;

  // Python's ==: numbers compare exactly across bool/int/float, NaN is unequal
  // to everything, str never equals bytes, list never equals tuple, dicts
  // compare regardless of order, proxies are equal iff id() and type_name()
  // match. Containers sharing one payload compare equal without looking at
  // their elements, like Python's identity shortcut for `x == x`.
  friend bool operator==(const Object& a, const Object& b);
  friend bool operator!=(const Object& a, const Object& b) { return !(a == b); }

  // Python's `a < b`, as used by sort(): bool/int/float numerically, str by
  // code point, bytes bytewise, list vs list and tuple vs tuple
  // lexicographically. Anything else throws mp::TypeError("'<' not supported
  // between instances of 'str' and 'int'").
  static bool less(const Object& a, const Object& b);

  // Writes repr().
  friend std::ostream& operator<<(std::ostream& os, const Object& o);

 private:
  static constexpr size_t kBoolIdx = static_cast<size_t>(Type::kBool);
  static constexpr size_t kIntIdx = static_cast<size_t>(Type::kInt);
  static constexpr size_t kFloatIdx = static_cast<size_t>(Type::kFloat);

  using StrPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<const List>;
  // Alternatives in Type order; str/bytes and list/tuple share a C++ type and
  // are told apart by index alone.
  using Rep = std::variant<NoneType, bool, int64_t, double, StrPtr, StrPtr,
                           ListPtr, ListPtr, std::shared_ptr<const Dict>,
                           std::shared_ptr<const ObjectRef>>;

  explicit Object(Rep rep) : rep_(std::move(rep)) {}

  Rep rep_;
};

// Hash and equality for Dict keys. ObjectEq differs from == in one way: NaN
// equals NaN, so the equality is reflexive as hash tables require. Python
// gets the same effect for a reused NaN object through identity; mp values
// have no identity, so every NaN key is the same key.
struct ObjectHash {
  size_t operator()(const Object& o) const { return o.hash(); }
};
struct ObjectEq {
  bool operator()(const Object& a, const Object& b) const;
};

// An insertion-ordered hash map with Python 3.7+ dict semantics. Keys must be
// hashable (mp::TypeError otherwise); keys that compare equal (1, 1.0, True)
// are one key, and the first-inserted spelling is kept.
//
// Entries live in a vector of slots in insertion order; erasing leaves a
// tombstone. When tombstones outnumber live entries the slots are compacted,
// which renumbers them; compaction only happens inside an erase, which bumps
// version() anyway, so slot-based iterators fail cleanly instead of skipping.
class Dict {
 public:
  using value_type = std::pair<Object, Object>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Dict::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    const_iterator() = default;
    reference operator*() const { return dict_->slot(slot_); }
    pointer operator->() const { return &dict_->slot(slot_); }
    const_iterator& operator++() {
      slot_ = dict_->next_slot(slot_ + 1);
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.slot_ == b.slot_;
    }

   private:
    friend class Dict;
    const_iterator(const Dict* dict, size_t slot) : dict_(dict), slot_(slot) {}

    const Dict* dict_ = nullptr;
    size_t slot_ = 0;
  };
  using iterator = const_iterator;

  Dict() = default;
  Dict(const Dict&) = default;
  Dict& operator=(const Dict& other);
  // A moved-from Dict is empty, and its version() has changed.
  Dict(Dict&& other) noexcept;
  Dict& operator=(Dict&& other) noexcept;

  size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }

  // The value stored under `key`, or nullptr. Throws mp::TypeError for an
  // unhashable key, as Python's `d[[1]]` does.
  const Object* find(const Object& key) const;
  Object* find(const Object& key);
  bool contains(const Object& key) const { return find(key) != nullptr; }

  // Inserts, or overwrites in place keeping the original key and position.
  // Throws mp::TypeError for an unhashable key, leaving the dict unchanged.
  void set(Object key, Object value);
  // False if absent. Throws mp::TypeError for an unhashable key.
  bool erase(const Object& key);
  // Python's popitem(): removes and returns the most recently inserted entry.
  std::optional<value_type> pop_last();
  // Releases all storage.
  void clear();

  // Insertion order.
  const_iterator begin() const { return const_iterator(this, next_slot(0)); }
  const_iterator end() const { return const_iterator(this, slot_end()); }

  // Slot-based access for iterators that must survive across calls (the
  // server's live dict iterators). Slots only grow between compactions; see
  // version(). next_slot(i) is the first occupied slot >= i, or slot_end().
  size_t next_slot(size_t from) const;
  size_t slot_end() const { return entries_.size(); }
  // Precondition: `i` is an occupied slot (as returned by next_slot()).
  const value_type& slot(size_t i) const { return *entries_[i]; }

  // Bumped by every insertion of a new key, erase, pop_last and clear, but not
  // by overwriting a value: Python's "dictionary changed size during
  // iteration" check compares it.
  uint64_t version() const { return version_; }

  // Same keys and equal values, regardless of order.
  friend bool operator==(const Dict& a, const Dict& b);
  friend bool operator!=(const Dict& a, const Dict& b) { return !(a == b); }
  // Writes the dict's repr.
  friend std::ostream& operator<<(std::ostream& os, const Dict& d);

 private:
  void TrimTrailingTombstones();
  void Compact();

  std::vector<std::optional<value_type>> entries_;
  absl::flat_hash_map<Object, size_t, ObjectHash, ObjectEq> index_;
  size_t tombstones_ = 0;
  uint64_t version_ = 0;
};

// ---------------------------------------------------------------------------
// Conversions between C++ values and Object.
//
// Built in: Object, bool, integral types (char is a 1-char str), float,
// double, std::string, std::string_view and const char* (to_object only),
// std::vector (list; from list or tuple), std::map and std::unordered_map
// (dict), std::optional (nullopt <-> None), std::pair and std::tuple (tuple;
// from tuple or list of the right length), NoneType, std::nullptr_t, Dict.
//
// from_object<T> throws mp::TypeError when the Object has the wrong Python
// type and mp::ValueError when the value does not fit T (out-of-range
// integers, wrong tuple length).
//
// User types: define, in T's namespace,
//   Object to_object(const T&);
//   void from_object(const Object&, T&);   // T must be default-constructible
// and mp::to_object / mp::from_object<T> (and containers of T) find them by
// argument-dependent lookup.
template <class T>
Object to_object(const T& value);
template <class T>
T from_object(const Object& obj);

namespace convert_internal {

template <class T>
inline constexpr bool kAlwaysFalse = false;

// Throwers kept out of line so the templates below stay small.
// TypeError("expected <expected>, got <type of obj>").
[[noreturn]] void ThrowTypeMismatch(std::string_view expected,
                                    const Object& obj);
[[noreturn]] void ThrowOutOfRange(int64_t value, const char* type_name);
[[noreturn]] void ThrowFloatOutOfRange(double value);
[[noreturn]] void ThrowIntTooLarge(uint64_t value);
[[noreturn]] void ThrowNotAChar(const Object& obj);
// A list or tuple of exactly `n` elements, else TypeError / ValueError the
// way Python's tuple unpacking reports it.
const Object::List& AsSequenceOfLength(const Object& obj, size_t n);

// Built-in conversions. The tag puts this namespace among the associated
// namespaces, so overloads declared further down are found at instantiation.
struct BuiltinTag {};
template <class T>
struct Tag {};

template <class T>
constexpr const char* IntName() {
  constexpr bool s = std::is_signed_v<T>;
  switch (sizeof(T)) {
    case 1:
      return s ? "int8_t" : "uint8_t";
    case 2:
      return s ? "int16_t" : "uint16_t";
    case 4:
      return s ? "int32_t" : "uint32_t";
    default:
      return s ? "int64_t" : "uint64_t";
  }
}

template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double>;
// Types an Object constructor takes directly.
template <class T>
concept Direct =
    std::same_as<T, bool> || std::same_as<T, char> || PyInt<T> || Real<T> ||
    std::same_as<T, std::string> || std::same_as<T, std::string_view> ||
    std::same_as<T, NoneType> || std::same_as<T, std::nullptr_t>;
// Types from_object refuses to return because they would dangle.
template <class T>
concept View =
    std::same_as<T, std::string_view> || std::same_as<T, const char*>;

template <std::same_as<Object> T>
Object ToObjectBuiltin(const T& v, BuiltinTag) {
  return v;
}
template <Direct T>
Object ToObjectBuiltin(const T& v, BuiltinTag) {
  return Object(v);
}
// Also catches char arrays (string literals).
inline Object ToObjectBuiltin(const char* s, BuiltinTag) { return Object(s); }
inline Object ToObjectBuiltin(const Dict& d, BuiltinTag) {
  return Object::dict(d);
}
template <class T, class A>
Object ToObjectBuiltin(const std::vector<T, A>& v, BuiltinTag) {
  Object::List items;
  items.reserve(v.size());
  for (const auto& e : v) items.push_back(mp::to_object(e));
  return Object::list(std::move(items));
}
template <class M>
Object MapToObject(const M& m) {
  Dict d;
  for (const auto& [k, v] : m) d.set(mp::to_object(k), mp::to_object(v));
  return Object::dict(std::move(d));
}
template <class K, class V, class C, class A>
Object ToObjectBuiltin(const std::map<K, V, C, A>& m, BuiltinTag) {
  return MapToObject(m);
}
template <class K, class V, class H, class E, class A>
Object ToObjectBuiltin(const std::unordered_map<K, V, H, E, A>& m, BuiltinTag) {
  return MapToObject(m);
}
template <class T>
Object ToObjectBuiltin(const std::optional<T>& v, BuiltinTag) {
  return v ? mp::to_object(*v) : Object();
}
template <class A, class B>
Object ToObjectBuiltin(const std::pair<A, B>& p, BuiltinTag) {
  return Object::tuple({mp::to_object(p.first), mp::to_object(p.second)});
}
template <class... Ts>
Object ToObjectBuiltin(const std::tuple<Ts...>& t, BuiltinTag) {
  return std::apply(
      [](const auto&... e) { return Object::tuple({mp::to_object(e)...}); }, t);
}

inline Object FromObjectBuiltin(const Object& o, Tag<Object>) { return o; }
inline bool FromObjectBuiltin(const Object& o, Tag<bool>) {
  return o.as_bool();
}
template <PyInt T>
T FromObjectBuiltin(const Object& o, Tag<T>) {
  int64_t v = o.as_int();
  if constexpr (std::is_signed_v<T>) {
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
      ThrowOutOfRange(v, IntName<T>());
    }
  } else {
    if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) {
      ThrowOutOfRange(v, IntName<T>());
    }
  }
  return static_cast<T>(v);
}
inline char FromObjectBuiltin(const Object& o, Tag<char>) {
  if (!o.is_str() || o.as_str().size() != 1 ||
      static_cast<unsigned char>(o.as_str()[0]) >= 0x80) {
    ThrowNotAChar(o);
  }
  return o.as_str()[0];
}
inline double FromObjectBuiltin(const Object& o, Tag<double>) {
  return o.as_float();
}
inline float FromObjectBuiltin(const Object& o, Tag<float>) {
  double d = o.as_float();
  // Infinities and NaN convert; only finite values too large to represent
  // are an error.
  if (std::isfinite(d) && (d > std::numeric_limits<float>::max() ||
                           d < std::numeric_limits<float>::lowest())) {
    ThrowFloatOutOfRange(d);
  }
  return static_cast<float>(d);
}
inline std::string FromObjectBuiltin(const Object& o, Tag<std::string>) {
  return o.as_str();
}
template <View T>
T FromObjectBuiltin(const Object&, Tag<T>) {
  static_assert(kAlwaysFalse<T>,
                "mp: from_object cannot return a view into a temporary "
                "Object; use std::string (or Object::as_str())");
}
inline NoneType FromObjectBuiltin(const Object& o, Tag<NoneType>) {
  if (!o.is_none()) ThrowTypeMismatch("None", o);
  return None;
}
inline std::nullptr_t FromObjectBuiltin(const Object& o, Tag<std::nullptr_t>) {
  FromObjectBuiltin(o, Tag<NoneType>{});
  return nullptr;
}
inline Dict FromObjectBuiltin(const Object& o, Tag<Dict>) {
  return o.as_dict();
}
template <class T, class A>
std::vector<T, A> FromObjectBuiltin(const Object& o, Tag<std::vector<T, A>>) {
  const Object::List& items = o.as_list();
  std::vector<T, A> out;
  out.reserve(items.size());
  for (const Object& e : items) out.push_back(mp::from_object<T>(e));
  return out;
}
template <class M>
M DictToMap(const Object& o) {
  M out;
  for (const auto& [k, v] : o.as_dict()) {
    out.emplace(mp::from_object<typename M::key_type>(k),
                mp::from_object<typename M::mapped_type>(v));
  }
  return out;
}
template <class K, class V, class C, class A>
std::map<K, V, C, A> FromObjectBuiltin(const Object& o,
                                       Tag<std::map<K, V, C, A>>) {
  return DictToMap<std::map<K, V, C, A>>(o);
}
template <class K, class V, class H, class E, class A>
std::unordered_map<K, V, H, E, A> FromObjectBuiltin(
    const Object& o, Tag<std::unordered_map<K, V, H, E, A>>) {
  return DictToMap<std::unordered_map<K, V, H, E, A>>(o);
}
template <class T>
std::optional<T> FromObjectBuiltin(const Object& o, Tag<std::optional<T>>) {
  if (o.is_none()) return std::nullopt;
  return mp::from_object<T>(o);
}
template <class A, class B>
std::pair<A, B> FromObjectBuiltin(const Object& o, Tag<std::pair<A, B>>) {
  const Object::List& items = AsSequenceOfLength(o, 2);
  // Braces fix left-to-right evaluation, so the first bad element is the one
  // reported, as in Python.
  return std::pair<A, B>{mp::from_object<A>(items[0]),
                         mp::from_object<B>(items[1])};
}
template <class... Ts>
std::tuple<Ts...> FromObjectBuiltin(const Object& o, Tag<std::tuple<Ts...>>) {
  const Object::List& items = AsSequenceOfLength(o, sizeof...(Ts));
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return std::tuple<Ts...>{mp::from_object<Ts>(items[I])...};
  }
  (std::index_sequence_for<Ts...>{});
}

// User conversions, found only by argument-dependent lookup: the deleted
// templates hide mp::to_object / mp::from_object from ordinary lookup and
// lose to (or are ambiguous with) any real overload, so a type without one is
// detected instead of recursing into the generic entry points.
namespace adl {
template <class T>
void to_object(const T&) = delete;
template <class T>
void from_object(const Object&, T&) = delete;

template <class T>
concept HasToObject = requires(const T& v) {
  { to_object(v) } -> std::convertible_to<Object>;
};
template <class T>
concept HasFromObject = requires(const Object& o, T& v) {
  from_object(o, v);
};

template <class T>
Object CallToObject(const T& v) {
  return to_object(v);
}
template <class T>
void CallFromObject(const Object& o, T& v) {
  from_object(o, v);
}
}  // namespace adl

}  // namespace convert_internal

template <class T>
Object to_object(const T& value) {
  using convert_internal::BuiltinTag;
  if constexpr (requires { ToObjectBuiltin(value, BuiltinTag{}); }) {
    return ToObjectBuiltin(value, BuiltinTag{});
  } else if constexpr (convert_internal::adl::HasToObject<T>) {
    return convert_internal::adl::CallToObject(value);
  } else {
    static_assert(convert_internal::kAlwaysFalse<T>,
                  "mp: no conversion to/from mp::Object for this type; define "
                  "to_object(const T&) and from_object(const Object&, T&) in "
                  "T's namespace");
  }
}

template <class T>
T from_object(const Object& obj) {
  using convert_internal::Tag;
  if constexpr (requires { FromObjectBuiltin(obj, Tag<T>{}); }) {
    return FromObjectBuiltin(obj, Tag<T>{});
  } else if constexpr (convert_internal::adl::HasFromObject<T>) {
    static_assert(std::is_default_constructible_v<T>,
                  "mp: from_object(const Object&, T&) needs a "
                  "default-constructible T");
    T value{};
    convert_internal::adl::CallFromObject(obj, value);
    return value;
  } else {
    static_assert(convert_internal::kAlwaysFalse<T>,
                  "mp: no conversion to/from mp::Object for this type; define "
                  "to_object(const T&) and from_object(const Object&, T&) in "
                  "T's namespace");
  }
}

template <convert_internal::PyInt T>
Object::Object(T v) {
  static_assert(sizeof(T) <= sizeof(int64_t), "mp: integer wider than int64");
  if constexpr (std::is_unsigned_v<T> && sizeof(T) == sizeof(int64_t)) {
    if (v > static_cast<T>(std::numeric_limits<int64_t>::max())) {
      convert_internal::ThrowIntTooLarge(v);
    }
  }
  rep_.emplace<kIntIdx>(static_cast<int64_t>(v));
}

template <class T, class A>
Object::Object(const std::vector<T, A>& v) : Object(to_object(v)) {}
template <class K, class V, class C, class A>
Object::Object(const std::map<K, V, C, A>& m) : Object(to_object(m)) {}
template <class K, class V, class H, class E, class A>
Object::Object(const std::unordered_map<K, V, H, E, A>& m)
    : Object(to_object(m)) {}

template <class T>
T Object::as() const {
  return from_object<T>(*this);
}

}  // namespace mp

template <>
struct std::hash<mp::Object> {
  size_t operator()(const mp::Object& o) const { return o.hash(); }
};

#endif  // MP_OBJECT_H_
