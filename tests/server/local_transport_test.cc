// The local transport: choosing it, and what it does with bad input. Each
// bad input gets a clear error or a closed connection and nothing else,
// and the server keeps serving everyone else. The suites that run on both
// transports (proxy, sync, queue faults, server) cover the rest.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/auth.h"
#include "common/local_frame.h"
#include "gtest/gtest.h"
#include "mp/mp.h"
#include "mp/server.h"
#include "mp/v1/session.pb.h"
#include "tests/test_util.h"

namespace mp {
namespace {

// A unix socket address in a fresh private directory.
class TempSocketDir {
 public:
  std::string address() const { return "unix:" + dir_.path() + "/m.sock"; }
  std::string local_path() const { return dir_.path() + "/m.sock.local"; }

 private:
  testing::TempDir dir_;
};

// A hand-written local-transport client: raw bytes and frames.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(fd_); }

  bool connected() const { return connected_; }
  void SendBytes(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void SendMagic() { SendBytes(std::string(internal::kLocalMagic)); }
  void SendFrame(const v1::ClientMessage& message) {
    std::string frame;
    ASSERT_TRUE(internal::AppendFrame(message, &frame));
    SendBytes(frame);
  }
  // The next message, or nullopt at EOF or after `timeout`.
  std::optional<v1::ServerMessage> Read(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::string_view payload;
      if (reader_.Next(&payload) == internal::FrameReader::Status::kFrame) {
        v1::ServerMessage message;
        EXPECT_TRUE(internal::ParseFrame(payload, &message));
        return message;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      if (reader_.ReadFrom(fd_) == 0) return std::nullopt;
    }
  }
  // True if the server closes the connection within `timeout`, after
  // whatever messages it sends first (a Goodbye, say).
  bool ClosedWithin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }
  // Hello, Challenge, AuthProof, Welcome with `key`.
  void Authenticate(const std::string& key) {
    SendMagic();
    const std::string nonce = internal::RandomBytes(32);
    v1::ClientMessage hello;
    hello.mutable_hello()->set_client_nonce(nonce);
    hello.mutable_hello()->set_protocol_version(1);
    SendFrame(hello);
    auto challenge = Read();
    ASSERT_TRUE(challenge && challenge->has_challenge());
    v1::ClientMessage proof;
    proof.mutable_auth()->set_client_proof(internal::ClientProof(
        key, challenge->challenge().server_nonce(), nonce));
    SendFrame(proof);
    auto welcome = Read();
    ASSERT_TRUE(welcome && welcome->has_welcome());
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  internal::FrameReader reader_{size_t{1} << 30};
};

class LocalTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.start(); }

  // A real client on the local transport still gets served.
  void ExpectServerServes() {
    Manager m = Manager::connect(server_.address(), "k",
                                 {.transport = Transport::kLocal});
    EXPECT_EQ(m.transport(), "local");
    DictProxy d = m.dict();
    d["served"] = 1;
    EXPECT_EQ(d["served"], 1);
  }

  TempSocketDir dir_;
  Server server_{ServerOptions{.address = dir_.address(), .authkey = "k"}};
};

TEST_F(LocalTransportTest, AutoPicksLocalForAUnixAddressAndGrpcCanBeForced) {
  Manager local = Manager::connect(server_.address(), "k");
  EXPECT_EQ(local.transport(), "local");
  Manager grpc =
      Manager::connect(server_.address(), "k", {.transport = Transport::kGrpc});
  EXPECT_EQ(grpc.transport(), "grpc");
  // Both reach the same objects.
  local.named("shared").dict()["a"] = 1;
  EXPECT_EQ(grpc.named("shared").dict()["a"], 1);
  // Inspection names each session's transport.
  const std::string report = local.inspect();
  EXPECT_NE(report.find("local"), std::string::npos) << report;
  EXPECT_NE(report.find("grpc"), std::string::npos) << report;
}

TEST_F(LocalTransportTest, LocalNeedsAUnixAddressAndNoTls) {
  Server tcp(ServerOptions{.address = "127.0.0.1:0", .authkey = "k"});
  tcp.start();
  EXPECT_THROW(
      Manager::connect(tcp.address(), "k", {.transport = Transport::kLocal}),
      ConnectionError);
  EXPECT_EQ(Manager::connect(tcp.address(), "k").transport(), "grpc");
  TlsOptions tls;
  EXPECT_THROW(Manager::connect(server_.address(), "k",
                                {.tls = tls, .transport = Transport::kLocal}),
               ValueError);
}

