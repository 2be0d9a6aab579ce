// The Pool's worker protocol (process/pool_protocol.h) without processes:
// chunks of plain numbers travel packed, and every value comes back as the
// type it left as.
#include "process/pool_protocol.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mp/errors.h"
#include "mp/object.h"

namespace mp::internal {
namespace {

constexpr uint64_t kTaskId = 7;

// A reply's values as DecodeResult gives them to the pool.
Object::List RoundTripValues(const Object::List& values) {
  std::vector<int> fds;
  std::optional<Outcome> outcome =
      DecodeResult(EncodeValues(kTaskId, values, &fds), kTaskId, {});
  EXPECT_TRUE(outcome.has_value());
  if (!outcome) return {};
  EXPECT_TRUE(outcome->ok) << outcome->error_type << ": "
                           << outcome->error_message;
  return outcome->ok ? outcome->value.as_list() : Object::List{};
}

// A task's items as DecodeItems gives them to the worker.
Object::List RoundTripItems(const Object::List& items) {
  std::vector<int> fds;
  const std::string bytes = EncodeTask(kTaskId, LocatedFunction{}, items, &fds);
  google::protobuf::Arena arena;
  return DecodeItems(ParseRequest(bytes, &arena).task(), {});
}

v1::PoolValues ValuesOnTheWire(const Object::List& values) {
  std::vector<int> fds;
  v1::PoolResult result;
  EXPECT_TRUE(result.ParseFromString(EncodeValues(kTaskId, values, &fds)));
  return result.values();
}

v1::PoolTask TaskOnTheWire(const Object::List& items) {
  std::vector<int> fds;
  v1::PoolRequest request;
  EXPECT_TRUE(request.ParseFromString(
      EncodeTask(kTaskId, LocatedFunction{}, items, &fds)));
  return request.task();
}

// Same type and same value; floats bit for bit (NaN, -0.0).
void ExpectSameValues(const Object::List& got, const Object::List& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].type(), want[i].type()) << "item " << i;
    if (want[i].is_float()) {
      const double g = got[i].as_float(), w = want[i].as_float();
      EXPECT_TRUE((std::isnan(g) && std::isnan(w)) ||
                  (g == w && std::signbit(g) == std::signbit(w)))
          << "item " << i << ": " << g << " != " << w;
    } else {
      EXPECT_EQ(got[i], want[i]) << "item " << i;
    }
  }
}

const Object::List& Ints() {
  static const Object::List ints = {
      Object(int64_t{0}), Object(int64_t{-1}), Object(int64_t{1} << 40),
      Object(std::numeric_limits<int64_t>::min()),
      Object(std::numeric_limits<int64_t>::max())};
  return ints;
}

const Object::List& Floats() {
  static const Object::List floats = {
      Object(0.0), Object(-0.0), Object(1.5),
      Object(std::numeric_limits<double>::infinity()),
      Object(-std::numeric_limits<double>::infinity()),
      Object(std::numeric_limits<double>::quiet_NaN()),
      Object(std::numeric_limits<double>::denorm_min())};
  return floats;
}

TEST(PoolProtocolTest, IntsTravelPackedAndExactly) {
  const v1::PoolValues wire = ValuesOnTheWire(Ints());
  EXPECT_EQ(wire.items_size(), 0);
  EXPECT_EQ(wire.int_items_size(), static_cast<int>(Ints().size()));
  EXPECT_EQ(TaskOnTheWire(Ints()).int_items_size(),
            static_cast<int>(Ints().size()));
  ExpectSameValues(RoundTripValues(Ints()), Ints());
  ExpectSameValues(RoundTripItems(Ints()), Ints());
}

TEST(PoolProtocolTest, FloatsTravelPackedAndExactly) {
  const v1::PoolValues wire = ValuesOnTheWire(Floats());
  EXPECT_EQ(wire.items_size(), 0);
  EXPECT_EQ(wire.float_items_size(), static_cast<int>(Floats().size()));
  EXPECT_EQ(TaskOnTheWire(Floats()).float_items_size(),
            static_cast<int>(Floats().size()));
  ExpectSameValues(RoundTripValues(Floats()), Floats());
  ExpectSameValues(RoundTripItems(Floats()), Floats());
}

// A list that is not all ints or all floats goes item by item, and each
// item keeps its type: a bool is not an int, an int among floats stays an
// int.
TEST(PoolProtocolTest, MixedListsKeepEveryItemsType) {
  const std::vector<Object::List> lists = {
      {Object(true), Object(false)},
      {Object(int64_t{1}), Object(2.5)},
      {Object(2.5), Object(int64_t{1})},
      {Object(int64_t{1}), Object(true)},
      {Object(int64_t{1}), Object("one"), Object()},
      {Object::tuple({Object(int64_t{1})}), Object::tuple({Object(2.0)})}};
  for (const Object::List& list : lists) {
    const v1::PoolValues wire = ValuesOnTheWire(list);
    EXPECT_EQ(wire.items_size(), static_cast<int>(list.size()));
    EXPECT_EQ(wire.int_items_size() + wire.float_items_size(), 0);
    ExpectSameValues(RoundTripValues(list), list);
    ExpectSameValues(RoundTripItems(list), list);
  }
}

TEST(PoolProtocolTest, EmptyListsRoundTrip) {
  EXPECT_TRUE(RoundTripValues({}).empty());
  EXPECT_TRUE(RoundTripItems({}).empty());
}

// A message that sets two kinds of items is malformed: the pool stops
// trusting a worker that replies with one, and a worker refuses such a task
// with ProcessError.
TEST(PoolProtocolTest, TwoKindsOfItemsAreMalformed) {
  v1::PoolResult result;
  result.set_task_id(kTaskId);
  result.mutable_values()->add_int_items(1);
  result.mutable_values()->add_float_items(2.0);
  EXPECT_FALSE(
      DecodeResult(result.SerializeAsString(), kTaskId, {}).has_value());
  result.mutable_values()->clear_float_items();
  result.mutable_values()->add_items()->set_int_value(3);
  EXPECT_FALSE(
      DecodeResult(result.SerializeAsString(), kTaskId, {}).has_value());

  v1::PoolRequest request;
  request.mutable_task()->set_task_id(kTaskId);
  request.mutable_task()->add_int_items(1);
  request.mutable_task()->add_float_items(2.0);
  google::protobuf::Arena arena;
  const v1::PoolRequest& parsed =
      ParseRequest(request.SerializeAsString(), &arena);
  try {
    DecodeItems(parsed.task(), {});
    ADD_FAILURE() << "DecodeItems accepted two kinds of items";
  } catch (const ProcessError& e) {
    EXPECT_NE(std::string(e.what()).find("more than one kind of items"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mp::internal
