// Named objects (issue 16 item 7, issue 11): a lookup that fails on an
// unknown name, every factory Manager has, and NamedObjects that survive
// their Manager being moved.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mp/mp.h"
#include "mp/server.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

class NamedObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.start(); }
  Manager Connect() { return Manager::connect(server_.address(), "k"); }

  Server server_{ServerOptions{.authkey = "k"}};
};

TEST_F(NamedObjectsTest, ExistingFailsWithKeyErrorOnAnUnknownName) {
  Manager m = Connect();
  try {
    m.existing("jobz").list();  // a typo
    ADD_FAILURE() << "nothing thrown";
  } catch (const KeyError& e) {
    EXPECT_NE(e.message().find("'jobz'"), std::string::npos) << e.what();
  }
  // Nothing was created by the failed lookup.
  EXPECT_EQ(m.stats().as_dict().find("named")->as_int(), 0);
  EXPECT_THROW(m.existing("v").Value<int64_t>(), KeyError);
  EXPECT_THROW(m.existing("a").Array<double>(), KeyError);
}

TEST_F(NamedObjectsTest, ExistingFindsWhatAnotherClientCreated) {
  Manager a = Connect();
  Manager b = Connect();
  ListProxy jobs = a.named("jobs").list({1, 2});
  ListProxy found = b.existing("jobs").list({99});  // arguments ignored
  EXPECT_EQ(found.id(), jobs.id());
  EXPECT_EQ(found.copy(), Object::list({1, 2}));
  EXPECT_THROW(b.existing("jobs").dict(), TypeError);  // another type
  auto v = a.named("v").Value<double>(2.5);
  EXPECT_EQ(b.existing("v").Value<double>().get(), 2.5);
  auto arr = a.named("arr").Array<int32_t>({1, 2, 3});
  EXPECT_EQ(b.existing("arr").Array<int32_t>().to_vector(),
            (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(a.named("jobs").remove());
  EXPECT_THROW(b.existing("jobs").list(), KeyError);
}

TEST_F(NamedObjectsTest, InitialContentsApplyWhenCreated) {
  Manager m = Connect();
  DictProxy d = m.named("d").dict({{"a", 1}});
  EXPECT_EQ(d.copy(), Object::dict({{"a", 1}}));
  // A second call finds the object; its contents stay as they are.
  EXPECT_EQ(m.named("d").dict({{"b", 2}}).copy(), Object::dict({{"a", 1}}));
  EXPECT_EQ(m.named("d2").dict(Object::dict({{"x", "y"}})).get("x"),
            Object("y"));
  EXPECT_EQ(m.named("l").list({1, 2, 3}).size(), 3u);
  EXPECT_EQ(m.named("l2").list(Object::tuple({4})).copy(),
            Object::list({4}));
  ArrayProxy<double> a = m.named("arr").Array<double>({0.5, 1.5});
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(m.named("arr2").Array(std::vector<int64_t>{7, 8}).get(1), 8);
  EXPECT_EQ(m.named("zeros").Array<int32_t>(4).size(), 4u);
}

TEST_F(NamedObjectsTest, ConditionAndBoundedSemaphore) {
  Manager a = Connect();
  Manager b = Connect();
  BoundedSemaphoreProxy s = a.named("slots").BoundedSemaphore(1);
  BoundedSemaphoreProxy s2 = b.named("slots").BoundedSemaphore(5);
  EXPECT_EQ(s2.id(), s.id());
  EXPECT_TRUE(s2.acquire(1s));
  EXPECT_FALSE(s.acquire(false));  // one permit, as the creator asked
  s2.release();
  // Bounded. (Through s2: a release of a permit known to be held is sent
  // without waiting for its reply, so only this session's next call is
  // certain to come after it.)
  EXPECT_THROW(s2.release(), ValueError);
  EXPECT_THROW(b.named("slots").Semaphore(), TypeError);

  ConditionProxy c = a.named("cond").Condition();
  ConditionProxy c2 = b.existing("cond").Condition();
  EXPECT_EQ(c2.id(), c.id());
  EXPECT_TRUE(c2.acquire(1s));
  EXPECT_FALSE(c2.wait(50ms));  // a working condition: times out, reacquires
  c2.release();

  LockProxy lock = a.Lock();
  ConditionProxy on_lock = a.named("cond-on-lock").Condition(lock);
  EXPECT_TRUE(on_lock.acquire(1s));
  EXPECT_FALSE(lock.acquire(false));  // the condition holds that lock
  on_lock.release();
  RLockProxy rlock = a.RLock();
  ConditionProxy on_rlock = a.named("cond-on-rlock").Condition(rlock);
  EXPECT_TRUE(on_rlock.acquire(1s));
  on_rlock.release();

  BarrierProxy barrier = a.named("barrier").Barrier(2, 50ms);
  EXPECT_THROW(barrier.wait(), BrokenBarrierError);  // the default timeout
}

// Issue 11: NamedObjects held a reference to its Manager, which dangled
// once the Manager was moved.
TEST_F(NamedObjectsTest, SurvivesItsManagerBeingMoved) {
  std::optional<Manager> first(Connect());
  NamedObjects named = first->named("jobs");
  Manager moved = std::move(*first);
  first.reset();  // the moved-from Manager is gone too
  ListProxy jobs = named.list({1});
  EXPECT_EQ(moved.named("jobs").list().id(), jobs.id());
  EXPECT_EQ(jobs.size(), 1u);
  NamedObjects copy = named;
  EXPECT_TRUE(copy.remove());
}

TEST_F(NamedObjectsTest, OutlivesAManagerThatStartedItsServer) {
  std::optional<Manager> m(std::in_place);
  NamedObjects named = m->named("x");
  EXPECT_EQ(named.dict({{"k", 1}})["k"].get(), Object(1));
  m.reset();  // stops the server, as before
  EXPECT_THROW(named.dict(), ConnectionError);
}

}  // namespace
}  // namespace mp
