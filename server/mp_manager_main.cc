// mp-manager: a standalone manager server. Its main() is ManagerMain
// (server/manager_main.h), which mp::init also runs in a program's own
// executable when mp::Manager starts a server that serves the program's
// custom types.
//
// Exit codes: 0 after a clean shutdown (an allowed client shutdown request,
// SIGTERM, SIGINT, or the lifeline closing); 1 when the server cannot start;
// 2 for bad usage.
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
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
#include <vector>

#include "absl/strings/numbers.h"
#include "common/fd_io.h"
#include "common/tls.h"
#include "mp/errors.h"
#include "mp/server.h"
#include "server/log.h"
#include "server/manager_main.h"

namespace {

constexpr char kUsage[] =
    R"(usage: mp-manager --listen ADDRESS [--listen ADDRESS...] [options]
       mp-manager inspect ADDRESS [client options]

Runs an mp manager server: clients (mp::Manager::connect, or any gRPC client
generated from proto/mp/v1) share dicts, lists, queues, locks... through it.
Clients authenticate with the authkey (HMAC challenge-response; the key
never crosses the wire). The gRPC health service (grpc.health.v1.Health)
and server reflection are served too.

Server options:
  --listen ADDRESS          host:port (port 0 picks one), [v6addr]:port or
                            unix:/path; repeat to listen on several
  --authkey-file FILE       read the authkey from FILE (all of its bytes)
                            (default: the MP_AUTHKEY environment variable)
  --tls-cert FILE           serve TLS with this PEM certificate (chain)...
  --tls-key FILE            ...and its PEM private key
  --tls-client-ca FILE      require client certificates signed by this CA
                            (mutual TLS)
  --insecure                allow plaintext on a non-loopback address.
                            Without TLS anyone on the network can read the
                            traffic (not the authkey); refused by default
  --max-message-bytes N     largest request/reply in bytes (default 67108864)
  --max-objects-per-session N
                            objects one client may reference at once; more
                            fail with MemoryError (default 0: no limit)
  --max-stored-bytes-per-session N
                            bytes the objects one client created may hold
                            (strings' lengths + 16 per value; arrays their
                            buffer); writes beyond fail with MemoryError
                            (default 0: no limit)
  --max-object-bytes N      bytes one object may hold (estimated as above;
                            an Array its buffer); a call that would make
                            one larger fails with MemoryError before
                            anything is allocated (default 1073741824;
                            0: no limit)
  --allow-client-shutdown   let clients stop the server with a shutdown
                            request (Manager::shutdown() on a connected
                            Manager); refused with PermissionError by
                            default. Logged at warning either way
  --max-reply-backlog-bytes N
                            replies held for a client that is not reading
                            them; at N bytes the server stops reading that
                            client's calls until it catches up
                            (default 67108864)
  --lease-timeout-ms N      also end the session (and give back the locks)
                            of a client that answers no keepalive ping for
                            N ms - on the local transport, whose process
                            stays stopped that long (default 0: off;
                            >= 1000; see ServerOptions::lease_timeout for
                            the caveat). A client that exits or dies ends
                            it at once.
  --max-sessions N          sessions served at once; clients beyond are
                            refused with a reason (default 0: no limit)
  --handshake-timeout-ms N  close connections that have not authenticated
                            within N ms (default 10000; 0: never)
  --load PATH.so            load a shared library whose static
                            mp::register_type registrations add custom
                            types (repeatable; before serving)
  --custom-threads N        threads that run custom types' methods
                            (default 0: one per core)
  --no-local-transport      do not serve the local transport (frames on
                            PATH.local beside every unix:PATH address,
                            which same-host C++ clients use by default)
  --log-level LEVEL         error, warning (default), info (sessions opening
                            and closing), debug
  --help                    this text

inspect: prints the server's objects (id, type, name, size, references),
who holds and waits on each lock, queue, event..., and the client sessions
(peer, pid, age, objects held). Needs the authkey like any client.
  --authkey-file FILE       (default: MP_AUTHKEY)
  --tls-ca FILE             connect with TLS, verifying the server with FILE
  --tls-cert FILE --tls-key FILE
                            client certificate, for mutual TLS
  --tls-server-name NAME    name to verify in the server's certificate

Used by mp::Manager when it starts a private server (with
--allow-client-shutdown):
  --authkey-fd N            read the authkey from inherited fd N until EOF
  --ready-fd N              write the bound address and a newline to fd N
                            once serving, then close it
  --lifeline-fd N           shut down when fd N reaches EOF (the parent died
                            or closed it)

Signals: SIGTERM and SIGINT stop accepting, answer blocked calls (acquire,
get, wait...) with ConnectionError "the manager is shutting down", close
every session and exit 0.

Exit status: 0 clean shutdown (allowed client request, SIGTERM, SIGINT,
lifeline)
or inspect printed; 1 cannot start (bind, TLS files) or inspect failed
(connection, authentication); 2 bad usage.
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

std::string ReadFileOrDie(const std::string& flag, const std::string& path) {
  std::string content;
  if (!mp::internal::ReadFile(path, &content)) {
    UsageError(flag + ": cannot read " + path + ": " + std::strerror(errno));
  }
  return content;
}

// Each client session holds a descriptor: raise the soft limit to the hard
// one, so that the default soft limit (often 1024) does not cap a server
// long before its memory does.
void RaiseFdLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string AuthkeyFromEnvironment() {
  const char* env = std::getenv("MP_AUTHKEY");
  if (env == nullptr || *env == '\0') {
    UsageError("no authkey: pass --authkey-file FILE or set MP_AUTHKEY");
  }
  return env;
}

// mp-manager inspect ADDRESS [options]
int InspectMain(int argc, char** argv) {
  std::string address;
  std::string authkey;
  bool have_authkey = false;
  std::string ca, cert, key, server_name;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--authkey-file") {
      authkey = ReadFileOrDie(arg, value());
      have_authkey = true;
    } else if (arg == "--tls-ca") {
      ca = value();
    } else if (arg == "--tls-cert") {
      cert = value();
    } else if (arg == "--tls-key") {
      key = value();
    } else if (arg == "--tls-server-name") {
      server_name = value();
    } else if (!arg.empty() && arg[0] == '-') {
      UsageError("inspect: unknown argument '" + arg + "'");
    } else if (address.empty()) {
      address = arg;
    } else {
      UsageError("inspect takes one ADDRESS, got '" + address + "' and '" +
                 arg + "'");
    }
  }
  if (address.empty()) UsageError("inspect needs an ADDRESS");
  if (!have_authkey) authkey = AuthkeyFromEnvironment();
  if (ca.empty() && (!cert.empty() || !key.empty() || !server_name.empty())) {
    UsageError("inspect: --tls-cert/--tls-key/--tls-server-name need --tls-ca");
  }
  try {
    std::optional<mp::TlsOptions> tls;
    if (!ca.empty()) {
      tls = mp::TlsOptions::from_files(ca, cert, key);
      tls->server_name = server_name;
    }
    std::cout << mp::Manager::connect(address, authkey, {.tls = tls}).inspect();
  } catch (const mp::Error& e) {
    std::cerr << "mp-manager inspect: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int mp::server::ManagerMain(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "inspect") {
    return InspectMain(argc, argv);
  }
  mp::ServerOptions options;
  options.address.clear();
  // Only --allow-client-shutdown lets a client stop a standalone server.
  options.allow_client_shutdown = false;
  bool have_authkey = false;
  bool insecure = false;
  int ready_fd = -1;
  int lifeline_fd = -1;
  std::vector<std::string> addresses;
  std::string tls_cert, tls_key, tls_client_ca;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) UsageError(arg + " needs a value");
      return argv[++i];
    };
    auto number = [&](int64_t min) -> int64_t {
      std::string v = value();
      int64_t n = 0;
      if (!absl::SimpleAtoi(v, &n) || n < min) {
        UsageError(arg + " needs a number >= " + std::to_string(min) +
                   ", got '" + v + "'");
      }
      return n;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--listen") {
      addresses.push_back(value());
    } else if (arg == "--authkey-file") {
      options.authkey = ReadFileOrDie(arg, value());
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
      options.lease_timeout = std::chrono::milliseconds(number(1000));
    } else if (arg == "--max-message-bytes") {
      options.max_message_bytes = static_cast<size_t>(number(1024));
    } else if (arg == "--max-objects-per-session") {
      options.max_objects_per_session = static_cast<size_t>(number(0));
    } else if (arg == "--max-stored-bytes-per-session") {
      options.max_stored_bytes_per_session = static_cast<size_t>(number(0));
    } else if (arg == "--max-object-bytes") {
      options.max_object_bytes = static_cast<size_t>(number(0));
    } else if (arg == "--allow-client-shutdown") {
      options.allow_client_shutdown = true;
    } else if (arg == "--max-reply-backlog-bytes") {
      options.max_reply_backlog_bytes = static_cast<size_t>(number(1024));
    } else if (arg == "--max-sessions") {
      options.max_sessions = static_cast<size_t>(number(0));
    } else if (arg == "--handshake-timeout-ms") {
      options.handshake_timeout = std::chrono::milliseconds(number(0));
    } else if (arg == "--load") {
      std::string path = value();
      // RTLD_GLOBAL: the library's registrations resolve mp's symbols from
      // this executable (it links none of mp), and later libraries may
      // use its symbols in turn.
      if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
        std::cerr << "mp-manager: --load " << path << ": " << dlerror() << "\n";
        return 1;
      }
    } else if (arg == "--custom-threads") {
      options.custom_threads = static_cast<size_t>(number(0));
    } else if (arg == "--no-local-transport") {
      options.local_transport = false;
    } else if (arg == "--tls-cert") {
      tls_cert = value();
    } else if (arg == "--tls-key") {
      tls_key = value();
    } else if (arg == "--tls-client-ca") {
      tls_client_ca = value();
    } else if (arg == "--insecure") {
      insecure = true;
    } else if (arg == "--log-level") {
      std::string v = value();
      auto level = mp::server::ParseLogLevel(v);
      if (!level) {
        UsageError("--log-level takes error, warning, info or debug, got '" +
                   v + "'");
      }
      mp::server::SetLogLevel(*level);
    } else {
      UsageError("unknown argument '" + arg + "'");
    }
  }
  if (addresses.empty()) UsageError("--listen ADDRESS is required");
  options.address = addresses.front();
  options.more_addresses.assign(addresses.begin() + 1, addresses.end());
  if (!have_authkey) options.authkey = AuthkeyFromEnvironment();
  if (options.authkey.empty()) UsageError("the authkey is empty");
  if (tls_cert.empty() != tls_key.empty()) {
    UsageError("--tls-cert and --tls-key go together");
  }
  if (!tls_client_ca.empty() && tls_cert.empty()) {
    UsageError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!tls_cert.empty()) {
    mp::TlsOptions tls;
    tls.cert_chain = ReadFileOrDie("--tls-cert", tls_cert);
    tls.private_key = ReadFileOrDie("--tls-key", tls_key);
    if (!tls_client_ca.empty()) {
      tls.ca_certs = ReadFileOrDie("--tls-client-ca", tls_client_ca);
    }
    options.tls = std::move(tls);
  } else if (!insecure) {
    for (const std::string& address : addresses) {
      if (!mp::internal::IsLocalOnlyAddress(address)) {
        UsageError("refusing plaintext on " + address +
                   ", which other hosts can reach: serve TLS (--tls-cert, "
                   "--tls-key) or pass --insecure to accept that the "
                   "network can read the traffic");
      }
    }
  }

  RaiseFdLimit();

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
    mp::server::Log(
        mp::server::LogLevel::kInfo,
        std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": shutting down");
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
    std::cerr << "mp-manager: serving on " << server.address();
    for (size_t i = 1; i < addresses.size(); ++i) {
      std::cerr << " and " << addresses[i];
    }
    std::cerr << (tls_cert.empty()        ? " (plaintext)"
                  : tls_client_ca.empty() ? " (TLS)"
                                          : " (mutual TLS)")
              << "\n";
  }
  // Give memory freed by dropped objects back to the system now and then,
  // so a long-running manager's footprint follows its live objects rather
  // than its high-water mark (glibc keeps freed heap otherwise).
  while (!server.wait_for(std::chrono::milliseconds(250))) malloc_trim(0);
  server.shutdown();
  return 0;
}
