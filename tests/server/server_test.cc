// The server against bad input sent at the protocol level: unknown ids,
// type confusion, malformed values, unauthenticated calls. Each must get a
// clear error, change nothing, and leave the server serving.
#include "mp/server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/auth.h"
#include "mp/mp.h"
#include "mp/v1/session.grpc.pb.h"
#include "proxy/connection.h"

namespace mp {
namespace {

using internal::Connection;

// On a unix socket, so that the suite runs on the local transport by
// default and on gRPC with MP_TRANSPORT=grpc (tests/CMakeLists.txt).
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    conn_ = Connection::Open(server_.address(), "k");
  }
  void TearDown() override {
    conn_.reset();
    server_.shutdown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string NewSocketDir() {
    char tmpl[] = "/tmp/mp-server-test-XXXXXX";
    return mkdtemp(tmpl);
  }

  // Creates an object and returns its id.
  uint64_t Create(v1::ObjectType type) {
    v1::Call call;
    call.mutable_create()->set_type(type);
    v1::Reply reply = conn_->Call(call);
    EXPECT_TRUE(reply.value().has_proxy());
    return reply.value().proxy().id();
  }

  const std::string dir_ = NewSocketDir();
  Server server_{
      ServerOptions{.address = "unix:" + dir_ + "/s.sock", .authkey = "k"}};
  std::shared_ptr<Connection> conn_;
};

TEST_F(ServerTest, UnknownIdIsReferenceError) {
  v1::Call call;
  call.set_object_id(0x1234567887654321ULL);
  call.mutable_dict()->mutable_len();
  EXPECT_THROW(conn_->Call(call), ReferenceError);
  // The session still works.
  EXPECT_NE(Create(v1::DICT), 0u);
}

TEST_F(ServerTest, ReleasedIdIsReferenceError) {
  uint64_t id = Create(v1::LIST);
  v1::Call release;
  release.mutable_release()->add_ids(id);
  conn_->Call(release);
  v1::Call call;
  call.set_object_id(id);
  call.mutable_list()->mutable_len();
  EXPECT_THROW(conn_->Call(call), ReferenceError);
}

TEST_F(ServerTest, AnotherSessionsObjectNeedsIncref) {
  uint64_t id = Create(v1::DICT);
  auto other = Connection::Open(server_.address(), "k");
  v1::Call len;
  len.set_object_id(id);
  len.mutable_dict()->mutable_len();
  EXPECT_THROW(other->Call(len), ReferenceError);
  v1::Call incref;
  incref.mutable_incref()->add_ids(id);
  other->Call(incref);
  EXPECT_EQ(other->Call(len).value().int_value(), 0);
}

TEST_F(ServerTest, TypeConfusionIsTypeErrorAndChangesNothing) {
  uint64_t list_id = Create(v1::LIST);
  v1::Call call;
  call.set_object_id(list_id);
  auto* set = call.mutable_dict()->mutable_set();
  set->mutable_key()->set_int_value(1);
  set->mutable_value()->set_int_value(2);
  try {
    conn_->Call(call);
    FAIL() << "expected TypeError";
  } catch (const TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("is a list, not a dict"),
              std::string::npos)
        << e.what();
  }
  v1::Call len;
  len.set_object_id(list_id);
  len.mutable_list()->mutable_len();
  EXPECT_EQ(conn_->Call(len).value().int_value(), 0);
}

