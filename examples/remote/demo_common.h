// What job_client and job_worker share: flag parsing, how they find and
// authenticate to the manager, the names of the shared objects, and the
// job arithmetic (so both sides agree on what a correct result is).
//
// The protocol between them is described in job_client.cc.
#ifndef MP_EXAMPLES_REMOTE_DEMO_COMMON_H_
#define MP_EXAMPLES_REMOTE_DEMO_COMMON_H_

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "mp/mp.h"

namespace demo {

// Names of the shared objects on the manager.
inline constexpr char kJobsName[] = "jobs";        // JoinableQueue of jobs
inline constexpr char kResultsName[] = "results";  // dict: job -> value
inline constexpr char kClaimsName[] = "claims";    // dict: job -> worker id
inline constexpr char kTakeLockName[] = "take";    // Lock around get+claim
// Value<int64_t>: runs finished. A client adds 1 when it is done; a worker
// exits when it changes from what it was when the worker started (so a
// worker started after one run waits for the next, and none is told twice).
inline constexpr char kFinishedRunsName[] = "finished_runs";
// Prefix of each worker's liveness Lock ("worker/<id>"), held for its life.
inline constexpr char kWorkerLockPrefix[] = "worker/";

// The largest job range: every partial and the total fit in int64
// (sum of squares below 2e6 is about 2.7e18).
inline constexpr int64_t kMaxNumbers = 2'000'000;

// Sum of i*i for 0 <= i < n.
inline int64_t SumSquaresBelow(int64_t n) {
  if (n <= 0) return 0;
  // n(n-1)(2n-1)/6 without overflow for n <= kMaxNumbers: divide first.
  __int128 v = static_cast<__int128>(n) * (n - 1) * (2 * n - 1) / 6;
  return static_cast<int64_t>(v);
}

// Job j covers [j * size, (j + 1) * size): its result is the sum of the
// squares in that range, and all results together sum to
// SumSquaresBelow(jobs * size).
inline int64_t ExpectedResult(int64_t job, int64_t size) {
  return SumSquaresBelow((job + 1) * size) - SumSquaresBelow(job * size);
}

// A job on the queue: the tuple (job, lo, hi).
inline mp::Object JobItem(int64_t job, int64_t size) {
  return mp::Object::tuple({job, job * size, (job + 1) * size});
}

[[noreturn]] inline void UsageError(const std::string& program,
                                    const std::string& message) {
  std::cerr << program << ": " << message << "\nTry '" << program
            << " --help'.\n";
  std::exit(2);
}

// A tiny "--flag value" / "--flag=value" scanner.
class Flags {
 public:
  Flags(std::string program, int argc, char** argv)
      : program_(std::move(program)), argc_(argc), argv_(argv) {}

  // Advances to the next argument; false at the end.
  bool Next() {
    if (++i_ >= argc_) return false;
    arg_ = argv_[i_];
    inline_value_.reset();
    if (arg_.rfind("--", 0) == 0) {
      auto eq = arg_.find('=');
      if (eq != std::string::npos) {
        inline_value_ = arg_.substr(eq + 1);
        arg_.resize(eq);
      }
    }
    return true;
  }
  const std::string& arg() const { return arg_; }
  std::string Value() {
    if (inline_value_) return *inline_value_;
    if (i_ + 1 >= argc_) UsageError(program_, arg_ + " needs a value");
    return argv_[++i_];
  }
  int64_t Int(int64_t min, int64_t max) {
    std::string v = Value();
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < min || n > max) {
      UsageError(program_, arg_ + " needs a whole number in [" +
                               std::to_string(min) + ", " +
                               std::to_string(max) + "], got '" + v + "'");
    }
    return n;
  }
  void Unknown() const {
    UsageError(program_, "unknown argument '" + arg_ + "'");
  }

 private:
  std::string program_;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string arg_;
  std::optional<std::string> inline_value_;
};

// Where the manager is and how to prove we may use it.
struct ConnectOptions {
  std::string address;       // --manager, else $MP_MANAGER_ADDRESS
  std::string authkey_file;  // --authkey-file, else $MP_AUTHKEY_FILE
  int64_t connect_timeout_s = 30;
  // TLS (the names of mp-manager inspect's options); each falls back to
  // $MP_TLS_CA, $MP_TLS_CERT, $MP_TLS_KEY, $MP_TLS_SERVER_NAME.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
};

inline constexpr char kConnectHelp[] =
    R"(  --manager HOST:PORT       the manager's address
                            (default: $MP_MANAGER_ADDRESS)
  --authkey-file FILE       read the authkey from FILE, all of its bytes, as
                            mp-manager does (default: $MP_AUTHKEY_FILE, else
                            the key itself in $MP_AUTHKEY)
  --connect-timeout SECS    keep retrying to reach the manager this long
                            (default 30; the manager may still be starting)
  --tls-ca FILE             connect with TLS, verifying the manager's
                            certificate with this PEM CA (default:
                            $MP_TLS_CA; unset: plaintext)
  --tls-cert FILE --tls-key FILE
                            this client's PEM certificate and key, for a
                            manager that requires them (--tls-client-ca)
                            (default: $MP_TLS_CERT, $MP_TLS_KEY)
  --tls-server-name NAME    the name to verify in the manager's certificate
                            instead of the address's host
                            (default: $MP_TLS_SERVER_NAME)
)";

