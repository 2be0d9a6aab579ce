// Remote use of a manager: TLS and mutual TLS, restarts, shutdown with
// blocked clients, inspection and per-session limits. Real servers on
// loopback and unix sockets, real TLS handshakes with a throwaway CA
// (tests/tls/make_certs.sh).
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "mp/mp.h"
#include "mp/server.h"
#include "proxy/connection.h"
#include "proxy/inspect.h"

namespace mp {
namespace {

std::string g_certs;  // directory made by make_certs.sh

class RemoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mp-remote-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    g_certs = tmpl;
    std::string cmd =
        std::string(MP_SOURCE_DIR) + "/tests/tls/make_certs.sh " + g_certs;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "cannot make certificates";
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(g_certs, ignored);
  }

  static std::string Cert(const std::string& name) {
    return g_certs + "/" + name;
  }
  static TlsOptions ServerTls(bool require_client_cert = false) {
    return TlsOptions::from_files(require_client_cert ? Cert("ca.pem") : "",
                                  Cert("server.pem"), Cert("server.key"));
  }
  static TlsOptions ClientTls(bool with_cert = false) {
    return with_cert
               ? TlsOptions::from_files(Cert("ca.pem"), Cert("client.pem"),
                                        Cert("client.key"))
               : TlsOptions::from_files(Cert("ca.pem"));
  }
  static Server StartServer(ServerOptions options) {
    Server server(std::move(options));
    server.start();
    return server;
  }
};

TEST_F(RemoteTest, TlsConnectionCarriesCalls) {
  Server server = StartServer(
      {.address = "127.0.0.1:0", .authkey = "key", .tls = ServerTls()});
  Manager m = Manager::connect(server.address(), "key", {.tls = ClientTls()});
  DictProxy d = m.named("shared").dict();
  d.set("x", 42);
  EXPECT_EQ(d.getitem("x"), Object(42));
  // A second client over TLS sees the same object.
  Manager other =
      Manager::connect(server.address(), "key", {.tls = ClientTls()});
  EXPECT_EQ(other.named("shared").dict().getitem("x"), Object(42));
}

TEST_F(RemoteTest, PlaintextClientCannotTalkToTlsServer) {
  Server server = StartServer(
      {.address = "127.0.0.1:0", .authkey = "key", .tls = ServerTls()});
  EXPECT_THROW(Manager::connect(server.address(), "key"), ConnectionError);
}

TEST_F(RemoteTest, ServerCertificateFromAnotherCaIsRefused) {
  Server server = StartServer(
      {.address = "127.0.0.1:0", .authkey = "key", .tls = ServerTls()});
  TlsOptions wrong_ca = TlsOptions::from_files(Cert("other-ca.pem"));
  EXPECT_THROW(Manager::connect(server.address(), "key", {.tls = wrong_ca}),
               ConnectionError);
}

TEST_F(RemoteTest, MutualTlsNeedsAClientCertificate) {
  Server server = StartServer({.address = "127.0.0.1:0",
                               .authkey = "key",
                               .tls = ServerTls(/*require_client_cert=*/true)});
  EXPECT_THROW(Manager::connect(server.address(), "key", {.tls = ClientTls()}),
               ConnectionError);
  Manager m = Manager::connect(server.address(), "key",
                               {.tls = ClientTls(/*with_cert=*/true)});
  EXPECT_EQ(m.list({1, 2, 3}).size(), 3u);
}

TEST_F(RemoteTest, TlsStillNeedsTheAuthkey) {
  Server server = StartServer(
      {.address = "127.0.0.1:0", .authkey = "key", .tls = ServerTls()});
  EXPECT_THROW(
      Manager::connect(server.address(), "wrong", {.tls = ClientTls()}),
      AuthenticationError);
}

