// CPython's _TestContainers (manager flavour) and the dict/list/Namespace
// cases of TestSyncManagerTypes, ported.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using testing::L;
using testing::Range;

class ContainersTest : public testing::ManagerTest {};

TEST_F(ContainersTest, List) {
  ListProxy a = m().list(Range(10));
  EXPECT_EQ(a.slice({}, {}), Range(10));

  ListProxy b = m().list();
  EXPECT_EQ(b.slice({}, {}), L({}));

  b.extend(Range(5));
  EXPECT_EQ(b.slice({}, {}), Range(5));
  EXPECT_EQ(b[2].get(), Object(2));
  EXPECT_EQ(b.slice(2, 10), L({2, 3, 4}));

  b *= 2;
  EXPECT_EQ(b.slice({}, {}), L({0, 1, 2, 3, 4, 0, 1, 2, 3, 4}));
  EXPECT_EQ(b + L({5, 6}), L({0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(a.slice({}, {}), Range(10));

  ListProxy e = m().list(L({a, b}));
  std::vector<Object> contents;
  for (const Object& element : e) {
    contents.push_back(element.as<ListProxy>().slice({}, {}));
  }
  EXPECT_EQ(Object::list(contents),
            L({Range(10), L({0, 1, 2, 3, 4, 0, 1, 2, 3, 4})}));

  ListProxy f = m().list(L({a}));
  a.append("hello");
  EXPECT_EQ(f[0].as<ListProxy>().slice({}, {}),
            L({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "hello"}));
}

TEST_F(ContainersTest, ListIter) {
  ListProxy a = m().list(Range(10));
  ProxyIterator it = a.begin();
  std::vector<Object> seen;
  for (; it != a.end(); ++it) seen.push_back(*it);
  EXPECT_EQ(Object::list(seen), Range(10));
  ++it;  // exhausted stays exhausted
  EXPECT_TRUE(it == a.end());
}

TEST_F(ContainersTest, ListIterSeesModification) {
  // Python: it = iter(a); a[0] = 100; next(it) == 100. Our iterator fetches
  // 64 items at a time, so change an item past the first batch.
  ListProxy a = m().list(Range(100));
  ProxyIterator it = a.begin();
  for (int i = 0; i < 63; ++i) ++it;  // the last item of the first batch
  EXPECT_EQ(*it, Object(63));
  a.set(64, 100);
  ++it;  // fetches the next batch, which sees the change
  EXPECT_EQ(*it, Object(100));
}

TEST_F(ContainersTest, ListProxyInList) {
  ListProxy a =
      m().list(L({m().list(Range(3)), m().list(Range(3)), m().list(Range(3))}));
  for (const Object& inner : a) {
    EXPECT_EQ(inner.as<ListProxy>().slice({}, {}), Range(3));
  }
  a[0].as<ListProxy>()[-1] = 55;
  EXPECT_EQ(a[0].as<ListProxy>().slice({}, {}), L({0, 1, 55}));
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(a[i].as<ListProxy>().slice({}, {}), Range(3));
  }
  EXPECT_EQ(a[1].as<ListProxy>().pop(), Object(2));
  EXPECT_EQ(a[1].as<ListProxy>().size(), 2u);
  EXPECT_EQ(a[0].as<ListProxy>().size(), 3u);
  EXPECT_EQ(a[2].as<ListProxy>().size(), 3u);

  ListProxy b = m().list();
  b.append(b);  // a list holding itself
  EXPECT_EQ(b[0].as<ListProxy>().id(), b.id());
}

TEST_F(ContainersTest, Dict) {
  DictProxy d = m().dict();
  std::vector<int64_t> indices = {65, 66, 67, 68, 69};
  Dict expected;
  for (int64_t i : indices) {
    d[i] = std::string(1, static_cast<char>(i));
    expected.set(i, std::string(1, static_cast<char>(i)));
  }
  EXPECT_EQ(d.copy(), Object::dict(expected));
  std::vector<Object> keys = d.keys();
  EXPECT_EQ(Object::list(keys), L({65, 66, 67, 68, 69}));
  std::vector<Object> values = d.values();
  EXPECT_EQ(Object::list(values), L({"A", "B", "C", "D", "E"}));
  auto items = d.items();
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].first, Object(65));
  EXPECT_EQ(items[4].second, Object("E"));
}

