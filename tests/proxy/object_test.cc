// Copyright 2026 The mp Authors.
#include "mp/object.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mp/errors.h"
#include "mp/v1/session.pb.h"

// A user type converted through ADL overloads in its own namespace.
namespace geo {
struct Point {
  int x = 0;
  int y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
mp::Object to_object(const Point& p) {
  return mp::Object::dict({{"x", p.x}, {"y", p.y}});
}
void from_object(const mp::Object& o, Point& p) {
  const mp::Dict& d = o.as_dict();
  p.x = mp::from_object<int>(*d.find("x"));
  p.y = mp::from_object<int>(*d.find("y"));
}
}  // namespace geo

// mp's own types opt in the same way, from inside namespace mp.
namespace mp {
struct Celsius {
  double degrees = 0;
};
Object to_object(const Celsius& c) { return Object::tuple({"C", c.degrees}); }
void from_object(const Object& o, Celsius& c) {
  c.degrees = from_object<double>(o.as_list().at(1));
}
}  // namespace mp

namespace mp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class FakeRef : public ObjectRef {
 public:
  FakeRef(uint64_t id, std::string type) : id_(id), type_(std::move(type)) {}
  uint64_t id() const override { return id_; }
  std::string_view type_name() const override { return type_; }

 private:
  uint64_t id_;
  std::string type_;
};

Object Proxy(uint64_t id, std::string type) {
  return Object::proxy(std::make_shared<FakeRef>(id, std::move(type)));
}

// Runs `f`, expecting it to throw E whose message() is exactly `message`.
template <class E, class F>
void ExpectThrowWithMessage(F&& f, std::string_view message) {
  try {
    f();
    ADD_FAILURE() << "expected an exception with message: " << message;
  } catch (const E& e) {
    EXPECT_EQ(e.message(), message);
  }
}

std::vector<Object> Keys(const Dict& d) {
  std::vector<Object> keys;
  for (const auto& [k, v] : d) keys.push_back(k);
  return keys;
}

std::string Repr(const Dict& d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

// --------------------------------------------------------------------------
// Construction and types

TEST(ObjectTest, DefaultIsNone) {
  Object o;
  EXPECT_TRUE(o.is_none());
  EXPECT_EQ(o.type(), Object::Type::kNone);
  EXPECT_TRUE(Object(nullptr).is_none());
  EXPECT_TRUE(Object(None).is_none());
}

TEST(ObjectTest, TypesAndTypeNames) {
  struct Case {
    Object o;
    Object::Type type;
    std::string_view name;
  };
  const Case cases[] = {
      {Object(), Object::Type::kNone, "NoneType"},
      {Object(true), Object::Type::kBool, "bool"},
      {Object(7), Object::Type::kInt, "int"},
      {Object(2.5), Object::Type::kFloat, "float"},
      {Object("s"), Object::Type::kStr, "str"},
      {Object::bytes("b"), Object::Type::kBytes, "bytes"},
      {Object::list({1}), Object::Type::kList, "list"},
      {Object::tuple({1}), Object::Type::kTuple, "tuple"},
      {Object::dict({{1, 2}}), Object::Type::kDict, "dict"},
      {Proxy(1, "Namespace"), Object::Type::kProxy, "Namespace"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.o.type(), c.type) << c.name;
    EXPECT_EQ(std::string_view(c.o.type_name()), c.name);
    EXPECT_EQ(c.o.is_none(), c.type == Object::Type::kNone);
    EXPECT_EQ(c.o.is_bool(), c.type == Object::Type::kBool);
    EXPECT_EQ(c.o.is_int(), c.type == Object::Type::kInt);
    EXPECT_EQ(c.o.is_float(), c.type == Object::Type::kFloat);
    EXPECT_EQ(c.o.is_str(), c.type == Object::Type::kStr);
    EXPECT_EQ(c.o.is_bytes(), c.type == Object::Type::kBytes);
    EXPECT_EQ(c.o.is_list(), c.type == Object::Type::kList);
    EXPECT_EQ(c.o.is_tuple(), c.type == Object::Type::kTuple);
    EXPECT_EQ(c.o.is_dict(), c.type == Object::Type::kDict);
    EXPECT_EQ(c.o.is_proxy(), c.type == Object::Type::kProxy);
  }
}

TEST(ObjectTest, ProxyTypeNameOutlivesTheRef) {
  const char* name;
  {
    // A name the common-name table does not know, from a ref that dies.
    Object o = Proxy(5, std::string("Custom") + "Thing");
    name = o.type_name();
  }
  EXPECT_STREQ(name, "CustomThing");
  EXPECT_EQ(Proxy(6, "CustomThing").type_name(), name);
}

TEST(ObjectTest, IntegralConstructors) {
  EXPECT_EQ(Object(int8_t{-5}).as_int(), -5);
  EXPECT_EQ(Object(uint8_t{200}).as_int(), 200);
  EXPECT_EQ(Object(short{-300}).as_int(), -300);
  EXPECT_EQ(Object(40000u).as_int(), 40000);
  EXPECT_EQ(Object(std::numeric_limits<int64_t>::min()).as_int(),
            std::numeric_limits<int64_t>::min());
  uint64_t max_ok = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Object(max_ok).as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(Object(uint8_t{1}).is_int());  // unsigned char is an int
  EXPECT_TRUE(Object(true).is_bool());
}

TEST(ObjectTest, UnsignedAboveInt64MaxThrows) {
  uint64_t too_big = uint64_t{1} << 63;
  EXPECT_THROW(Object{too_big}, ValueError);
  try {
    Object o(std::numeric_limits<uint64_t>::max());
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_THAT(e.message(), HasSubstr("int too large"));
    EXPECT_THAT(e.message(), HasSubstr("18446744073709551615"));
  }
}

TEST(ObjectTest, CharIsOneCharacterStr) {
  Object o('x');
  EXPECT_TRUE(o.is_str());
  EXPECT_EQ(o.as_str(), "x");
  EXPECT_EQ(o.repr(), "'x'");
  EXPECT_THROW(Object('\xe9'), ValueError);
}

TEST(ObjectTest, StringConstructors) {
  std::string s = "abc";
  EXPECT_EQ(Object(s).as_str(), "abc");
  EXPECT_EQ(Object(std::string_view("de")).as_str(), "de");
  EXPECT_EQ(Object("fg").as_str(), "fg");
  char buf[] = "hi";
  EXPECT_EQ(Object(buf).as_str(), "hi");  // char*, not bool
  EXPECT_EQ(Object(std::string("a\0b", 3)).as_str().size(), 3u);
  const char* null = nullptr;
  EXPECT_THROW(Object{null}, ValueError);
}

TEST(ObjectTest, NonCharPointersDoNotConvert) {
  static_assert(!std::is_constructible_v<Object, int*>);
  static_assert(!std::is_constructible_v<Object, const void*>);
  static_assert(std::is_constructible_v<Object, const char*>);
  static_assert(std::is_constructible_v<Object, char*>);
}

TEST(ObjectTest, ProxyMustNotBeNull) {
  EXPECT_THROW(Object::proxy(nullptr), ValueError);
}

TEST(ObjectTest, FloatConstructors) {
  EXPECT_EQ(Object(1.5f).as_float(), 1.5);
  EXPECT_TRUE(Object(1.5f).is_float());
  EXPECT_TRUE(Object(2.0).is_float());
}

// --------------------------------------------------------------------------
// Accessors

TEST(ObjectTest, CheckedAccessorsThrowTypeErrorNamingBothTypes) {
  ExpectThrowWithMessage<TypeError>([] { Object("x").as_int(); },
                                    "expected int, got str");
  ExpectThrowWithMessage<TypeError>([] { Object(1).as_str(); },
                                    "expected str, got int");
  ExpectThrowWithMessage<TypeError>([] { Object("x").as_bytes(); },
                                    "expected bytes, got str");
  ExpectThrowWithMessage<TypeError>([] { Object(1).as_bool(); },
                                    "expected bool, got int");
  ExpectThrowWithMessage<TypeError>([] { Object().as_float(); },
                                    "expected float, got NoneType");
  ExpectThrowWithMessage<TypeError>([] { Object(1.0).as_int(); },
                                    "expected int, got float");
  ExpectThrowWithMessage<TypeError>([] { Object::dict({}).as_list(); },
                                    "expected list or tuple, got dict");
  ExpectThrowWithMessage<TypeError>([] { Object::list({}).as_dict(); },
                                    "expected dict, got list");
  ExpectThrowWithMessage<TypeError>([] { Object(3).as_proxy(); },
                                    "expected proxy, got int");
}

TEST(ObjectTest, NumericWidening) {
  EXPECT_EQ(Object(true).as_int(), 1);
  EXPECT_EQ(Object(false).as_int(), 0);
  EXPECT_EQ(Object(3).as_float(), 3.0);
  EXPECT_EQ(Object(true).as_float(), 1.0);
}

TEST(ObjectTest, AsListCoversListAndTuple) {
  EXPECT_THAT(Object::list({1, "a"}).as_list(),
              ElementsAre(Object(1), Object("a")));
  EXPECT_THAT(Object::tuple({2}).as_list(), ElementsAre(Object(2)));
}

TEST(ObjectTest, AsProxyReturnsTheRef) {
  auto ref = std::make_shared<FakeRef>(9, "dict");
  Object o = Object::proxy(ref);
  EXPECT_EQ(o.as_proxy().get(), ref.get());
}

// --------------------------------------------------------------------------
// repr

TEST(ReprTest, Scalars) {
  EXPECT_EQ(Object().repr(), "None");
  EXPECT_EQ(Object(true).repr(), "True");
  EXPECT_EQ(Object(false).repr(), "False");
  EXPECT_EQ(Object(0).repr(), "0");
  EXPECT_EQ(Object(-42).repr(), "-42");
  EXPECT_EQ(Object(std::numeric_limits<int64_t>::min()).repr(),
            "-9223372036854775808");
}

TEST(ReprTest, Floats) {
  const std::pair<double, std::string_view> cases[] = {
      {1.0, "1.0"},
      {0.25, "0.25"},
      {0.1, "0.1"},
      {1e16, "1e+16"},
      {1.5e-05, "1.5e-05"},
      {123456789012345.0, "123456789012345.0"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {1.5e16, "1.5e+16"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {1e22, "1e+22"},
      {3.1415927, "3.1415927"},
      {0.0001, "0.0001"},
      {0.00012345, "0.00012345"},
      {1e-05, "1e-05"},
      {1.0 / 3, "0.3333333333333333"},
      {2.0 / 3, "0.6666666666666666"},
      {-2.5, "-2.5"},
      {100.0, "100.0"},
      {1e100, "1e+100"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {5e-324, "5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {123.456, "123.456"},
      {-1e-07, "-1e-07"},
      {0.1 + 0.2, "0.30000000000000004"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::nan(""), "nan"},
  };
  for (const auto& [value, expected] : cases) {
    EXPECT_EQ(Object(value).repr(), expected);
  }
}

TEST(ReprTest, StrQuoting) {
  EXPECT_EQ(Object("").repr(), "''");
  EXPECT_EQ(Object("abc").repr(), "'abc'");
  EXPECT_EQ(Object("it's").repr(), "\"it's\"");
  EXPECT_EQ(Object("say \"hi\"").repr(), "'say \"hi\"'");
  EXPECT_EQ(Object("both ' and \"").repr(), "'both \\' and \"'");
}

TEST(ReprTest, StrEscapes) {
  EXPECT_EQ(Object("a\\b").repr(), "'a\\\\b'");
  EXPECT_EQ(Object("\n\r\t").repr(), "'\\n\\r\\t'");
  EXPECT_EQ(Object(std::string("\0\x01\x1f\x7f", 4)).repr(),
            "'\\x00\\x01\\x1f\\x7f'");
  EXPECT_EQ(Object("\x1b[0m").repr(), "'\\x1b[0m'");
  EXPECT_EQ(Object(" ~").repr(), "' ~'");
}

TEST(ReprTest, StrNonAscii) {
  EXPECT_EQ(Object("caf\xc3\xa9").repr(), "'caf\xc3\xa9'");    // café
  EXPECT_EQ(Object("\xe2\x82\xac").repr(), "'\xe2\x82\xac'");  // €
  EXPECT_EQ(Object("\xf0\x9f\x98\x80").repr(), "'\xf0\x9f\x98\x80'");
  // Non-printable Latin-1 code points are escaped as Python does.
  EXPECT_EQ(Object("\xc2\x80").repr(), "'\\x80'");
  EXPECT_EQ(Object("a\xc2\xa0z").repr(), "'a\\xa0z'");
  EXPECT_EQ(Object("\xc2\xad").repr(), "'\\xad'");
  EXPECT_EQ(Object("\xc2\xa1").repr(), "'\xc2\xa1'");  // ¡ is printable
}

TEST(ReprTest, Bytes) {
  EXPECT_EQ(Object::bytes("").repr(), "b''");
  EXPECT_EQ(Object::bytes("abc").repr(), "b'abc'");
  EXPECT_EQ(Object::bytes("it's").repr(), "b\"it's\"");
  EXPECT_EQ(Object::bytes("'\"").repr(), "b'\\'\"'");
  EXPECT_EQ(Object::bytes(std::string("\0\n\r\t\\\x7f\x80\xff", 8)).repr(),
            "b'\\x00\\n\\r\\t\\\\\\x7f\\x80\\xff'");
  EXPECT_EQ(Object::bytes("caf\xc3\xa9").repr(), "b'caf\\xc3\\xa9'");
}

TEST(ReprTest, ListsAndTuples) {
  EXPECT_EQ(Object::list({}).repr(), "[]");
  EXPECT_EQ(Object::list({1, 2}).repr(), "[1, 2]");
  EXPECT_EQ(Object::list({1, "a", None, 2.5}).repr(), "[1, 'a', None, 2.5]");
  EXPECT_EQ(Object::tuple({}).repr(), "()");
  EXPECT_EQ(Object::tuple({1}).repr(), "(1,)");
  EXPECT_EQ(Object::tuple({1, 2}).repr(), "(1, 2)");
  EXPECT_EQ(Object::list({Object::tuple({1}), Object::list({})}).repr(),
            "[(1,), []]");
}

TEST(ReprTest, Dicts) {
  EXPECT_EQ(Object::dict({}).repr(), "{}");
  EXPECT_EQ(Object::dict({{1, "1"}, {"2", 2}, {0.25, None}}).repr(),
            "{1: '1', '2': 2, 0.25: None}");
  EXPECT_EQ(Object::dict({{Object::tuple({1, 2}), Object::dict({{"k", true}})}})
                .repr(),
            "{(1, 2): {'k': True}}");
  Dict d;
  d.set("b", 1);
  d.set("a", 2);
  EXPECT_EQ(Repr(d), "{'b': 1, 'a': 2}");
}

TEST(ReprTest, Proxies) {
  EXPECT_EQ(Proxy(0x1f, "dict").repr(),
            "<DictProxy object, typeid 'dict' at 0x1f>");
  EXPECT_EQ(Proxy(255, "Namespace").repr(),
            "<NamespaceProxy object, typeid 'Namespace' at 0xff>");
  EXPECT_EQ(Proxy(0x7f00deadbeef, "Value").repr(),
            "<ValueProxy object, typeid 'Value' at 0x7f00deadbeef>");
  EXPECT_EQ(Object::list({Proxy(1, "list")}).repr(),
            "[<ListProxy object, typeid 'list' at 0x1>]");
}

TEST(ReprTest, StrIsUnquotedOnlyForStr) {
  EXPECT_EQ(Object("it's").str(), "it's");
  EXPECT_EQ(Object::bytes("x").str(), "b'x'");
  EXPECT_EQ(Object(1.0).str(), "1.0");
  EXPECT_EQ(Object().str(), "None");
  EXPECT_EQ(Object::list({"a"}).str(), "['a']");
}

TEST(ReprTest, StreamWritesRepr) {
  std::ostringstream os;
  os << Object::list({"a", 1});
  EXPECT_EQ(os.str(), "['a', 1]");
}

// --------------------------------------------------------------------------
// Equality and hashing

TEST(EqualityTest, NumbersCompareAcrossTypes) {
  EXPECT_EQ(Object(1), Object(1.0));
  EXPECT_EQ(Object(1), Object(true));
  EXPECT_EQ(Object(1.0), Object(true));
  EXPECT_EQ(Object(0), Object(false));
  EXPECT_EQ(Object(0), Object(-0.0));
  EXPECT_NE(Object(1), Object(1.5));
  EXPECT_NE(Object(2), Object(true));
  EXPECT_NE(Object(true), Object(false));
}

TEST(EqualityTest, IntFloatComparisonIsExact) {
  int64_t big = (int64_t{1} << 53) + 1;
  double rounded = static_cast<double>(big);  // 2**53
  EXPECT_NE(Object(big), Object(rounded));
  EXPECT_EQ(Object(big - 1), Object(rounded));
  EXPECT_NE(Object(std::numeric_limits<int64_t>::max()),
            Object(9.2233720368547758e18));
  EXPECT_EQ(Object(std::numeric_limits<int64_t>::min()),
            Object(-9223372036854775808.0));
  EXPECT_NE(Object(1), Object(1e300));
}

TEST(EqualityTest, NanIsUnequalToEverything) {
  Object nan(std::nan(""));
  EXPECT_NE(nan, nan);
  EXPECT_NE(nan, Object(0));
  EXPECT_NE(Object::tuple({nan}), Object::tuple({std::nan("")}));
}

TEST(EqualityTest, ContainersAndStrings) {
  EXPECT_EQ(Object("a"), Object("a"));
  EXPECT_NE(Object("a"), Object::bytes("a"));
  EXPECT_NE(Object("a"), Object("b"));
  EXPECT_EQ(Object::list({1, 2}), Object::list({1.0, true + 1}));
  EXPECT_NE(Object::list({1, 2}), Object::tuple({1, 2}));
  EXPECT_NE(Object::list({1, 2}), Object::list({1, 2, 3}));
  EXPECT_EQ(Object::tuple({}), Object::tuple({}));
  EXPECT_NE(Object(), Object(0));
  EXPECT_NE(Object(), Object(false));
  EXPECT_EQ(Object(), Object(None));
}

TEST(EqualityTest, DictsIgnoreOrder) {
  Object a = Object::dict({{1, "x"}, {"k", 2}});
  Object b = Object::dict({{"k", 2}, {1.0, "x"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, Object::dict({{1, "x"}, {"k", 3}}));
  EXPECT_NE(a, Object::dict({{1, "x"}}));
  EXPECT_NE(a, Object::dict({{1, "x"}, {"j", 2}}));
}

TEST(EqualityTest, ProxiesCompareByIdAndType) {
  EXPECT_EQ(Proxy(1, "dict"), Proxy(1, "dict"));
  EXPECT_NE(Proxy(1, "dict"), Proxy(2, "dict"));
  EXPECT_NE(Proxy(1, "dict"), Proxy(1, "list"));
  EXPECT_NE(Proxy(1, "dict"), Object(1));
}

TEST(EqualityTest, ImplicitConversionOnEitherSide) {
  EXPECT_TRUE(Object(3) == 3);
  EXPECT_TRUE(3 == Object(3.0));
  EXPECT_TRUE(Object("a") != "b");
}

TEST(HashTest, EqualNumbersHashEqual) {
  EXPECT_EQ(Object(1).hash(), Object(1.0).hash());
  EXPECT_EQ(Object(1).hash(), Object(true).hash());
  EXPECT_EQ(Object(0).hash(), Object(-0.0).hash());
  EXPECT_EQ(Object(0).hash(), Object(false).hash());
  EXPECT_EQ(Object(-7).hash(), Object(-7.0).hash());
  EXPECT_EQ(Object(int64_t{1} << 60).hash(),
            Object(std::ldexp(1.0, 60)).hash());
  EXPECT_EQ(Object(std::nan("")).hash(), Object(-std::nan("1")).hash());
  EXPECT_EQ(Object::tuple({1, "a"}).hash(), Object::tuple({1.0, "a"}).hash());
  EXPECT_EQ(std::hash<Object>()(Object(2)), Object(2.0).hash());
}

TEST(HashTest, DifferentValuesUsuallyHashDifferently) {
  EXPECT_NE(Object(1).hash(), Object(2).hash());
  EXPECT_NE(Object(1.5).hash(), Object(1).hash());
  EXPECT_NE(Object("a").hash(), Object::bytes("a").hash());
  EXPECT_NE(Object::tuple({1, 2}).hash(), Object::tuple({2, 1}).hash());
  EXPECT_NE(Proxy(1, "dict").hash(), Proxy(2, "dict").hash());
}

TEST(HashTest, UnhashableTypes) {
  ExpectThrowWithMessage<TypeError>([] { Object::list({1}).hash(); },
                                    "unhashable type: 'list'");
  ExpectThrowWithMessage<TypeError>([] { Object::dict({}).hash(); },
                                    "unhashable type: 'dict'");
  ExpectThrowWithMessage<TypeError>(
      [] {
        Object::tuple({1, Object::list({})}).hash();
      },
      "unhashable type: 'list'");
  EXPECT_FALSE(Object::list({}).is_hashable());
  EXPECT_FALSE(Object::dict({}).is_hashable());
  EXPECT_FALSE(
      Object::tuple({1, Object::tuple({Object::dict({})})}).is_hashable());
  EXPECT_TRUE(Object::tuple({1, Object::tuple({"a"})}).is_hashable());
  EXPECT_TRUE(Object().is_hashable());
  EXPECT_TRUE(Proxy(1, "list").is_hashable());
  EXPECT_TRUE(Object::bytes("x").is_hashable());
}

// --------------------------------------------------------------------------
// less()

TEST(LessTest, NumbersMixed) {
  EXPECT_TRUE(Object::less(1, 2));
  EXPECT_FALSE(Object::less(2, 1));
  EXPECT_FALSE(Object::less(1, 1.0));
  EXPECT_TRUE(Object::less(false, 0.5));
  EXPECT_TRUE(Object::less(0.5, true));
  EXPECT_TRUE(Object::less(-1.5, -1));
  EXPECT_TRUE(Object::less(1, 1.0000001));
  int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_TRUE(Object::less(std::ldexp(1.0, 53), big));
  EXPECT_FALSE(Object::less(big, std::ldexp(1.0, 53)));
  EXPECT_TRUE(Object::less(std::numeric_limits<int64_t>::max(), 1e19));
  EXPECT_TRUE(Object::less(-1e19, std::numeric_limits<int64_t>::min()));
  EXPECT_FALSE(Object::less(std::nan(""), 1));
  EXPECT_FALSE(Object::less(1, std::nan("")));
}

TEST(LessTest, StringsAndBytes) {
  EXPECT_TRUE(Object::less("a", "b"));
  EXPECT_TRUE(Object::less("a", "ab"));
  EXPECT_FALSE(Object::less("b", "ab"));
  EXPECT_TRUE(Object::less("Z", "a"));
  // Code point order: U+00E9 sorts after every ASCII character.
  EXPECT_TRUE(Object::less("z", "\xc3\xa9"));
  EXPECT_TRUE(Object::less("\xc3\xa9", "\xe2\x82\xac"));
  EXPECT_TRUE(Object::less(Object::bytes("\x7f"), Object::bytes("\x80")));
}

TEST(LessTest, SequencesLexicographic) {
  EXPECT_TRUE(Object::less(Object::list({1, 2}), Object::list({1, 3})));
  EXPECT_TRUE(Object::less(Object::list({1, 2}), Object::list({1, 2, 0})));
  EXPECT_FALSE(Object::less(Object::list({1, 2}), Object::list({1, 2})));
  EXPECT_TRUE(Object::less(Object::list({}), Object::list({0})));
  EXPECT_TRUE(Object::less(Object::tuple({"a", 9}), Object::tuple({"b", 0})));
  // Equal prefixes of different types are fine; only the deciding pair is
  // compared with '<'.
  EXPECT_TRUE(
      Object::less(Object::tuple({1, "x", 1}), Object::tuple({1.0, "x", 2})));
}

TEST(LessTest, UnorderableTypesThrow) {
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less("a", 1); },
      "'<' not supported between instances of 'str' and 'int'");
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less(Object::list({}), Object::tuple({})); },
      "'<' not supported between instances of 'list' and 'tuple'");
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less(None, None); },
      "'<' not supported between instances of 'NoneType' and 'NoneType'");
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less(Object::dict({}), Object::dict({})); },
      "'<' not supported between instances of 'dict' and 'dict'");
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less("a", Object::bytes("a")); },
      "'<' not supported between instances of 'str' and 'bytes'");
  ExpectThrowWithMessage<TypeError>(
      [] { Object::less(Object::list({1}), Object::list({"a"})); },
      "'<' not supported between instances of 'int' and 'str'");
}

