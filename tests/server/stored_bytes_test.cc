// ServerOptions::max_stored_bytes_per_session: what the objects one client
// created may hold, whoever writes into them. A write beyond it fails with
// MemoryError and changes nothing; removing contents, taking queue items
// and dropping objects give the bytes back; other sessions carry on.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mp/mp.h"
#include "mp/server.h"

namespace mp {
namespace {

constexpr size_t kLimit = 100 << 10;
// Each blob is 60% of the limit: one fits, two do not.
const Object kBlob = Object::bytes(std::string(60 << 10, 'x'));

class StoredBytesTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.start(); }

  Manager Connect() { return Manager::connect(server_.address(), "k"); }

  // Runs `write`, which must fail with the limit's MemoryError.
  template <class F>
  static void ExpectOverLimit(F write) {
    try {
      write();
      ADD_FAILURE() << "the write beyond the limit succeeded";
    } catch (const MemoryError& e) {
      EXPECT_NE(e.message().find("max_stored_bytes_per_session"),
                std::string::npos)
          << e.message();
    }
  }

  Server server_{ServerOptions{.address = "127.0.0.1:0",
                               .authkey = "k",
                               .max_stored_bytes_per_session = kLimit}};
};

TEST_F(StoredBytesTest, DictGrowthBeyondTheLimitFailsAndChangesNothing) {
  Manager m = Connect();
  DictProxy d = m.dict();
  d.set("a", kBlob);
  ExpectOverLimit([&] { d.set("b", kBlob); });
  ExpectOverLimit([&] { d.update({{"b", kBlob}, {"c", 1}}); });
  ExpectOverLimit([&] { d.setdefault("b", kBlob); });
  EXPECT_EQ(d.keys(), (std::vector<Object>{"a"}));
  // Replacing is not growing.
  d.set("a", kBlob);
  // Removing gives the bytes back.
  d.pop("a");
  d.set("b", kBlob);
  d.clear();
  d.set("c", kBlob);
  d.erase("c");
  d.update({{"d", kBlob}, {"e", 1}});
  EXPECT_EQ(d.size(), 2u);
}

TEST_F(StoredBytesTest, ListGrowthBeyondTheLimitFailsAndChangesNothing) {
  Manager m = Connect();
  ListProxy l = m.list();
  l.append(kBlob);
  ExpectOverLimit([&] { l.append(kBlob); });
  ExpectOverLimit([&] { l.insert(0, kBlob); });
  ExpectOverLimit([&] { l.extend(Object::list({1, kBlob})); });
  ExpectOverLimit([&] { l *= 2; });
  l.append(1);
  ExpectOverLimit([&] { l.set(1, kBlob); });
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.getitem(1), Object(1));
  // A slice assignment is charged for what it adds less what it replaces.
  l.set_slice(0, 1, Object::list({kBlob}));
  l.pop(0);
  l.set(0, kBlob);
  l.remove(kBlob);
  l.extend(Object::list({kBlob, 2}));
  l.clear();
  l.append(kBlob);
  EXPECT_EQ(l.size(), 1u);
}

TEST_F(StoredBytesTest, QueueItemsCountUntilTaken) {
  Manager m = Connect();
  QueueProxy q = m.Queue();
  q.put(kBlob);
  ExpectOverLimit([&] { q.put(kBlob); });
  EXPECT_EQ(q.qsize(), 1);
  EXPECT_EQ(q.get(), kBlob);
  q.put(kBlob);
  EXPECT_EQ(q.get(), kBlob);
}

// Items waiting to go into a full queue count too, until they time out.
TEST_F(StoredBytesTest, WaitingPutsCountUntilTheyTimeOut) {
  Manager m = Connect();
  QueueProxy q = m.Queue(1);
  q.put(1);
  EXPECT_THROW(q.put(kBlob, true, std::chrono::milliseconds(50)),
               Full);  // waited, then gave up
  q.get();
  q.put(kBlob);  // the timed-out put gave its bytes back
  EXPECT_EQ(q.get(), kBlob);
}

TEST_F(StoredBytesTest, NamespaceAndInitialContents) {
  Manager m = Connect();
  NamespaceProxy ns = m.Namespace();
  ns.set("x", kBlob);
  ExpectOverLimit([&] { ns.set("y", kBlob); });
  ns.erase("x");
  ns.set("y", kBlob);
  // Creating with contents beyond what is left makes nothing.
  const size_t objects = server_.object_count();
  ExpectOverLimit([&] { m.dict({{"big", kBlob}}); });
  ExpectOverLimit([&] { m.list({kBlob}); });
  ExpectOverLimit([&] { m.Array<double>(8 << 10); });  // 64 KiB buffer
  EXPECT_EQ(server_.object_count(), objects);
}

// The creator pays, whoever writes: another client filling this client's
// list is refused at this client's limit, and still has its own.
TEST_F(StoredBytesTest, ChargedToTheCreatorWhoeverWrites) {
  Manager owner = Connect();
  Manager other = Connect();
  ListProxy shared = owner.named("shared").list();
  shared.append(kBlob);
  ListProxy theirs = other.named("shared").list();  // the same list
  ExpectOverLimit([&] { theirs.append(kBlob); });
  DictProxy own = other.dict();
  own.set("mine", kBlob);  // the other client's quota is its own
  EXPECT_EQ(shared.size(), 1u);
}

// A dropped object gives back what it held.
TEST_F(StoredBytesTest, ObjectsThatDieGiveTheirBytesBack) {
  Manager m = Connect();
  {
    ListProxy l = m.list();
    l.append(kBlob);
  }
  // The release went out before this call, on the same stream, in order.
  ListProxy again = m.list();
  again.append(kBlob);
  EXPECT_EQ(again.size(), 1u);
}

TEST(StoredBytesOffTest, NoLimitByDefault) {
  Server server(ServerOptions{.address = "127.0.0.1:0", .authkey = "k"});
  server.start();
  Manager m = Manager::connect(server.address(), "k");
  ListProxy l = m.list();
  for (int i = 0; i < 20; ++i) l.append(kBlob);  // 1.2 MiB
  EXPECT_EQ(l.size(), 20u);
}

}  // namespace
}  // namespace mp