TEST_F(RemoteTest, BadTlsMaterialIsNamed) {
  auto message_of = [](auto&& body) {
    try {
      body();
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no ValueError");
  };
  TlsOptions not_pem{.cert_chain = "hello", .private_key = "world"};
  EXPECT_NE(message_of([&] {
              Server s({.address = "127.0.0.1:0", .tls = not_pem});
              s.start();
            }).find("server certificate holds no PEM certificate"),
            std::string::npos);
  // The client key does not belong to the server certificate.
  TlsOptions mismatched = ServerTls();
  mismatched.private_key = ClientTls(true).private_key;
  EXPECT_NE(message_of([&] {
              Server s({.address = "127.0.0.1:0", .tls = mismatched});
              s.start();
            }).find("does not belong to its certificate"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              Manager::connect("127.0.0.1:1", "key", {.tls = TlsOptions{}});
            }).find("CA certificate (to verify the server) is missing"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              TlsOptions::from_files("/nonexistent/ca.pem");
            }).find("/nonexistent/ca.pem"),
            std::string::npos);
}

TEST_F(RemoteTest, SeveralListenAddressesServeOneStore) {
  std::string socket = g_certs + "/second.sock";
  Server server = StartServer({.address = "127.0.0.1:0",
                               .authkey = "key",
                               .more_addresses = {"unix:" + socket}});
  Manager tcp = Manager::connect(server.address(), "key");
  Manager unix_client = Manager::connect("unix:" + socket, "key");
  tcp.named("n").Namespace().set("v", "via tcp");
  EXPECT_EQ(unix_client.named("n").Namespace().get("v"), Object("via tcp"));
}

TEST_F(RemoteTest, OldProxiesFailClearlyAfterARestartAndReconnectFindsNames) {
  const std::string address = "unix:" + g_certs + "/restart.sock";
  auto server = std::make_unique<Server>(
      ServerOptions{.address = address, .authkey = "key"});
  server->start();
  Manager first = Manager::connect(address, "key");
  DictProxy old_dict = first.named("config").dict();
  old_dict.set("generation", 1);
  server.reset();  // the server stops...
  server = std::make_unique<Server>(
      ServerOptions{.address = address, .authkey = "key"});
  server->start();  // ...and a new one runs at the same address

  try {
    old_dict.getitem("generation");
    FAIL() << "an old proxy worked against the new server";
  } catch (const ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("connect again"), std::string::npos)
        << e.what();
  }
  Manager second = Manager::connect(address, "key");
  DictProxy fresh = second.named("config").dict();
  EXPECT_EQ(fresh.size(), 0u);  // a new server: the name is new
  fresh.set("generation", 2);
  // The old proxy is never bound to the new server's object.
  EXPECT_THROW(old_dict.getitem("generation"), ConnectionError);
  EXPECT_EQ(fresh.getitem("generation"), Object(2));
}