// Handles the connection flags; false if `flags.arg()` is not one of them.
inline bool ParseConnectFlag(Flags& flags, ConnectOptions* options) {
  if (flags.arg() == "--manager") {
    options->address = flags.Value();
  } else if (flags.arg() == "--authkey-file") {
    options->authkey_file = flags.Value();
  } else if (flags.arg() == "--connect-timeout") {
    options->connect_timeout_s = flags.Int(0, 3600);
  } else if (flags.arg() == "--tls-ca") {
    options->tls_ca = flags.Value();
  } else if (flags.arg() == "--tls-cert") {
    options->tls_cert = flags.Value();
  } else if (flags.arg() == "--tls-key") {
    options->tls_key = flags.Value();
  } else if (flags.arg() == "--tls-server-name") {
    options->tls_server_name = flags.Value();
  } else {
    return false;
  }
  return true;
}

inline std::string ReadAuthkey(const std::string& program,
                               const ConnectOptions& options) {
  std::string path = options.authkey_file;
  if (path.empty()) {
    if (const char* env = std::getenv("MP_AUTHKEY_FILE")) path = env;
  }
  std::string key;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) UsageError(program, "cannot read authkey file " + path);
    std::stringstream content;
    content << in.rdbuf();
    key = content.str();
  } else if (const char* env = std::getenv("MP_AUTHKEY")) {
    key = env;
  }
  if (key.empty()) {
    UsageError(program,
               "no authkey: pass --authkey-file FILE or set MP_AUTHKEY");
  }
  return key;
}

inline void FromEnv(std::string* value, const char* name) {
  if (!value->empty()) return;
  if (const char* env = std::getenv(name)) *value = env;
}

// The TLS options of Manager::connect, from the flags or the environment;
// plaintext (nullopt) without a CA.
inline std::optional<mp::TlsOptions> TlsFrom(const std::string& program,
                                             ConnectOptions* options) {
  FromEnv(&options->tls_ca, "MP_TLS_CA");
  FromEnv(&options->tls_cert, "MP_TLS_CERT");
  FromEnv(&options->tls_key, "MP_TLS_KEY");
  FromEnv(&options->tls_server_name, "MP_TLS_SERVER_NAME");
  if (options->tls_ca.empty()) {
    if (!options->tls_cert.empty() || !options->tls_key.empty()) {
      UsageError(program, "--tls-cert/--tls-key need --tls-ca");
    }
    return std::nullopt;
  }
  if (options->tls_cert.empty() != options->tls_key.empty()) {
    UsageError(program, "--tls-cert and --tls-key go together");
  }
  try {
    mp::TlsOptions tls = mp::TlsOptions::from_files(
        options->tls_ca, options->tls_cert, options->tls_key);
    tls.server_name = options->tls_server_name;
    return tls;
  } catch (const mp::ValueError& e) {
    UsageError(program, e.message());
  }
}

// Connects, retrying while nothing answers (the manager may be starting)
// for up to options.connect_timeout_s. A wrong key fails at once.
inline mp::Manager Connect(const std::string& program, ConnectOptions options) {
  FromEnv(&options.address, "MP_MANAGER_ADDRESS");
  if (options.address.empty()) {
    UsageError(program,
               "no manager: pass --manager HOST:PORT or set "
               "MP_MANAGER_ADDRESS");
  }
  const std::string key = ReadAuthkey(program, options);
  const mp::ConnectOptions connect{.tls = TlsFrom(program, &options)};
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(options.connect_timeout_s);
  for (int attempt = 1;; ++attempt) {
    try {
      return mp::Manager::connect(options.address, key, connect);
    } catch (const mp::ConnectionError& e) {
      if (std::chrono::steady_clock::now() >= deadline) {
        std::cerr << program << ": cannot reach the manager at "
                  << options.address << " after " << attempt
                  << " attempts: " << e.what() << "\n";
        std::exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Runs `fn` and turns the errors a remote demo can meet into a message and
// exit status 1 (instead of std::terminate).
template <class F>
int RunMain(const std::string& program, F&& fn) {
  try {
    return fn();
  } catch (const mp::AuthenticationError& e) {
    std::cerr << program << ": the manager refused the authkey: " << e.what()
              << "\n";
  } catch (const mp::Error& e) {
    std::cerr << program << ": " << e.what() << "\n";
  }
  return 1;
}

}  // namespace demo

#endif  // MP_EXAMPLES_REMOTE_DEMO_COMMON_H_