TEST_F(ContainersTest, DictIter) {
  DictProxy d = m().dict();
  for (int64_t i = 65; i < 70; ++i) d[i] = std::string(1, static_cast<char>(i));
  std::vector<Object> keys(d.begin(), d.end());
  EXPECT_EQ(Object::list(keys), L({65, 66, 67, 68, 69}));
}

TEST_F(ContainersTest, DictChangedSizeDuringIteration) {
  DictProxy d = m().dict();
  for (int64_t i = 0; i < 200; ++i) d[i] = i;
  ProxyIterator it = d.begin();  // holds the first batch of 64
  d.clear();
  EXPECT_THROW(
      {
        for (int i = 0; i < 200; ++i) ++it;
      },
      RuntimeError);
}

TEST_F(ContainersTest, DictProxyNested) {
  DictProxy pets = m().dict({{"ferrets", 2}, {"hamsters", 4}});
  DictProxy supplies = m().dict({{"water", 10}, {"feed", 3}});
  DictProxy d = m().dict({{"pets", pets}, {"supplies", supplies}});

  EXPECT_EQ(supplies["water"].get(), Object(10));
  EXPECT_EQ(d["supplies"].as<DictProxy>()["water"].get(), Object(10));

  d["supplies"].as<DictProxy>()["blankets"] = 5;
  EXPECT_EQ(supplies["blankets"].get(), Object(5));
  EXPECT_EQ(d["supplies"].as<DictProxy>()["blankets"].get(), Object(5));

  d["supplies"].as<DictProxy>()["water"] = 7;
  EXPECT_EQ(supplies["water"].get(), Object(7));

  pets = DictProxy();
  supplies = DictProxy();
  EXPECT_EQ(d["pets"].as<DictProxy>()["ferrets"].get(), Object(2));
  d["supplies"].as<DictProxy>()["blankets"] = 11;
  EXPECT_EQ(d["supplies"].as<DictProxy>()["blankets"].get(), Object(11));

  pets = d["pets"].as<DictProxy>();
  supplies = d["supplies"].as<DictProxy>();
  supplies["water"] = 7;
  EXPECT_EQ(supplies["water"].get(), Object(7));
  EXPECT_EQ(d["supplies"].as<DictProxy>()["water"].get(), Object(7));

  d.clear();
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(supplies["water"].get(), Object(7));
  EXPECT_EQ(pets["hamsters"].get(), Object(4));

  ListProxy l = m().list(L({pets, supplies}));
  l[0].as<DictProxy>()["marmots"] = 1;
  EXPECT_EQ(pets["marmots"].get(), Object(1));
  EXPECT_EQ(l[0].as<DictProxy>()["marmots"].get(), Object(1));

  pets = DictProxy();
  supplies = DictProxy();
  EXPECT_EQ(l[0].as<DictProxy>()["marmots"].get(), Object(1));

  ListProxy outer = m().list(L({L({88, 99}), l}));
  EXPECT_TRUE(outer[0].get().is_list());  // not a ListProxy
  EXPECT_EQ(outer[-1].as<ListProxy>()[-1].as<DictProxy>()["feed"].get(),
            Object(3));
}

TEST_F(ContainersTest, Namespace) {
  NamespaceProxy n = m().Namespace();
  n["name"] = "Bob";
  n["job"] = "Builder";
  n["_hidden"] = "hidden";
  EXPECT_EQ(n["name"].get(), Object("Bob"));
  EXPECT_EQ(n["job"].get(), Object("Builder"));
  n.erase("job");
  EXPECT_EQ(n.str(), "Namespace(name='Bob')");
  EXPECT_TRUE(n.contains("name"));
  EXPECT_FALSE(n.contains("job"));
  EXPECT_THROW(n.get("job"), AttributeError);
}

