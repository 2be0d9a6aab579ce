// The manager service itself, in process: calls run on a session with no
// transport around it, so the object layer's answers are seen exactly -
// the limits a server is configured with (SessionLimits), a client's
// Shutdown, values nested too deep - and the session is seen to carry on.
#include "server/service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/wire_codec.h"
#include "mp/v1/session.pb.h"

namespace mp::server {
namespace {

using internal::kMaxNestingDepth;

class ServiceTest : public ::testing::Test {
 protected:
  void Start(SessionLimits limits) {
    service_ = std::make_unique<ManagerService>("k", limits);
    session_ = std::make_shared<Session>(service_->NewSessionId(),
                                         service_->NewSessionQuota());
    service_->SessionStarted(session_, "test-peer:1", "in-process");
    service_->SessionIdentified(session_->id(), getpid(), "service_test");
  }
  void TearDown() override {
    if (session_) {
      session_->End();
      service_->SessionEnded(session_->id());
    }
  }

  // Runs `call`, which must complete at once.
  v1::Reply Run(v1::Call call) {
    call.set_call_id(++last_call_id_);
    v1::Reply reply;
    EXPECT_TRUE(service_->Execute(call, *session_, &reply));
    return reply;
  }
  uint64_t Create(v1::ObjectType type, int64_t size = 0) {
    v1::Call call;
    call.mutable_create()->set_type(type);
    call.mutable_create()->set_size(size);
    call.mutable_create()->set_typecode("d");
    v1::Reply reply = Run(call);
    EXPECT_TRUE(reply.value().has_proxy()) << reply.DebugString();
    return reply.value().proxy().id();
  }
  static void ExpectError(const v1::Reply& reply, const std::string& type,
                          const std::string& fragment) {
    ASSERT_TRUE(reply.has_error()) << reply.DebugString();
    EXPECT_EQ(reply.error().type(), type) << reply.error().message();
    EXPECT_NE(reply.error().message().find(fragment), std::string::npos)
        << reply.error().message();
  }