TEST_F(ServerTest, MalformedValuesAreValueErrors) {
  uint64_t id = Create(v1::DICT);
  {
    v1::Call call;  // a value with no kind
    call.set_object_id(id);
    call.mutable_dict()->mutable_set()->mutable_key()->set_int_value(1);
    call.mutable_dict()->mutable_set()->mutable_value();
    EXPECT_THROW(conn_->Call(call), ValueError);
  }
  {
    v1::Call call;  // a dict with more keys than values
    call.set_object_id(id);
    auto* set = call.mutable_dict()->mutable_set();
    set->mutable_key()->set_int_value(1);
    set->mutable_value()->mutable_dict_value()->add_keys()->set_int_value(1);
    EXPECT_THROW(conn_->Call(call), ValueError);
  }
  {
    v1::Call call;  // an unhashable key
    call.set_object_id(id);
    auto* set = call.mutable_dict()->mutable_set();
    set->mutable_key()->mutable_list_value();
    set->mutable_value()->set_int_value(1);
    EXPECT_THROW(conn_->Call(call), TypeError);
  }
  {
    v1::Call call;  // a proxy reference the session does not hold
    call.set_object_id(id);
    auto* set = call.mutable_dict()->mutable_set();
    set->mutable_key()->set_int_value(1);
    set->mutable_value()->mutable_proxy()->set_id(42);
    EXPECT_THROW(conn_->Call(call), ReferenceError);
  }
  {
    v1::Call call;  // no operation at all
    call.set_object_id(id);
    call.mutable_dict();
    EXPECT_THROW(conn_->Call(call), ValueError);
  }
  {
    v1::Call call;  // a bad typecode
    call.mutable_create()->set_type(v1::VALUE);
    call.mutable_create()->set_typecode("zz");
    EXPECT_THROW(conn_->Call(call), ValueError);
  }
  v1::Call len;
  len.set_object_id(id);
  len.mutable_dict()->mutable_len();
  EXPECT_EQ(conn_->Call(len).value().int_value(), 0);
}

TEST_F(ServerTest, CallsBeforeAuthenticationAreRefused) {
  auto channel = grpc::CreateChannel(server_.address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Manager::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Session(&context);
  v1::ClientMessage message;
  v1::Call* call = message.add_calls();
  call->set_call_id(1);
  call->mutable_create()->set_type(v1::DICT);
  stream->Write(message);
  v1::ServerMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server_.object_count(), 0u);
}