// TestSyncManagerTypes.test_list / test_dict / test_namespace: the
// parent creates, a child (real fork()) checks and changes, the parent
// sees the change.
void Check(bool condition, const char* what) {
  if (!condition) throw ValueError(what);
}

TEST_F(ContainersTest, SyncManagerTypesList) {
  ListProxy o = m().list();
  o.append(5);
  int status = testing::RunInChild([&] {
    Check(o[0].get() == Object(5), "obj[0] == 5");
    Check(o.count(5) == 1, "count");
    Check(o.index(5) == 0, "index");
    o.sort();
    o.reverse();
    for (const Object& x : o) (void)x;
    Check(o.size() == 1, "len");
    Check(o.pop(0) == Object(5), "pop(0)");
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(o.size(), 0u);
}

TEST_F(ContainersTest, SyncManagerTypesDict) {
  DictProxy o = m().dict();
  o["foo"] = 5;
  int status = testing::RunInChild([&] {
    Check(o.size() == 1, "len");
    Check(o["foo"].get() == Object(5), "obj['foo']");
    Check(o.get("foo") == Object(5), "get");
    Check(o.items() == std::vector<std::pair<Object, Object>>{{"foo", 5}},
          "items");
    Check(o.keys() == std::vector<Object>{"foo"}, "keys");
    Check(o.values() == std::vector<Object>{5}, "values");
    Check(o.copy() == Object::dict({{"foo", 5}}), "copy");
    Check(o.popitem() == std::pair<Object, Object>("foo", 5), "popitem");
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(o.size(), 0u);
}

TEST_F(ContainersTest, SyncManagerTypesNamespaceInChild) {
  NamespaceProxy o = m().Namespace();
  o["x"] = 0;
  o["y"] = 1;
  int status = testing::RunInChild([&] {
    if (o["x"].get() != Object(0) || o["y"].get() != Object(1)) {
      throw ValueError("attrs");
    }
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(ContainersTest, ListErrorsAndSlices) {
  ListProxy l = m().list(Range(5));
  EXPECT_THROW(l[10].get(), IndexError);
  EXPECT_THROW(l.set(-6, 1), IndexError);
  EXPECT_THROW(l.remove(99), ValueError);
  EXPECT_THROW(l.index(99), ValueError);
  EXPECT_EQ(l.slice({}, {}, -1), L({4, 3, 2, 1, 0}));
  EXPECT_EQ(l.slice(-2, {}), L({3, 4}));
  l.set_slice(1, 3, L({"a", "b", "c"}));
  EXPECT_EQ(l.copy(), L({0, "a", "b", "c", 3, 4}));
  l.erase_slice(1, 4);
  EXPECT_EQ(l.copy(), L({0, 3, 4}));
  l.append("x");
  EXPECT_THROW(l.sort(), TypeError);
  EXPECT_EQ(l.copy(), L({0, 3, 4, "x"}));  // unchanged after a failed sort
  ListProxy empty = m().list();
  EXPECT_THROW(empty.pop(), IndexError);
}

TEST_F(ContainersTest, DictErrorsAndDefaults) {
  DictProxy d = m().dict({{Object("a"), 1}});
  EXPECT_THROW(d["missing"].get(), KeyError);
  EXPECT_EQ(d.get("missing"), Object());
  EXPECT_EQ(d.pop("missing", 7), Object(7));
  EXPECT_THROW(d.pop("missing"), KeyError);
  EXPECT_EQ(d.setdefault("b", 2), Object(2));
  EXPECT_EQ(d.setdefault("b", 3), Object(2));
  EXPECT_THROW(d.set(L({1}), 1), TypeError);  // unhashable key
  EXPECT_EQ(d.size(), 2u);
  d.update({{"c", 3}, {"a", 10}});
  EXPECT_EQ(d.copy().repr(), "{'a': 10, 'b': 2, 'c': 3}");
  d.erase("a");
  EXPECT_THROW(d.erase("a"), KeyError);
  d.clear();
  EXPECT_THROW(d.popitem(), KeyError);
}

}  // namespace
}  // namespace mp
