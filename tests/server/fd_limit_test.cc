// A server that runs out of file descriptors refuses the connections it
// cannot take and keeps listening (issue 15, finding 1). gRPC 1.51's
// listener stopped accepting for good after one EMFILE from accept4, on
// the unix socket and on TCP alike.
//
// Each test lowers this process's soft fd limit, fills the descriptor table
// so that the server's next accept4 fails, and connects one raw client:
// the client must see its connection closed (not sit in the backlog), and
// once descriptors are free again a real client must be served. ctest runs
// every test in its own process, and each restores the limit it changed.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mp/mp.h"
#include "mp/server.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using testing::TempDir;

// Lowers the soft fd limit for its lifetime and fills every free descriptor
// but `spare_slots` with /dev/null.
class DescriptorFiller {
 public:
  explicit DescriptorFiller(int spare_slots) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lower = saved_;
    // Room for what is open now plus a bounded number of fillers.
    lower.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, static_cast<rlim_t>(testing::OpenFds()) + 256);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &lower), 0) << std::strerror(errno);
    for (;;) {
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        EXPECT_EQ(errno, EMFILE);
        break;
      }
      fillers_.push_back(fd);
    }
    for (int i = 0; i < spare_slots && !fillers_.empty(); ++i) {
      close(fillers_.back());
      fillers_.pop_back();
    }
  }
  ~DescriptorFiller() { Release(); }

  void Release() {
    for (int fd : fillers_) close(fd);
    fillers_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
};

// Reads whatever `fd` holds; true if the peer has closed it.
bool DrainedToClose(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    return n == 0 || errno == ECONNRESET;
  }
}

// Non-blocking: a listener that stopped accepting fills its backlog, and a
// blocking connect would then wait forever.
int ConnectUnix(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int ConnectTcp(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Connects with `connect_raw` while the table is full, expects the server
// to close that connection, then expects a real `transport` client to be
// served once descriptors are free again.
template <class ConnectRaw>
void ExpectListenerSurvivesEmfile(const std::string& address,
                                  Transport transport,
                                  ConnectRaw connect_raw) {
  // The table is this process's, shared with the server's threads: if one
  // of them frees a descriptor meanwhile, the server accepts normally (and
  // gRPC greets the client). That proves nothing either way; try again.
  bool refused = false;
  for (int attempt = 0; attempt < 5 && !refused; ++attempt) {
    // One free slot: the client's own socket takes it, so the server's
    // accept4 finds none.
    DescriptorFiller filler(/*spare_slots=*/1);
    const int raw = connect_raw();
    ASSERT_GE(raw, 0) << std::strerror(errno);
    pollfd p{raw, POLLIN, 0};
    const bool answered = poll(&p, 1, 10'000) == 1;
    char byte;
    const ssize_t n = answered ? recv(raw, &byte, 1, MSG_DONTWAIT) : -1;
    refused = n == 0 || (n < 0 && errno == ECONNRESET);
    close(raw);
    filler.Release();
    ASSERT_TRUE(answered)
        << "the connection the server had no descriptor for was left in "
           "the backlog";
  }
  EXPECT_TRUE(refused) << "the server never ran out of descriptors";
  Manager m = Manager::connect(address, "k", {.transport = transport});
  DictProxy d = m.dict();
  d["served"] = 1;
  EXPECT_EQ(d["served"], 1);
}

TEST(FdLimit, GrpcUnixListenerRefusesOverTheLimitAndKeepsListening) {
  TempDir dir;
  const std::string path = dir.path() + "/m.sock";
  Server server(ServerOptions{.address = "unix:" + path, .authkey = "k"});
  server.start();
  ExpectListenerSurvivesEmfile(server.address(), Transport::kGrpc,
                               [&] { return ConnectUnix(path); });
}

TEST(FdLimit, GrpcTcpListenerRefusesOverTheLimitAndKeepsListening) {
  Server server(ServerOptions{.address = "127.0.0.1:0", .authkey = "k"});
  server.start();
  const std::string address = server.address();
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  ExpectListenerSurvivesEmfile(address, Transport::kGrpc,
                               [&] { return ConnectTcp(port); });
}

TEST(FdLimit, LocalListenerRefusesOverTheLimitAndKeepsListening) {
  TempDir dir;
  const std::string path = dir.path() + "/m.sock";
  Server server(ServerOptions{.address = "unix:" + path, .authkey = "k"});
  server.start();
  ExpectListenerSurvivesEmfile(server.address(), Transport::kLocal, [&] {
    return ConnectUnix(path + ".local");
  });
}

// The finding as it was reported: mp-manager, its fd limit low, and more
// idle connections than it has descriptors for.
TEST(FdLimit, ManagerSurvivesMoreIdleConnectionsThanDescriptors) {
  const char* binary = std::getenv("MP_MANAGER_PATH");
  ASSERT_NE(binary, nullptr) << "MP_MANAGER_PATH is not set";
  TempDir dir;
  const std::string path = dir.path() + "/m.sock";
  const std::string listen = "unix:" + path;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  // mp-manager raises its soft limit to the hard one: lower both.
  constexpr rlim_t kServerDescriptors = 128;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rlimit limit{kServerDescriptors, kServerDescriptors};
    setrlimit(RLIMIT_NOFILE, &limit);
    dup2(ready[1], 3);
    setenv("MP_AUTHKEY", "k", 1);
    execl(binary, "mp-manager", "--listen", listen.c_str(), "--ready-fd", "3",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(ready[1]);
  pollfd p{ready[0], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 30'000), 1) << "mp-manager did not start";
  close(ready[0]);

  // Twice as many connections as the server has descriptors: the ones it
  // cannot take are closed by it, not left waiting.
  std::vector<int> held;
  for (rlim_t i = 0; i < 2 * kServerDescriptors; ++i) {
    const int fd = ConnectUnix(path);
    if (fd >= 0) held.push_back(fd);
  }
  ASSERT_FALSE(held.empty());
  // gRPC greets the connections it took (HTTP/2 SETTINGS) and closes the
  // ones it could not: read what arrives, for up to 10 s, until one closes.
  std::vector<pollfd> polls;
  for (int fd : held) polls.push_back({fd, POLLIN, 0});
  int refused = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (refused == 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(polls.data(), polls.size(), 100) <= 0) continue;
    for (pollfd& p : polls) {
      if (p.fd < 0 || p.revents == 0) continue;
      if (DrainedToClose(p.fd)) {
        ++refused;
        p.fd = -1;
      }
    }
  }
  EXPECT_GT(refused, 0) << "no connection over the limit was refused";
  for (int fd : held) close(fd);

  // The server frees its descriptors as it reads each connection's EOF; a
  // client refused meanwhile tries again, for up to 20 s.
  std::optional<Manager> m;
  for (int attempt = 0; attempt < 200 && !m; ++attempt) {
    try {
      m = Manager::connect(listen, "k", {.transport = Transport::kGrpc});
    } catch (const ConnectionError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(m.has_value()) << "the listener never accepted again";
  DictProxy d = m->dict();
  d["served"] = 1;
  EXPECT_EQ(d["served"], 1);
  m.reset();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

}  // namespace
}  // namespace mp
