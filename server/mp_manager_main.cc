// mp-manager: a standalone manager server.
//
// Exit codes: 0 after a clean shutdown (a client's shutdown request,
// SIGTERM, SIGINT, or the lifeline closing); 1 when the server cannot start;
// 2 for bad usage.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "mp/errors.h"
#include "mp/server.h"
#include "proxy/fd_io.h"

namespace {

constexpr char kUsage[] = R"(usage: mp-manager --listen ADDRESS [options]

Runs an mp manager server: clients (mp::Manager::connect, or any gRPC client
generated from proto/mp/v1) share dicts, lists, Namespaces, Values and Arrays
through it.

  --listen ADDRESS          host:port (port 0 picks one) or unix:/path
  --authkey-file FILE       read the authkey from FILE (all of its bytes)
                            (default: the MP_AUTHKEY environment variable)
  --max-message-bytes N     largest request/reply in bytes (default 67108864)
  --lease-timeout-ms N      also end the session (and give back the locks)
                            of a client that answers no keepalive ping for
                            N ms (default 0: off; >= 1000; see
                            ServerOptions::lease_timeout for the caveat).
                            A client that exits or dies ends it at once.
  --help                    this text

Used by mp::Manager when it starts a private server:
  --authkey-fd N            read the authkey from inherited fd N until EOF
  --ready-fd N              write the bound address and a newline to fd N
                            once serving, then close it
  --lifeline-fd N           shut down when fd N reaches EOF (the parent died
                            or closed it)

Exit status: 0 clean shutdown (client request, SIGTERM, SIGINT, lifeline),
1 cannot start, 2 bad usage.
)";

[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << "mp-manager: " << message << "\n"
            << "Try 'mp-manager --help'.\n";
  std::exit(2);
}

int ParseFd(const std::string& flag, const std::string& value) {
  int fd = -1;
  if (!absl::SimpleAtoi(value, &fd) || fd < 0) {
    UsageError(flag + " needs a file descriptor number, got '" + value + "'");
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  mp::ServerOptions options;
  options.address.clear();
  bool have_authkey = false;
  int ready_fd = -1;
  int lifeline_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--listen") {
      options.address = value();
    } else if (arg == "--authkey-file") {
      std::string path = value();
      std::ifstream in(path, std::ios::binary);
      if (!in) UsageError("cannot read authkey file " + path);
      std::stringstream content;
      content << in.rdbuf();
      options.authkey = content.str();
      have_authkey = true;
    } else if (arg == "--authkey-fd") {
      int fd = ParseFd(arg, value());
      options.authkey = mp::internal::ReadToEof(fd);
      close(fd);
      have_authkey = true;
    } else if (arg == "--ready-fd") {
      ready_fd = ParseFd(arg, value());
    } else if (arg == "--lifeline-fd") {
      lifeline_fd = ParseFd(arg, value());
    } else if (arg == "--lease-timeout-ms") {
      std::string v = value();
      int64_t ms = 0;
      if (!absl::SimpleAtoi(v, &ms) || ms < 1000) {
        UsageError("--lease-timeout-ms needs a number >= 1000, got '" + v + "'");
      }
      options.lease_timeout = std::chrono::milliseconds(ms);
    } else if (arg == "--max-message-bytes") {
      std::string v = value();
      if (!absl::SimpleAtoi(v, &options.max_message_bytes)) {
        UsageError("--max-message-bytes needs a number, got '" + v + "'");
      }
    } else {
      UsageError("unknown argument '" + arg + "'");
    }
  }
  if (options.address.empty()) UsageError("--listen ADDRESS is required");
  if (!have_authkey) {
    const char* env = std::getenv("MP_AUTHKEY");
    if (env == nullptr || *env == '\0') {
      UsageError("no authkey: pass --authkey-file FILE or set MP_AUTHKEY");
    }
    options.authkey = env;
  }
  if (options.authkey.empty()) UsageError("the authkey is empty");

  // Signals are taken by a thread with sigwait, so block them before any
  // other thread (gRPC's included) exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mp::Server server(std::move(options));
  try {
    server.start();
  } catch (const mp::Error& e) {
    std::cerr << "mp-manager: " << e.what() << "\n";
    return 1;
  }

  std::thread([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.request_shutdown();
  }).detach();
  if (lifeline_fd >= 0) {
    std::thread([&server, lifeline_fd] {
      char c;
      while (read(lifeline_fd, &c, 1) != 0 && errno == EINTR) {
      }
      server.request_shutdown();
    }).detach();
  }
  if (ready_fd >= 0) {
    std::string line = server.address() + "\n";
    (void)!write(ready_fd, line.data(), line.size());
    close(ready_fd);
  } else {
    std::cerr << "mp-manager: serving on " << server.address() << "\n";
  }
  // Give memory freed by dropped objects back to the system now and then,
  // so a long-running manager's footprint follows its live objects rather
  // than its high-water mark (glibc keeps freed heap otherwise).
  while (!server.wait_for(std::chrono::milliseconds(250))) malloc_trim(0);
  server.shutdown();
  return 0;
}