TEST(LessTest, SortsLikePython) {
  std::vector<Object> v = {3, 1.5, true, -2, 2.0, 0};
  std::stable_sort(v.begin(), v.end(), Object::less);
  EXPECT_EQ(Object::list(v).repr(), "[-2, 0, True, 1.5, 2.0, 3]");
}

// --------------------------------------------------------------------------
// Copying

TEST(ObjectTest, CopiesShareThePayload) {
  Object s("a fairly long string that would be heap allocated");
  Object s2 = s;
  EXPECT_EQ(&s.as_str(), &s2.as_str());
  Object l = Object::list({1, 2, 3});
  Object l2 = l;
  EXPECT_EQ(&l.as_list(), &l2.as_list());
  Object d = Object::dict({{1, 2}});
  Object d2 = d;
  EXPECT_EQ(&d.as_dict(), &d2.as_dict());
  Object b = Object::bytes("xyz");
  Object b2 = b;
  EXPECT_EQ(&b.as_bytes(), &b2.as_bytes());
  // Nesting shares too: the list holds the same str payload.
  Object outer = Object::list({s});
  EXPECT_EQ(&outer.as_list()[0].as_str(), &s.as_str());
}

TEST(ObjectTest, AssignmentRebindsOnlyThatVariable) {
  Object a = Object::list({1});
  Object b = a;
  a = Object("other");
  EXPECT_EQ(b, Object::list({1}));
  EXPECT_EQ(a, "other");
}

