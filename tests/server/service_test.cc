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
    service_->SessionStarted(session_, "test-peer:1");
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

}  // namespace
}  // namespace mp::server