TEST_F(ServerTest, ForgedProofIsRefused) {
  auto channel = grpc::CreateChannel(server_.address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Manager::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Session(&context);
  v1::ClientMessage hello;
  hello.mutable_hello()->set_client_nonce(std::string(32, 'n'));
  hello.mutable_hello()->set_protocol_version(1);
  ASSERT_TRUE(stream->Write(hello));
  v1::ServerMessage challenge;
  ASSERT_TRUE(stream->Read(&challenge));
  EXPECT_EQ(challenge.challenge().server_nonce().size(), 32u);
  v1::ClientMessage proof;
  proof.mutable_auth()->set_client_proof(std::string(32, 'x'));
  stream->Write(proof);
  v1::ServerMessage welcome;
  EXPECT_FALSE(stream->Read(&welcome));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ServerTest, InvalidUtf8StrIsRefusedBeforeItLeaves) {
  Manager m = server_.manager();
  DictProxy d = m.dict();
  EXPECT_THROW(d["bad"] = std::string("\xff\xfe"), ValueError);
  EXPECT_THROW(d[std::string("\xc0\x80")] = 1, ValueError);  // overlong
  d["ok"] = Object::bytes("\xff\xfe");
  d["ünïcödé"] = "✓";
  EXPECT_EQ(d.size(), 2u);
}

TEST_F(ServerTest, ProxyFromAnotherServerIsRefused) {
  Server other(ServerOptions{.authkey = "k"});
  other.start();
  Manager a = server_.manager();
  Manager b = other.manager();
  DictProxy da = a.dict();
  DictProxy db = b.dict();
  EXPECT_THROW(da["x"] = db, TypeError);
  EXPECT_EQ(da.size(), 0u);
}

// A client that sends calls but never reads the replies must not make the
// server buffer replies without bound: at max_reply_backlog_bytes the
// server stops running that session's calls until the client catches up,
// and every other session carries on.
TEST(ServerBacklogTest, ClientThatDoesNotReadIsPausedNotBuffered) {
  Server server(
      ServerOptions{.authkey = "k", .max_reply_backlog_bytes = 64 << 10});
  server.start();
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Manager::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Session(&context);

  // Authenticate by hand, as a client in any language would.
  const std::string client_nonce = internal::RandomBytes(32);
  v1::ClientMessage hello;
  hello.mutable_hello()->set_client_nonce(client_nonce);
  hello.mutable_hello()->set_protocol_version(1);
  ASSERT_TRUE(stream->Write(hello));
  v1::ServerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  v1::ClientMessage auth;
  auth.mutable_auth()->set_client_proof(
      internal::ClientProof("k", in.challenge().server_nonce(), client_nonce));
  ASSERT_TRUE(stream->Write(auth));
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_welcome());

  // A dict holding a 64 KiB blob.
  v1::ClientMessage setup;
  v1::Call* create = setup.add_calls();
  create->set_call_id(1);
  create->mutable_create()->set_type(v1::DICT);
  ASSERT_TRUE(stream->Write(setup));
  ASSERT_TRUE(stream->Read(&in));
  const uint64_t dict_id = in.replies(0).value().proxy().id();
  setup.Clear();
  v1::Call* set = setup.add_calls();
  set->set_call_id(2);
  set->set_object_id(dict_id);
  set->mutable_dict()->mutable_set()->mutable_key()->set_str_value("blob");
  set->mutable_dict()->mutable_set()->mutable_value()->set_bytes_value(
      std::string(64 << 10, 'x'));
  ASSERT_TRUE(stream->Write(setup));
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_FALSE(in.replies(0).has_error());
  const size_t objects_before = server.object_count();

  // 400 reads of the blob (25 MiB of replies, far beyond what the
  // transport and socket buffers absorb), then one Create, all in one
  // message. Without the backlog limit the server runs them all at once.
  constexpr int kGets = 400;
  v1::ClientMessage flood;
  for (int i = 0; i < kGets; ++i) {
    v1::Call* get = flood.add_calls();
    get->set_call_id(10 + i);
    get->set_object_id(dict_id);
    get->mutable_dict()->mutable_get()->mutable_key()->set_str_value("blob");
  }
  v1::Call* last = flood.add_calls();
  last->set_call_id(10 + kGets);
  last->mutable_create()->set_type(v1::LIST);
  ASSERT_TRUE(stream->Write(flood));
  // The server has started on them...
  ASSERT_TRUE(stream->Read(&in));
  EXPECT_EQ(in.replies(0).call_id(), 10u);

  // ...and stops while this client reads nothing more. There is no event
  // for "did not happen", so this watches for a bounded time instead.
  Manager other = server.manager();
  DictProxy d = other.dict();  // another session is served meanwhile
  d["x"] = 1;
  const auto watch_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < watch_until) {
    ASSERT_EQ(server.object_count(), objects_before + 1)  // + d
        << "the server ran the Create behind 25 MiB of unread replies";
  }
  EXPECT_EQ(d["x"], 1);

  // Reading catches up: every reply arrives, in order, the Create last.
  uint64_t expected_call = 11;
  while (expected_call <= 10 + kGets) {
    ASSERT_TRUE(stream->Read(&in));
    for (const v1::Reply& reply : in.replies()) {
      ASSERT_EQ(reply.call_id(), expected_call);
      ASSERT_FALSE(reply.has_error()) << reply.error().message();
      if (expected_call < 10 + kGets) {
        EXPECT_EQ(reply.value().bytes_value().size(), size_t{64} << 10);
      } else {
        EXPECT_TRUE(reply.value().has_proxy());
      }
      ++expected_call;
    }
  }
  EXPECT_EQ(server.object_count(), objects_before + 2);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(ServerBacklogTest, LimitBelowOneKilobyteIsRefused) {
  EXPECT_THROW(Server(ServerOptions{.max_reply_backlog_bytes = 100}),
               ValueError);
}

}  // namespace
}  // namespace mp