TEST(ObjectTest, ConcurrentReadersAndCopiers) {
  Object shared = Object::dict(
      {{"k", Object::list({1, "two", Object::tuple({3.0})})}, {1, "x"}});
  std::string expected = shared.repr();
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      int good = 0;
      for (int i = 0; i < 200; ++i) {
        Object copy = shared;
        if (copy.repr() == expected && copy == shared &&
            copy.as_dict().find("k") != nullptr) {
          ++good;
        }
      }
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int good : ok) EXPECT_EQ(good, 200);
}

// --------------------------------------------------------------------------
// Dict

TEST(DictTest, EqualNumericKeysCollapse) {
  Dict d;
  d.set(1, "a");
  d.set(1.0, "b");
  d.set(true, "c");
  EXPECT_EQ(d.size(), 1u);
  ASSERT_NE(d.find(1), nullptr);
  EXPECT_EQ(*d.find(1), "c");
  const auto& [key, value] = *d.begin();
  EXPECT_TRUE(key.is_int());  // the first spelling of the key stays
  EXPECT_EQ(value, "c");
}

TEST(DictTest, DictDisplayKeepsFirstKeyLastValue) {
  EXPECT_EQ(Object::dict({{1, "a"}, {1.0, "b"}}).repr(), "{1: 'b'}");
}