TEST_F(RemoteTest, ShutdownAnswersBlockedCallsWithAClearError) {
  Server server = StartServer({.address = "127.0.0.1:0", .authkey = "key"});
  Manager m = Manager::connect(server.address(), "key");
  LockProxy lock = m.Lock();
  QueueProxy queue = m.Queue();
  ASSERT_TRUE(lock.acquire());

  // Another process blocks on the lock and on the queue.
  Manager other = Manager::connect(server.address(), "key");
  LockProxy other_lock = other.named("unused").Lock();  // warm the session
  (void)other_lock;
  auto blocked_get = std::async(std::launch::async, [&] {
    try {
      queue.get(true, std::chrono::seconds(60));
      return std::string("got an item");
    } catch (const ConnectionError& e) {
      return std::string(e.what());
    } catch (const std::exception& e) {
      return std::string("other error: ") + e.what();
    }
  });
  // The get is parked once the server shows a waiter on the queue.
  for (int i = 0; i < 500; ++i) {
    if (queue.waiting_getters() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(queue.waiting_getters(), 1);
  server.shutdown();
  ASSERT_EQ(blocked_get.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  std::string result = blocked_get.get();
  EXPECT_NE(result.find("shutting down"), std::string::npos) << result;
}

TEST_F(RemoteTest, InspectionShowsObjectsHoldersWaitersAndSessions) {
  Server server = StartServer({.address = "127.0.0.1:0", .authkey = "key"});
  Manager holder = Manager::connect(server.address(), "key");
  LockProxy lock = holder.named("the-lock").Lock();
  ListProxy list = holder.named("the-list").list();
  list.extend(Object::list({1, 2, 3}));
  const AcquireResult held = lock.acquire_ex();
  ASSERT_TRUE(held.acquired);

  // A waiter with its own session (Manager::connect opens a new one),
  // parked on the lock. (A fork()ed child cannot be used here: this
  // process runs the gRPC server.)
  Manager waiter = Manager::connect(server.address(), "key");
  auto waiting = std::async(std::launch::async, [&] {
    return waiter.named("the-lock")
        .Lock()
        .acquire(true, std::chrono::seconds(30));
  });
  for (int i = 0; i < 500; ++i) {
    if (lock.n_waiting() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(lock.n_waiting(), 1);

  v1::Inspection in = internal::FetchInspection(
      *internal::Connection::Open(server.address(), "key"));
  const v1::Inspection::ObjectInfo* lock_info = nullptr;
  const v1::Inspection::ObjectInfo* list_info = nullptr;
  for (const auto& o : in.objects()) {
    if (o.name() == "the-lock") lock_info = &o;
    if (o.name() == "the-list") list_info = &o;
  }
  ASSERT_NE(lock_info, nullptr);
  ASSERT_NE(list_info, nullptr);
  EXPECT_EQ(list_info->type(), "list");
  EXPECT_EQ(list_info->size(), 3);
  EXPECT_EQ(lock_info->type(), "Lock");
  EXPECT_EQ(lock_info->state(), "locked");
  EXPECT_EQ(lock_info->fencing_token(), held.fencing_token);
  ASSERT_EQ(lock_info->holder_sessions_size(), 1);
  ASSERT_EQ(lock_info->waiter_sessions_size(), 1);
  // The holder and the waiter are two listed sessions of this process.
  EXPECT_NE(lock_info->holder_sessions(0), lock_info->waiter_sessions(0));
  int listed = 0;
  for (const auto& s : in.sessions()) {
    if (s.id() == lock_info->holder_sessions(0) ||
        s.id() == lock_info->waiter_sessions(0)) {
      ++listed;
      EXPECT_EQ(s.pid(), getpid());
      EXPECT_FALSE(s.peer().empty());
      EXPECT_GE(s.objects_held(), 1);
    }
  }
  EXPECT_EQ(listed, 2);
  // The printed report (Manager::inspect, as mp-manager inspect prints it)
  // names them too.
  const std::string report = holder.inspect();
  EXPECT_NE(report.find("the-lock"), std::string::npos) << report;
  EXPECT_NE(report.find("held by session"), std::string::npos);
  EXPECT_NE(report.find("fencing token " + std::to_string(held.fencing_token)),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("waiting: session"), std::string::npos);

  lock.release();
  EXPECT_TRUE(waiting.get());
}

TEST_F(RemoteTest, InspectionNeedsTheAuthkey) {
  Server server = StartServer({.address = "127.0.0.1:0", .authkey = "key"});
  EXPECT_THROW(Manager::connect(server.address(), "nope").inspect(),
               AuthenticationError);
}

TEST_F(RemoteTest, ObjectLimitPerSessionFailsCreateAndKeepsServing) {
  Server server = StartServer({.address = "127.0.0.1:0",
                               .authkey = "key",
                               .max_objects_per_session = 3});
  Manager m = Manager::connect(server.address(), "key");
  DictProxy a = m.dict();
  ListProxy b = m.list();
  QueueProxy c = m.Queue();
  try {
    m.dict();
    FAIL() << "a fourth object was created";
  } catch (const MemoryError& e) {
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos);
  }
  // The session carries on, and releasing makes room.
  a.set("still", "works");
  EXPECT_EQ(a.getitem("still"), Object("works"));
  { ListProxy dropped = std::move(b); }
  for (int i = 0; i < 100; ++i) {  // the release is fire-and-forget
    try {
      m.list();
      return;
    } catch (const MemoryError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  FAIL() << "releasing an object did not make room";
}

}  // namespace
}  // namespace mp