TEST_F(LocalTransportTest, ServerWithoutLocalTransportFallsBackToGrpc) {
  TempSocketDir dir;
  Server plain(ServerOptions{
      .address = dir.address(), .authkey = "k", .local_transport = false});
  plain.start();
  EXPECT_FALSE(std::filesystem::exists(dir.local_path()));
  EXPECT_EQ(Manager::connect(plain.address(), "k").transport(), "grpc");
  EXPECT_THROW(
      Manager::connect(plain.address(), "k", {.transport = Transport::kLocal}),
      ConnectionError);
}

TEST_F(LocalTransportTest, WrongKeyIsAuthenticationError) {
  EXPECT_THROW(Manager::connect(server_.address(), "wrong",
                                {.transport = Transport::kLocal}),
               AuthenticationError);
  ExpectServerServes();
}

TEST_F(LocalTransportTest, GarbageBytesAreRefusedWithAReason) {
  RawClient raw(dir_.local_path());
  ASSERT_TRUE(raw.connected());
  raw.SendBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto goodbye = raw.Read();
  ASSERT_TRUE(goodbye && goodbye->has_goodbye());
  EXPECT_EQ(goodbye->goodbye().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(goodbye->goodbye().message().find("not an mp local-transport"),
            std::string::npos);
  EXPECT_TRUE(raw.ClosedWithin(std::chrono::seconds(5)));
  ExpectServerServes();
}

TEST_F(LocalTransportTest, HugeFrameLengthsAreRefusedWithoutAllocating) {
  // 2^63 as eight little-endian bytes: a zero-length frame (no Hello),
  // then a header the server never reads.
  {
    RawClient raw(dir_.local_path());
    raw.SendMagic();
    raw.SendBytes(std::string("\0\0\0\0\0\0\0\x80", 8));
    auto goodbye = raw.Read();
    ASSERT_TRUE(goodbye && goodbye->has_goodbye());
    EXPECT_EQ(goodbye->goodbye().code(),
              static_cast<int>(absl::StatusCode::kUnauthenticated));
    EXPECT_TRUE(raw.ClosedWithin(std::chrono::seconds(5)));
  }
  // The largest length a header can say: refused from the header alone.
  {
    RawClient raw(dir_.local_path());
    raw.SendMagic();
    raw.SendBytes(std::string("\xff\xff\xff\xff", 4));
    auto goodbye = raw.Read();
    ASSERT_TRUE(goodbye && goodbye->has_goodbye());
    EXPECT_EQ(goodbye->goodbye().code(),
              static_cast<int>(absl::StatusCode::kResourceExhausted));
    EXPECT_NE(goodbye->goodbye().message().find("4294967295 bytes"),
              std::string::npos)
        << goodbye->goodbye().message();
    EXPECT_TRUE(raw.ClosedWithin(std::chrono::seconds(5)));
  }
  // After authenticating, the limit is the server's max_message_bytes.
  {
    RawClient raw(dir_.local_path());
    raw.Authenticate("k");
    raw.SendBytes(std::string("\x00\x00\x00\x7f", 4));  // ~2 GiB
    auto goodbye = raw.Read();
    ASSERT_TRUE(goodbye && goodbye->has_goodbye());
    EXPECT_EQ(goodbye->goodbye().code(),
              static_cast<int>(absl::StatusCode::kResourceExhausted));
  }
  Manager m = server_.manager();
  const int64_t rss = m.stats().as_dict().find("rss_bytes")->as_int();
  EXPECT_LT(rss, int64_t{512} << 20) << "the server allocated for a header";
  ExpectServerServes();
}

TEST_F(LocalTransportTest, MalformedMessageIsInvalidArgument) {
  RawClient raw(dir_.local_path());
  raw.Authenticate("k");
  raw.SendBytes(std::string("\x03\x00\x00\x00\xff\xff\xff", 7));
  auto goodbye = raw.Read();
  ASSERT_TRUE(goodbye && goodbye->has_goodbye());
  EXPECT_EQ(goodbye->goodbye().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(goodbye->goodbye().message().find("malformed"), std::string::npos);
  ExpectServerServes();
}

TEST_F(LocalTransportTest, CallBeforeTheHandshakeIsRefused) {
  RawClient raw(dir_.local_path());
  raw.SendMagic();
  v1::ClientMessage message;
  v1::Call* call = message.add_calls();
  call->set_call_id(1);
  call->mutable_create()->set_type(v1::DICT);
  raw.SendFrame(message);
  auto goodbye = raw.Read();
  ASSERT_TRUE(goodbye && goodbye->has_goodbye());
  EXPECT_EQ(goodbye->goodbye().code(),
            static_cast<int>(absl::StatusCode::kUnauthenticated));
  EXPECT_TRUE(raw.ClosedWithin(std::chrono::seconds(5)));
  EXPECT_EQ(server_.object_count(), 0u);
}

TEST_F(LocalTransportTest, TruncatedFrameEndsOnlyThatSessionAndFreesItsLock) {
  Manager m = server_.manager();
  LockProxy lock = m.named("held").Lock();
  {
    RawClient raw(dir_.local_path());
    raw.Authenticate("k");
    // Get the named lock and acquire it, then die mid-frame.
    v1::ClientMessage create;
    v1::Call* c = create.add_calls();
    c->set_call_id(1);
    c->mutable_create()->set_type(v1::LOCK);
    c->mutable_create()->set_name("held");
    raw.SendFrame(create);
    auto created = raw.Read();
    ASSERT_TRUE(created && created->replies_size() == 1);
    v1::ClientMessage acquire;
    v1::Call* a = acquire.add_calls();
    a->set_call_id(2);
    a->set_object_id(created->replies(0).value().proxy().id());
    a->mutable_acquirer()->mutable_acquire()->set_blocking(true);
    raw.SendFrame(acquire);
    auto acquired = raw.Read();
    ASSERT_TRUE(acquired && acquired->replies_size() == 1);
    ASSERT_FALSE(acquired->replies(0).has_error());
    EXPECT_FALSE(lock.acquire(false));
    raw.SendBytes(std::string("\x64\x00\x00\x00truncated", 13));
  }  // closed with 100 bytes announced and 9 sent
  AcquireResult r = lock.acquire_ex(true, std::chrono::seconds(10));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();
}

// As ServerBacklogTest on gRPC (server_test.cc): a client that sends
// calls but never reads the replies is paused at max_reply_backlog_bytes,
// not buffered without bound, and every other session carries on.
TEST(LocalTransportLimits, ClientThatDoesNotReadIsPausedNotBuffered) {
  TempSocketDir dir;
  Server server(ServerOptions{.address = dir.address(),
                              .authkey = "k",
                              .max_reply_backlog_bytes = 64 << 10});
  server.start();
  RawClient raw(dir.local_path());
  raw.Authenticate("k");
  v1::ClientMessage setup;
  v1::Call* create = setup.add_calls();
  create->set_call_id(1);
  create->mutable_create()->set_type(v1::DICT);
  raw.SendFrame(setup);
  auto in = raw.Read();
  ASSERT_TRUE(in && in->replies_size() == 1);
  const uint64_t dict_id = in->replies(0).value().proxy().id();
  setup.Clear();
  v1::Call* set = setup.add_calls();
  set->set_call_id(2);
  set->set_object_id(dict_id);
  set->mutable_dict()->mutable_set()->mutable_key()->set_str_value("blob");
  set->mutable_dict()->mutable_set()->mutable_value()->set_bytes_value(
      std::string(64 << 10, 'x'));
  raw.SendFrame(setup);
  in = raw.Read();
  ASSERT_TRUE(in && in->replies_size() == 1 && !in->replies(0).has_error());
  const size_t objects_before = server.object_count();

  // 400 reads of the blob (25 MiB of replies, far beyond the socket
  // buffers), then one Create, in one message.
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
  raw.SendFrame(flood);

  // There is no event for "did not happen": watch for a bounded time while
  // another session is served.
  Manager other = Manager::connect(server.address(), "k");
  DictProxy d = other.dict();
  d["x"] = 1;
  const auto watch_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < watch_until) {
    ASSERT_EQ(server.object_count(), objects_before + 1)  // + d
        << "the server ran the Create behind 25 MiB of unread replies";
  }
  EXPECT_EQ(d["x"], 1);

  // Reading catches up: every reply arrives, in order, the Create last.
  uint64_t expected_call = 10;
  while (expected_call <= 10 + kGets) {
    in = raw.Read();
    ASSERT_TRUE(in.has_value()) << "stopped at call " << expected_call;
    for (const v1::Reply& reply : in->replies()) {
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
}

TEST(LocalTransportLimits, AFloodOfConnectionsIsCappedAndOthersAreServed) {
  TempSocketDir dir;
  Server server(ServerOptions{
      .address = dir.address(), .authkey = "k", .max_sessions = 20});
  server.start();
  // 20 connections that never authenticate hold every session...
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(std::make_unique<RawClient>(dir.local_path()));
    held.back()->SendMagic();
  }
  for (int i = 0; i < 500 && server.session_count() < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server.session_count(), 20u);
  // ...so 180 more are each refused at once, with the reason.
  for (int i = 0; i < 180; ++i) {
    RawClient raw(dir.local_path());
    ASSERT_TRUE(raw.connected());
    auto goodbye = raw.Read(std::chrono::seconds(10));
    ASSERT_TRUE(goodbye && goodbye->has_goodbye()) << "connection " << i;
    EXPECT_EQ(goodbye->goodbye().code(),
              static_cast<int>(absl::StatusCode::kResourceExhausted));
    EXPECT_NE(goodbye->goodbye().message().find("max_sessions"),
              std::string::npos);
  }
  try {
    Manager::connect(server.address(), "k", {.transport = Transport::kLocal});
    ADD_FAILURE() << "a 21st session was accepted";
  } catch (const ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("max_sessions"), std::string::npos)
        << e.what();
  }
  // The same limit on gRPC.
  EXPECT_THROW(
      Manager::connect(server.address(), "k", {.transport = Transport::kGrpc}),
      ConnectionError);
  // Closing the held connections makes room again.
  held.clear();
  for (int i = 0; i < 500 && server.session_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Manager m = Manager::connect(server.address(), "k");
  DictProxy d = m.dict();
  d["ok"] = 1;
  EXPECT_EQ(d["ok"], 1);
}

TEST(LocalTransportLimits, AStalledHandshakeIsClosedAtTheDeadline) {
  TempSocketDir dir;
  Server server(
      ServerOptions{.address = dir.address(),
                    .authkey = "k",
                    .handshake_timeout = std::chrono::milliseconds(300)});
  server.start();
  RawClient raw(dir.local_path());
  raw.SendMagic();
  v1::ClientMessage hello;
  hello.mutable_hello()->set_client_nonce(std::string(32, 'n'));
  hello.mutable_hello()->set_protocol_version(1);
  raw.SendFrame(hello);
  auto challenge = raw.Read();
  ASSERT_TRUE(challenge && challenge->has_challenge());
  // ... and then nothing: closed within the deadline (and some slack).
  EXPECT_TRUE(raw.ClosedWithin(std::chrono::seconds(5)));
  // An authenticated session is not subject to it. (Nothing to await for
  // "was not closed": wait past the deadline, then use it.)
  Manager m = Manager::connect(server.address(), "k");
  DictProxy d = m.dict();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  d["still"] = 1;
  EXPECT_EQ(d["still"], 1);
}

// With a lease timeout, a local client stopped (SIGSTOP) for longer loses
// its session: its lock goes to the next acquirer, and once it runs again
// every call - release() included - fails with ConnectionError saying why.
TEST(LocalTransportLease, StoppedClientLosesItsLockAndIsTold) {
  // A private mp-manager: this process must not run a gRPC server of its
  // own while it forks.
  Manager m(ManagerOptions{.lease_timeout = std::chrono::seconds(1)});
  ASSERT_EQ(m.transport(), "local");
  LockProxy lock = m.Lock();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    int code = 3;
    try {
      lock.acquire();
      (void)!write(ready[1], "x", 1);
      raise(SIGSTOP);
      // Continued, long after the lease ended.
      try {
        lock.release();
        code = 1;  // not told
      } catch (const ConnectionError& e) {
        code = std::string(e.what()).find("lease") != std::string::npos ? 0 : 2;
      }
    } catch (...) {
      code = 5;
    }
    _exit(code);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  AcquireResult r = lock.acquire_ex(true, std::chrono::seconds(20));
  EXPECT_TRUE(r.acquired);
  EXPECT_TRUE(r.previous_owner_died);
  lock.release();
  kill(child, SIGCONT);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: release() returned normally; 2: the error did not say lease";
}

}  // namespace
}  // namespace mp