TEST(DictTest, FindContainsErase) {
  Dict d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.find("x"), nullptr);
  d.set("x", 1);
  d.set(Object::tuple({1, 2}), 2);
  EXPECT_FALSE(d.empty());
  EXPECT_TRUE(d.contains("x"));
  EXPECT_TRUE(d.contains(Object::tuple({1.0, 2})));
  EXPECT_FALSE(d.contains(Object::bytes("x")));
  EXPECT_THROW(d.contains(Object::list({1, 2})), TypeError);  // as in Python
}

TEST(DictTest, UnhashableKeysThrowAndLeaveDictUnchanged) {
  Dict d;
  d.set("a", 1);
  uint64_t v = d.version();
  ExpectThrowWithMessage<TypeError>([&] { d.set(Object::list({}), 1); },
                                    "unhashable type: 'list'");
  EXPECT_THROW(d.find(Object::dict({})), TypeError);
  EXPECT_THROW(d.erase(Object::list({})), TypeError);
  EXPECT_THROW(std::as_const(d).find(Object::list({})), TypeError);
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.version(), v);
  EXPECT_THROW(Object::dict({{Object::list({}), 1}}), TypeError);
  Dict empty;
  EXPECT_THROW(empty.find(Object::list({})), TypeError);
}

TEST(DictTest, OrderAfterOverwriteEraseReinsert) {
  Dict d;
  d.set("a", 1);
  d.set("b", 2);
  d.set("c", 3);
  d.set("a", 10);  // overwrite keeps the position
  EXPECT_THAT(Keys(d), ElementsAre("a", "b", "c"));
  EXPECT_EQ(*d.find("a"), 10);
  EXPECT_TRUE(d.erase("a"));
  EXPECT_FALSE(d.erase("a"));
  d.set("a", 11);  // reinsert goes to the end
  EXPECT_THAT(Keys(d), ElementsAre("b", "c", "a"));
  EXPECT_EQ(Repr(d), "{'b': 2, 'c': 3, 'a': 11}");
}

