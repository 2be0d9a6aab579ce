// CPython's _TestValue and _TestArray (in manager flavour: the values live
// in the manager, the child is a real fork()ed process), plus the atomic
// operations Python lacks.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using testing::L;

class ValueArrayTest : public testing::ManagerTest {};

struct CodeValues {
  char code;
  Object initial;
  Object changed;
};

const std::vector<CodeValues>& Codes() {
  static const auto* codes = new std::vector<CodeValues>{
      {'i', 4343, 24234},
      {'d', 3.625, -4.25},
      {'h', -232, 234},
      {'q', int64_t{1} << 33, int64_t{1} << 34},
      {'c', Object::bytes("x"), Object::bytes("y")},
  };
  return *codes;
}

TEST_F(ValueArrayTest, Value) {
  std::vector<ValueProxy<Object>> values;
  for (const auto& cv : Codes())
    values.push_back(m().Value(cv.code, cv.initial));
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(values[i].get(), Codes()[i].initial);
    EXPECT_EQ(values[i].typecode(), Codes()[i].code);
  }
  int status = testing::RunInChild([&] {
    for (size_t i = 0; i < values.size(); ++i)
      values[i].set(Codes()[i].changed);
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(values[i].get(), Codes()[i].changed);
  }
}

// TestSyncManagerTypes.test_value and test_array.
TEST_F(ValueArrayTest, SyncManagerTypesValue) {
  ValueProxy<Object> o = m().Value('i', 1);
  int status = testing::RunInChild([&] {
    if (o.get() != Object(1)) throw ValueError("value == 1");
    o.set(2);
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(o.get(), Object(2));
}

TEST_F(ValueArrayTest, SyncManagerTypesArray) {
  ArrayProxy<Object> o = m().Array('i', L({0, 1}));
  int status = testing::RunInChild([&] {
    if (o[0].get() != Object(0) || o[1].get() != Object(1)) {
      throw ValueError("items");
    }
    if (o.size() != 2) throw ValueError("len");
    if (Object::list(o.to_vector()) != L({0, 1})) throw ValueError("list");
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(ValueArrayTest, TypedValue) {
  ValueProxy<double> v = m().Value<double>(0.0);
  EXPECT_EQ(v.typecode(), 'd');
  v.set(3.1415927);
  EXPECT_DOUBLE_EQ(v.get(), 3.1415927);
  ValueProxy<int32_t> i = m().Value<int32_t>(7);
  EXPECT_EQ(i.typecode(), 'i');
  EXPECT_EQ(i.fetch_add(5), 7);
  EXPECT_EQ(i.get(), 12);
  EXPECT_TRUE(i.compare_exchange(12, 20));
  EXPECT_FALSE(i.compare_exchange(12, 30));
  EXPECT_EQ(i.get(), 20);
}

TEST_F(ValueArrayTest, ValueRangeAndTypeChecks) {
  ValueProxy<Object> b = m().Value('b', 0);
  EXPECT_THROW(b.set(128), ValueError);
  EXPECT_THROW(b.set("x"), TypeError);
  b.set(127);
  EXPECT_THROW(b.fetch_add_object(1), ValueError);  // no change on overflow
  EXPECT_EQ(b.get(), Object(127));
  EXPECT_THROW(m().Value('z', 0), ValueError);
  EXPECT_THROW(m().Value('B', -1), ValueError);
  ValueProxy<Object> f = m().Value('f', 0.1);
  EXPECT_EQ(f.get(), Object(static_cast<double>(0.1f)));  // float32 precision
}

TEST_F(ValueArrayTest, TwoProcessesFetchAddExactly) {
  ValueProxy<int64_t> counter = m().Value<int64_t>(0);
  constexpr int kPerProcess = 10000;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        for (int i = 0; i < kPerProcess; ++i) counter.fetch_add(1);
      } catch (const std::exception& e) {
        fprintf(stderr, "child: %s\n", e.what());
        code = 1;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child status " << status;
  }
  EXPECT_EQ(counter.get(), 2 * kPerProcess);
}

TEST_F(ValueArrayTest, Array) {
  std::vector<int32_t> seq = {680, 626, 934, 821, 150, 233, 548, 982, 714, 831};
  ArrayProxy<int32_t> arr = m().Array<int32_t>(seq);
  EXPECT_EQ(arr.size(), seq.size());
  EXPECT_EQ(arr.get(3), seq[3]);
  EXPECT_EQ(arr.slice(2, 7),
            std::vector<int32_t>(seq.begin() + 2, seq.begin() + 7));
  arr.assign(4, {1, 2, 3, 4});
  seq[4] = 1, seq[5] = 2, seq[6] = 3, seq[7] = 4;
  EXPECT_EQ(arr.to_vector(), seq);
  auto prefix_sum = [](auto&& get, auto&& set, size_t n) {
    for (size_t i = 1; i < n; ++i) set(i, get(i) + get(i - 1));
  };
  prefix_sum([&](size_t i) { return seq[i]; },
             [&](size_t i, int32_t v) { seq[i] = v; }, seq.size());
  int status = testing::RunInChild([&] {
    prefix_sum([&](size_t i) { return arr.get(i); },
               [&](size_t i, int32_t v) { arr.set(i, v); }, arr.size());
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(arr.to_vector(), seq);
}

TEST_F(ValueArrayTest, ArrayFromSizeIsZeroed) {
  for (int round = 0; round < 3; ++round) {
    ArrayProxy<Object> arr = m().Array('i', 10);
    EXPECT_EQ(arr.size(), 10u);
    EXPECT_EQ(Object::list(arr.to_vector()), L({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    std::vector<Object> values;
    for (int i = 0; i < 10; ++i) values.push_back(i);
    arr.assign(0, values);
    EXPECT_EQ(Object::list(arr.to_vector()), testing::Range(10));
  }
}

TEST_F(ValueArrayTest, ArrayBoundsAndTypes) {
  ArrayProxy<double> a = m().Array<double>({1.0, 2.0});
  EXPECT_THROW(a.get(2), IndexError);
  EXPECT_EQ(a.get(-1), 2.0);
  EXPECT_THROW(a.assign(1, {1.0, 2.0}), ValueError);  // would grow
  EXPECT_THROW(a.set_object(0, "x"), TypeError);
  ArrayProxy<Object> b = m().Array('b', L({1, 2}));
  EXPECT_THROW(b.set_object(0, 1000), ValueError);
  EXPECT_EQ(Object::list(b.to_vector()), L({1, 2}));
  EXPECT_THROW(b.write_packed(0, 'd', std::string(8, '\0')), TypeError);
}

TEST_F(ValueArrayTest, LargeArrayRoundTrip) {
  std::vector<double> values(1000000);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<double>(i) * 0.5;
  ArrayProxy<double> a = m().Array<double>(std::vector<double>(values.size()));
  a.assign(0, values);
  EXPECT_EQ(a.to_vector(), values);
}

}  // namespace
}  // namespace mp