  std::unique_ptr<ManagerService> service_;
  std::shared_ptr<Session> session_;
  uint64_t last_call_id_ = 0;
};

// A stream may still deliver calls for a session the server has ended
// (shutting down; a lease that expired): they get the reason, not a
// ReferenceError for references the session already gave back.
TEST_F(ServiceTest, CallsOfAnEndedSessionAreConnectionErrors) {
  Start(SessionLimits{});
  const uint64_t dict = Create(v1::DICT);
  service_->EndAllSessions("the manager is shutting down");
  v1::Call len;
  len.set_object_id(dict);
  len.mutable_dict()->mutable_len();
  ExpectError(Run(len), "ConnectionError", "ended this session");
  v1::Call create;
  create.mutable_create()->set_type(v1::LIST);
  ExpectError(Run(create), "ConnectionError", "ended this session");
}

TEST_F(ServiceTest, ClientShutdownIsRefusedUnlessAllowedAndAlwaysLogged) {
  Start(SessionLimits{.allow_client_shutdown = false});
  v1::Call call;
  call.mutable_shutdown();
  ::testing::internal::CaptureStderr();
  v1::Reply reply = Run(call);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ExpectError(reply, "PermissionError", "--allow-client-shutdown");
  EXPECT_FALSE(service_->shutdown_requested().HasBeenNotified());
  for (const std::string& part :
       {std::string(" warning "), std::string("refused"),
        "session " + std::to_string(session_->id()), std::string("test-peer:1"),
        "pid " + std::to_string(getpid())}) {
    EXPECT_NE(log.find(part), std::string::npos) << part << " in " << log;
  }
  // The session carries on.
  Create(v1::DICT);
}

TEST_F(ServiceTest, ClientShutdownIsAcceptedWhereAllowed) {
  Start(SessionLimits{.allow_client_shutdown = true});
  v1::Call call;
  call.mutable_shutdown();
  ::testing::internal::CaptureStderr();
  v1::Reply reply = Run(call);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(reply.value().has_none()) << reply.DebugString();
  EXPECT_TRUE(service_->shutdown_requested().HasBeenNotified());
  EXPECT_NE(log.find(" warning "), std::string::npos) << log;
  EXPECT_NE(log.find("accepted"), std::string::npos) << log;
}

TEST_F(ServiceTest, TooDeepValueIsAValueErrorAndTheSessionCarriesOn) {
  Start(SessionLimits{});
  const uint64_t list = Create(v1::LIST);
  auto append = [&](int levels) {
    v1::Call call;
    call.set_object_id(list);
    v1::Value* v = call.mutable_list()->mutable_append()->mutable_value();
    for (int i = 0; i < levels; ++i) v = v->mutable_list_value()->add_items();
    v->set_int_value(7);
    return Run(call);
  };
  // Deeper than a transport's parser would pass, too.
  for (int levels : {kMaxNestingDepth + 1, 1000}) {
    ExpectError(append(levels), "ValueError", std::to_string(kMaxNestingDepth));
  }
  EXPECT_FALSE(append(kMaxNestingDepth).has_error());
  v1::Call len;
  len.set_object_id(list);
  len.mutable_list()->mutable_len();
  EXPECT_EQ(Run(len).value().int_value(), 1);
}

TEST_F(ServiceTest, ObjectCapIsCheckedBeforeTheObjectIsMade) {
  Start(SessionLimits{.max_object_bytes = 8000});
  v1::Call call;
  call.mutable_create()->set_type(v1::ARRAY);
  call.mutable_create()->set_typecode("d");
  call.mutable_create()->set_size(1001);  // 8008 bytes
  ExpectError(Run(call), "MemoryError", "max_object_bytes");
  Create(v1::ARRAY, 1000);
  EXPECT_EQ(service_->store().object_count(), 1u);
}

TEST_F(ServiceTest, ObjectCapCoversEveryWayAnObjectGrows) {
  Start(SessionLimits{.max_object_bytes = 1 << 20});
  v1::Value blob;
  blob.set_bytes_value(std::string(600 << 10, 'b'));
  // Runs `fill`'s operation on `id`; returns the reply.
  auto op = [&](uint64_t id, auto fill) {
    v1::Call call;
    call.set_object_id(id);
    fill(call);
    return Run(call);
  };
  const uint64_t list = Create(v1::LIST);
  auto append = [&](v1::Call& c) {
    *c.mutable_list()->mutable_append()->mutable_value() = blob;
  };
  EXPECT_FALSE(op(list, append).has_error());
  ExpectError(op(list, append), "MemoryError", "max_object_bytes");
  ExpectError(
      op(list,
         [&](v1::Call& c) {
           *c.mutable_list()->mutable_extend()->mutable_values()->add_items() =
               blob;
         }),
      "MemoryError", "max_object_bytes");
  ExpectError(op(list,
                 [&](v1::Call& c) {
                   *c.mutable_list()->mutable_insert()->mutable_value() = blob;
                 }),
              "MemoryError", "max_object_bytes");
  ExpectError(op(list,
                 [&](v1::Call& c) {
                   auto* s = c.mutable_list()->mutable_setslice();
                   s->mutable_start()->set_value(0);  // l[0:0] = [blob]
                   s->mutable_stop()->set_value(0);
                   *s->mutable_values()->add_items() = blob;
                 }),
              "MemoryError", "max_object_bytes");
  ExpectError(op(list,
                 [&](v1::Call& c) {
                   c.mutable_list()->mutable_inplace_repeat()->set_times(2);
                 }),
              "MemoryError", "max_object_bytes");
  EXPECT_EQ(op(list, [&](v1::Call& c) { c.mutable_list()->mutable_len(); })
                .value()
                .int_value(),
            1);

  const uint64_t dict = Create(v1::DICT);
  auto set = [&](const char* key) {
    return [&blob, key](v1::Call& c) {
      auto* s = c.mutable_dict()->mutable_set();
      s->mutable_key()->set_str_value(key);
      *s->mutable_value() = blob;
    };
  };
  EXPECT_FALSE(op(dict, set("a")).has_error());
  ExpectError(op(dict, set("b")), "MemoryError", "max_object_bytes");
  ExpectError(op(dict,
                 [&](v1::Call& c) {
                   auto* m =
                       c.mutable_dict()->mutable_update()->mutable_entries();
                   m->add_keys()->set_str_value("c");
                   *m->add_values() = blob;
                 }),
              "MemoryError", "max_object_bytes");

  const uint64_t queue = Create(v1::QUEUE);
  auto put = [&](v1::Call& c) {
    *c.mutable_queue()->mutable_put()->mutable_value() = blob;
  };
  EXPECT_FALSE(op(queue, put).has_error());
  ExpectError(op(queue, put), "MemoryError", "max_object_bytes");

  const uint64_t ns = Create(v1::NAMESPACE);
  auto setattr = [&](const char* name) {
    return [&blob, name](v1::Call& c) {
      auto* s = c.mutable_namespace_()->mutable_setattr();
      s->set_name(name);
      *s->mutable_value() = blob;
    };
  };
  EXPECT_FALSE(op(ns, setattr("a")).has_error());
  ExpectError(op(ns, setattr("b")), "MemoryError", "max_object_bytes");

  // A cap per object, not per client: another list holds as much again.
  EXPECT_FALSE(op(Create(v1::LIST), append).has_error());
}

}  // namespace
}  // namespace mp::server