TEST(DictTest, MutableFindWritesInPlace) {
  Dict d;
  d.set("k", 1);
  uint64_t v = d.version();
  *d.find("k") = Object("new");
  EXPECT_EQ(*d.find("k"), "new");
  EXPECT_EQ(d.version(), v);
}

TEST(DictTest, PopLastIsLifo) {
  Dict d;
  EXPECT_EQ(d.pop_last(), std::nullopt);
  d.set(1, "one");
  d.set(2, "two");
  d.set(3, "three");
  d.erase(3);
  d.set(1, "uno");
  auto item = d.pop_last();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->first, 2);
  EXPECT_EQ(item->second, "two");
  EXPECT_FALSE(d.contains(2));
  item = d.pop_last();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->first, 1);
  EXPECT_EQ(item->second, "uno");
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.pop_last(), std::nullopt);
  d.set("again", 0);
  EXPECT_THAT(Keys(d), ElementsAre("again"));
}

TEST(DictTest, PopLastSkipsErasedTail) {
  Dict d;
  for (int i = 0; i < 10; ++i) d.set(i, i * i);
  d.erase(9);
  d.erase(8);
  d.erase(0);
  auto item = d.pop_last();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->first, 7);
  EXPECT_EQ(item->second, 49);
  EXPECT_EQ(d.size(), 6u);
}

TEST(DictTest, CompactionKeepsOrderAndLookups) {
  Dict d;
  const int n = 1000;
  for (int i = 0; i < n; ++i) d.set(i, std::to_string(i));
  // Erase all but every seventh key, from the front, forcing compactions.
  std::vector<int> kept;
  for (int i = 0; i < n; ++i) {
    if (i % 7 == 0) {
      kept.push_back(i);
    } else {
      ASSERT_TRUE(d.erase(i));
    }
  }
  EXPECT_EQ(d.size(), kept.size());
  // Slots got renumbered: far fewer than the original n remain.
  EXPECT_LE(d.slot_end(), 2 * kept.size());
  std::vector<Object> expected(kept.begin(), kept.end());
  EXPECT_EQ(Keys(d), expected);
  for (int i = 0; i < n; ++i) {
    const Object* v = d.find(i);
    if (i % 7 == 0) {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, std::to_string(i));
    } else {
      EXPECT_EQ(v, nullptr) << i;
    }
  }
  // Still fully functional after compaction.
  d.set(3, "three");
  d.set(0, "zero");
  EXPECT_EQ(Keys(d).back(), 3);
  EXPECT_EQ(*d.find(0), "zero");
  EXPECT_EQ(Keys(d).front(), 0);
}

TEST(DictTest, RandomizedAgainstReferenceModel) {
  // A straightforward ordered model: a vector of pairs.
  std::vector<std::pair<int, int>> model;
  Dict d;
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<int>((state >> 33) % 64);
  };
  for (int step = 0; step < 5000; ++step) {
    int op = next() % 4;
    int key = next();
    auto it = std::find_if(model.begin(), model.end(),
                           [&](const auto& p) { return p.first == key; });
    if (op < 2) {
      if (it == model.end()) {
        model.emplace_back(key, step);
      } else {
        it->second = step;
      }
      d.set(key, step);
    } else if (op == 2) {
      bool present = it != model.end();
      if (present) model.erase(it);
      ASSERT_EQ(d.erase(key), present);
    } else {
      auto item = d.pop_last();
      ASSERT_EQ(item.has_value(), !model.empty());
      if (item) {
        EXPECT_EQ(item->first, model.back().first);
        EXPECT_EQ(item->second, model.back().second);
        model.pop_back();
      }
    }
    ASSERT_EQ(d.size(), model.size());
  }
  std::vector<std::pair<Object, Object>> got(d.begin(), d.end());
  ASSERT_EQ(got.size(), model.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, model[i].first);
    EXPECT_EQ(got[i].second, model[i].second);
  }
}

TEST(DictTest, VersionSemantics) {
  Dict d;
  uint64_t v0 = d.version();
  d.set("a", 1);
  uint64_t v1 = d.version();
  EXPECT_NE(v1, v0);
  d.set("a", 2);  // overwrite: unchanged
  EXPECT_EQ(d.version(), v1);
  d.set("b", 2);
  uint64_t v2 = d.version();
  EXPECT_NE(v2, v1);
  EXPECT_FALSE(d.erase("missing"));
  EXPECT_EQ(d.version(), v2);
  d.erase("b");
  uint64_t v3 = d.version();
  EXPECT_NE(v3, v2);
  d.pop_last();
  uint64_t v4 = d.version();
  EXPECT_NE(v4, v3);
  d.clear();
  EXPECT_NE(d.version(), v4);
}

TEST(DictTest, SlotIteration) {
  Dict d;
  d.set("a", 1);
  d.set("b", 2);
  d.set("c", 3);
  d.set("d", 4);
  d.erase("b");
  std::vector<Object> keys;
  for (size_t i = d.next_slot(0); i != d.slot_end(); i = d.next_slot(i + 1)) {
    keys.push_back(d.slot(i).first);
  }
  EXPECT_THAT(keys, ElementsAre("a", "c", "d"));
  EXPECT_EQ(d.next_slot(d.slot_end()), d.slot_end());
  EXPECT_EQ(d.next_slot(d.slot_end() + 5), d.slot_end());
  // A saved slot stays meaningful across inserts (slots only grow).
  size_t saved = d.next_slot(1);
  EXPECT_EQ(d.slot(saved).first, "c");
  d.set("e", 5);
  EXPECT_EQ(d.slot(saved).first, "c");
}

TEST(DictTest, ClearEmptiesAndStaysUsable) {
  Dict d;
  for (int i = 0; i < 50; ++i) d.set(i, i);
  d.clear();
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.begin(), d.end());
  EXPECT_EQ(d.slot_end(), 0u);
  d.set("x", 1);
  EXPECT_THAT(Keys(d), ElementsAre("x"));
}

TEST(DictTest, CopyIsIndependentMoveEmptiesSource) {
  Dict a;
  a.set(1, "x");
  Dict b = a;
  b.set(2, "y");
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 2u);
  uint64_t va = a.version();
  Dict c = std::move(a);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_NE(a.version(), va);
  a.set(5, 5);
  EXPECT_THAT(Keys(a), ElementsAre(5));
  // Assignment gives the target a version neither side had before.
  Dict e;
  e.set("k", 1);
  uint64_t ve = e.version();
  e = b;
  EXPECT_NE(e.version(), ve);
  EXPECT_NE(e.version(), b.version());
  EXPECT_EQ(e, b);
}

TEST(DictTest, EqualityIgnoresOrder) {
  Dict a;
  a.set(1, "x");
  a.set("k", Object::list({1}));
  Dict b;
  b.set("k", Object::list({1.0}));
  b.set(true, "x");
  EXPECT_EQ(a, b);
  b.set("extra", None);
  EXPECT_NE(a, b);
  b.erase("extra");
  EXPECT_EQ(a, b);
  *b.find("k") = Object::list({2});
  EXPECT_NE(a, b);
}

TEST(DictTest, NanKeysAreOneKey) {
  Dict d;
  d.set(std::nan(""), 1);
  d.set(-std::nan(""), 2);
  EXPECT_EQ(d.size(), 1u);
  ASSERT_NE(d.find(std::nan("")), nullptr);
  EXPECT_EQ(*d.find(std::nan("")), 2);
}

TEST(DictTest, IteratorBasics) {
  Dict d;
  d.set("a", 1);
  d.set("b", 2);
  auto it = d.begin();
  EXPECT_EQ(it->first, "a");
  auto old = it++;
  EXPECT_EQ(old->first, "a");
  EXPECT_EQ((*it).first, "b");
  ++it;
  EXPECT_EQ(it, d.end());
  EXPECT_EQ(std::distance(d.begin(), d.end()), 2);
}

// --------------------------------------------------------------------------
// Conversions

template <class T>
T RoundTrip(const T& v) {
  return from_object<T>(to_object(v));
}

TEST(ConvertTest, Scalars) {
  EXPECT_EQ(RoundTrip(true), true);
  EXPECT_EQ(RoundTrip(-5), -5);
  EXPECT_EQ(RoundTrip(uint8_t{250}), 250);
  EXPECT_EQ(RoundTrip(std::numeric_limits<int64_t>::min()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(RoundTrip(2.5), 2.5);
  EXPECT_EQ(RoundTrip(2.5f), 2.5f);
  EXPECT_EQ(RoundTrip('q'), 'q');
  EXPECT_EQ(RoundTrip(std::string("hé")), "hé");
  EXPECT_EQ(to_object(std::string_view("sv")), Object("sv"));
  EXPECT_EQ(to_object("lit"), Object("lit"));
  const char* p = "ptr";
  EXPECT_EQ(to_object(p), Object("ptr"));
  EXPECT_TRUE(to_object(None).is_none());
  EXPECT_TRUE(to_object(nullptr).is_none());
  EXPECT_EQ(from_object<NoneType>(Object()), None);
  EXPECT_EQ(from_object<std::nullptr_t>(Object()), nullptr);
  Object o = Object::list({1});
  EXPECT_EQ(&from_object<Object>(o).as_list(), &o.as_list());
  EXPECT_EQ(to_object(o), o);
  EXPECT_EQ(o.as<std::vector<int>>(), std::vector<int>{1});
}

TEST(ConvertTest, IntegerRangeChecks) {
  EXPECT_EQ(from_object<uint8_t>(Object(255)), 255);
  ExpectThrowWithMessage<ValueError>([] { from_object<uint8_t>(Object(300)); },
                                     "value 300 out of range for uint8_t");
  ExpectThrowWithMessage<ValueError>([] { from_object<uint32_t>(Object(-1)); },
                                     "value -1 out of range for uint32_t");
  ExpectThrowWithMessage<ValueError>(
      [] { from_object<int16_t>(Object(40000)); },
      "value 40000 out of range for int16_t");
  EXPECT_THROW(from_object<int8_t>(Object(-129)), ValueError);
  EXPECT_EQ(from_object<int8_t>(Object(-128)), -128);
  EXPECT_EQ(from_object<uint64_t>(Object(std::numeric_limits<int64_t>::max())),
            uint64_t{std::numeric_limits<int64_t>::max()});
  EXPECT_THROW(from_object<uint64_t>(Object(-1)), ValueError);
  EXPECT_EQ(from_object<int>(Object(true)), 1);
  EXPECT_THROW(from_object<float>(Object(1e300)), ValueError);
  EXPECT_TRUE(std::isinf(
      from_object<float>(Object(std::numeric_limits<double>::infinity()))));
  EXPECT_EQ(from_object<double>(Object(3)), 3.0);
}

TEST(ConvertTest, WrongTypeNamesBothTypes) {
  ExpectThrowWithMessage<TypeError>([] { from_object<int>(Object("3")); },
                                    "expected int, got str");
  ExpectThrowWithMessage<TypeError>([] { from_object<int>(Object(3.0)); },
                                    "expected int, got float");
  ExpectThrowWithMessage<TypeError>(
      [] { from_object<std::string>(Object::bytes("x")); },
      "expected str, got bytes");
  ExpectThrowWithMessage<TypeError>([] { from_object<bool>(Object(1)); },
                                    "expected bool, got int");
  ExpectThrowWithMessage<TypeError>(
      [] { from_object<std::vector<int>>(Object::dict({})); },
      "expected list or tuple, got dict");
  ExpectThrowWithMessage<TypeError>(
      [] {
        from_object<std::vector<int>>(Object::list({1, "x"}));
      },
      "expected int, got str");
  ExpectThrowWithMessage<TypeError>(
      [] { (from_object<std::map<std::string, int>>(Object::list({}))); },
      "expected dict, got list");
  ExpectThrowWithMessage<TypeError>(
      [] { (from_object<std::pair<int, int>>(Object(1))); },
      "expected tuple, got int");
  ExpectThrowWithMessage<TypeError>([] { from_object<NoneType>(Object(0)); },
                                    "expected None, got int");
  ExpectThrowWithMessage<TypeError>([] { from_object<char>(Object(65)); },
                                    "expected str, got int");
  EXPECT_THROW(from_object<char>(Object("ab")), ValueError);
  EXPECT_THROW(from_object<char>(Object("\xc3\xa9")), ValueError);
}

TEST(ConvertTest, Containers) {
  std::vector<int> v = {1, 2, 3};
  Object ov = to_object(v);
  EXPECT_TRUE(ov.is_list());
  EXPECT_EQ(ov.repr(), "[1, 2, 3]");
  EXPECT_EQ(RoundTrip(v), v);
  EXPECT_EQ(from_object<std::vector<int>>(Object::tuple({4, 5})),
            (std::vector<int>{4, 5}));
  std::vector<bool> bits = {true, false};
  EXPECT_EQ(RoundTrip(bits), bits);

  std::map<std::string, std::vector<double>> m = {{"a", {1.5}}, {"b", {}}};
  Object om = to_object(m);
  EXPECT_EQ(om.repr(), "{'a': [1.5], 'b': []}");
  EXPECT_EQ(RoundTrip(m), m);

  std::unordered_map<int, std::string> um = {{1, "x"}, {2, "y"}};
  Object oum = to_object(um);
  EXPECT_TRUE(oum.is_dict());
  EXPECT_EQ(oum.as_dict().size(), 2u);
  EXPECT_EQ(RoundTrip(um), um);

  std::optional<int> none;
  std::optional<int> some = 4;
  EXPECT_TRUE(to_object(none).is_none());
  EXPECT_EQ(to_object(some), 4);
  EXPECT_EQ(RoundTrip(none), std::nullopt);
  EXPECT_EQ(RoundTrip(some), 4);

  std::pair<int, std::string> p = {1, "a"};
  EXPECT_EQ(to_object(p).repr(), "(1, 'a')");
  EXPECT_EQ(RoundTrip(p), p);
  std::tuple<bool, double, std::string> t = {true, 0.5, "z"};
  EXPECT_EQ(to_object(t).repr(), "(True, 0.5, 'z')");
  EXPECT_EQ(RoundTrip(t), t);
  EXPECT_EQ(to_object(std::tuple<>()).repr(), "()");
  EXPECT_EQ((from_object<std::pair<int, int>>(Object::list({7, 8}))),
            std::make_pair(7, 8));

  Dict d;
  d.set("k", 1);
  EXPECT_EQ(to_object(d).as_dict(), d);
  EXPECT_EQ(from_object<Dict>(to_object(d)), d);
}

TEST(ConvertTest, TupleLengthMismatch) {
  ExpectThrowWithMessage<ValueError>(
      [] {
        (from_object<std::tuple<int, int, int>>(Object::tuple({1, 2})));
      },
      "not enough values to unpack (expected 3, got 2)");
  ExpectThrowWithMessage<ValueError>(
      [] {
        (from_object<std::pair<int, int>>(Object::tuple({1, 2, 3})));
      },
      "too many values to unpack (expected 2)");
}

TEST(ConvertTest, UnhashableMapKeyThrows) {
  std::map<std::vector<int>, int> m = {{{1}, 1}};
  ExpectThrowWithMessage<TypeError>([&] { to_object(m); },
                                    "unhashable type: 'list'");
}

TEST(ConvertTest, ImplicitContainerConstructors) {
  Object v = std::vector<std::string>{"a", "b"};
  EXPECT_EQ(v.repr(), "['a', 'b']");
  Object m = std::map<int, int>{{2, 4}};
  EXPECT_EQ(m.repr(), "{2: 4}");
  Object um = std::unordered_map<std::string, bool>{{"on", true}};
  EXPECT_EQ(um.repr(), "{'on': True}");
  Object nested = Object::list({std::vector<int>{1}, 2});
  EXPECT_EQ(nested.repr(), "[[1], 2]");
}

TEST(ConvertTest, UserTypesViaAdl) {
  geo::Point p{3, -4};
  Object o = to_object(p);
  EXPECT_EQ(o.repr(), "{'x': 3, 'y': -4}");
  EXPECT_EQ(from_object<geo::Point>(o), p);
  EXPECT_EQ(o.as<geo::Point>(), p);
  // Containers of user types recurse through the user's overloads.
  std::vector<geo::Point> pts = {{1, 2}, {3, 4}};
  Object opts = to_object(pts);
  EXPECT_EQ(opts.repr(), "[{'x': 1, 'y': 2}, {'x': 3, 'y': 4}]");
  EXPECT_EQ(from_object<std::vector<geo::Point>>(opts), pts);
  std::map<std::string, std::optional<geo::Point>> m = {{"a", geo::Point{5, 6}},
                                                        {"b", std::nullopt}};
  auto back = from_object<decltype(m)>(to_object(m));
  EXPECT_EQ(back, m);
}

TEST(ConvertTest, UserTypeInNamespaceMp) {
  Object o = to_object(Celsius{21.5});
  EXPECT_EQ(o.repr(), "('C', 21.5)");
  EXPECT_EQ(from_object<Celsius>(o).degrees, 21.5);
  auto v = from_object<std::vector<Celsius>>(
      to_object(std::vector<Celsius>{{1}, {2}}));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].degrees, 2);
}

// The one table of error names, session.proto's Error.Type, shared with
// the Python client: every name comes back as the mp::Error of that name;
// anything else as RemoteError carrying it.
TEST(ErrorTableTest, EveryWireNameIsItsOwnErrorClass) {
  const google::protobuf::EnumDescriptor* names = v1::Error::Type_descriptor();
  ASSERT_GT(names->value_count(), 10);
  for (int i = 0; i < names->value_count(); ++i) {
    if (names->value(i)->number() == 0) continue;  // TYPE_UNSPECIFIED
    const std::string& name = names->value(i)->name();
    try {
      ThrowError(name, "the message", "the traceback");
    } catch (const RemoteError& e) {
      ADD_FAILURE() << name << " has no class of its own: " << e.what();
    } catch (const Error& e) {
      EXPECT_EQ(e.type_name(), name);
      EXPECT_EQ(e.message(), "the message");
      EXPECT_EQ(e.traceback(), "the traceback");
    }
  }
  EXPECT_THROW(ThrowError("PermissionError", "no"), PermissionError);
  for (const char* other : {"OverflowError", "TYPE_UNSPECIFIED", ""}) {
    try {
      ThrowError(other, "m");
      ADD_FAILURE() << "nothing thrown";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.remote_type(), other);
    }
  }
}

}  // namespace
}  // namespace mp
