// mp's side of the benchmark workloads (DESIGN.md, "Benchmarks"). Prints
// one JSON object per line, in the format of python_side.py, so
// bench/run.py can put both side by side. Run through bench/run.py.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mp/mp.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// --transport: how the managers below are reached ("auto", "grpc",
// "local"); reported in every JSON line.
mp::Transport g_transport = mp::Transport::kAuto;
std::string g_transport_name = "auto";

void Emit(const char* workload, const char* metric, double value,
          const char* unit) {
  std::printf(
      "{\"workload\": \"%s\", \"metric\": \"%s\", \"value\": %.3f, "
      "\"unit\": \"%s\", \"impl\": \"mp\", \"transport\": \"%s\"}\n",
      workload, metric, value, unit, g_transport_name.c_str());
  std::fflush(stdout);
}

// `transport`: "" (the default unix socket), "_tcp" or "_tls", appended to
// the metric names.
void W1(mp::Manager& m, int n, const std::string& transport = "") {
  mp::DictProxy d = m.dict();
  for (int i = 0; i < 100; ++i) d.set(i, i);  // warm up
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) d.set(i % 100, i);
  Emit("W1", ("dict_set" + transport).c_str(), Seconds(t) / n * 1e6, "us/op");
  t = Clock::now();
  for (int i = 0; i < n; ++i) (void)d.getitem(i % 100);
  Emit("W1", ("dict_get" + transport).c_str(), Seconds(t) / n * 1e6, "us/op");
}

// W1 against an mp-manager serving TLS on loopback TCP, with certificates
// from tests/tls/make_certs.sh. Skipped (with a note on stderr) when the
// certificates cannot be made.
void W1Tls(int n) {
  char dir_template[] = "/tmp/mp-bench-tls-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return;
  const std::string dir = dir_template;
  const std::string make =
      std::string(MP_SOURCE_DIR) + "/tests/tls/make_certs.sh " + dir;
  if (std::system(make.c_str()) != 0) {
    std::cerr << "mp_bench: W1 over TLS skipped (cannot make certificates)\n";
    return;
  }
  const std::string authkey = "bench-authkey";
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return;
  const char* binary = std::getenv("MP_MANAGER_PATH");
  const std::string manager = binary ? binary : "mp-manager";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(err_pipe[1], STDERR_FILENO);
    setenv("MP_AUTHKEY", authkey.c_str(), 1);
    const std::string cert = dir + "/server.pem", key = dir + "/server.key";
    execl(manager.c_str(), manager.c_str(), "--listen", "127.0.0.1:0",
          "--tls-cert", cert.c_str(), "--tls-key", key.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err_pipe[1]);
  // "mp-manager: serving on 127.0.0.1:PORT (TLS)"
  std::string banner;
  char c;
  while (read(err_pipe[0], &c, 1) == 1 && c != '\n') banner += c;
  close(err_pipe[0]);
  const std::string marker = "serving on ";
  size_t at = banner.find(marker);
  if (at != std::string::npos) {
    std::string address = banner.substr(at + marker.size());
    address = address.substr(0, address.find(' '));
    mp::Manager m = mp::Manager::connect(
        address, authkey, {.tls = mp::TlsOptions::from_files(dir + "/ca.pem")});
    W1(m, n, "_tls");
  } else {
    std::cerr << "mp_bench: W1 over TLS skipped: " << banner << "\n";
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  (void)!std::system(("rm -rf " + dir).c_str());
}

void W2(mp::Manager& m, int n) {
  mp::LockProxy lock = m.Lock();
  for (int i = 0; i < 100; ++i) {
    lock.acquire();
    lock.release();
  }
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) {
    lock.acquire();
    lock.release();
  }
  Emit("W2", "lock_acquire_release", Seconds(t) / n * 1e6, "us/pair");
}

void W3(mp::Manager& m, int n) {
  mp::QueueProxy q_in = m.Queue(), q_out = m.Queue();
  pid_t pid = fork();  // the echo process (mp::Process lands with issue 4)
  if (pid == 0) {
    try {
      for (int i = 0; i < n + 10; ++i) q_out.put(q_in.get());
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  for (int i = 0; i < 10; ++i) {
    q_in.put(i);
    q_out.get();
  }
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) {
    q_in.put(i);
    q_out.get();
  }
  Emit("W3", "queue_handoff_roundtrip", Seconds(t) / n * 1e6, "us/roundtrip");
  waitpid(pid, nullptr, 0);
}

void W8(mp::Manager& m, int waiters) {
  mp::EventProxy ev = m.Event();
  std::vector<std::thread> threads;
  for (int i = 0; i < waiters; ++i) {
    threads.emplace_back([&ev] { ev.wait(std::chrono::seconds(120)); });
  }
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (ev.n_waiting() < waiters && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  mp::Object stats = m.stats();
  auto t = Clock::now();
  ev.set();
  for (auto& th : threads) th.join();
  Emit("W8", "event_wake_1000_waiters", Seconds(t) * 1e3, "ms");
  Emit("W8", "server_threads_with_1000_waiters",
       static_cast<double>(stats.as_dict().find("threads")->as_int()),
       "threads");
  Emit("W8", "server_rss_with_1000_waiters",
       stats.as_dict().find("rss_bytes")->as_int() / 1048576.0, "MB");
}

// The server's memory per idle session on this run's transport: RSS (from
// m.stats()) before and after 100 more sessions that each made one call.
void IdleSessions(mp::Manager& m, int sessions) {
  auto rss = [&m] { return m.stats().as_dict().find("rss_bytes")->as_int(); };
  const int64_t before = rss();
  std::vector<mp::Manager> idle;
  for (int i = 0; i < sessions; ++i) {
    idle.push_back(mp::Manager::connect(m.address(), m.authkey(),
                                        {.transport = g_transport}));
    idle.back().stats();
  }
  Emit("W8", "server_kb_per_idle_session",
       static_cast<double>(rss() - before) / sessions / 1024.0, "KB");
}

void Setter(mp::DictProxy d, int64_t n, mp::EventProxy go) {
  go.wait();
  for (int64_t i = 0; i < n; ++i) d.set(i % 100, i);
}

void W4(mp::Manager& m, int n, int procs = 8) {
  mp::DictProxy d = m.dict();
  mp::EventProxy go = m.Event();
  std::vector<mp::Process> ps;
  for (int p = 0; p < procs; ++p) {
    ps.emplace_back(Setter, d, static_cast<int64_t>(n), go);
    ps.back().start();
  }
  // Every worker has connected and is parked on the Event.
  while (go.n_waiting() < procs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto t = Clock::now();
  go.set();
  for (auto& p : ps) p.join();
  Emit("W4", "dict_set_8_procs", procs * static_cast<double>(n) / Seconds(t),
       "ops/s");
}

int64_t Sq(int64_t x) { return x * x; }
void Noop() {}

void W7(double scale) {
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    mp::Context ctx = mp::get_context(method);
    const int n = 10;
    {
      mp::Process warm = ctx.Process(Noop);
      warm.start();
      warm.join();
    }
    auto t = Clock::now();
    for (int i = 0; i < n; ++i) {
      mp::Process p = ctx.Process(Noop);
      p.start();
      p.join();
    }
    Emit("W7", (std::string("process_start_join_") + method).c_str(),
         Seconds(t) / n * 1e3, "ms");
  }
  mp::Pool pool(2);
  auto range = [](int n) {
    std::vector<int64_t> v(n);
    for (int i = 0; i < n; ++i) v[i] = i;
    return v;
  };
  pool.map(Sq, range(100));
  int n = std::max(1000, static_cast<int>(100000 * scale));
  auto inputs = range(n);
  auto t = Clock::now();
  pool.map(Sq, inputs);
  Emit("W7", "pool_map_default_chunksize", n / Seconds(t), "tasks/s");
  n = std::max(1000, static_cast<int>(20000 * scale));
  inputs = range(n);
  t = Clock::now();
  pool.map(Sq, inputs, 1);
  Emit("W7", "pool_map_chunksize_1", n / Seconds(t), "tasks/s");
  n = std::max(1000, static_cast<int>(10000 * scale));
  t = Clock::now();
  std::vector<mp::AsyncResult<int64_t>> results;
  for (int i = 0; i < n; ++i) results.push_back(pool.apply_async(Sq, i));
  for (auto& r : results) r.get();
  Emit("W7", "pool_apply_async", n / Seconds(t), "tasks/s");
}

void W5(mp::Manager& m, int n) {
  mp::DictProxy d = m.dict();
  std::vector<mp::PendingReply> replies;
  replies.reserve(n);
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) replies.push_back(d.set_async(i, i));
  for (auto& r : replies) r.get();
  Emit("W5", "dict_set_one_client_max_rate", n / Seconds(t), "ops/s");
  if (d.size() != static_cast<size_t>(n)) {
    std::cerr << "W5: wrong dict size\n";
    std::exit(1);
  }
}

// W6 and W11 (python_side.py's whole_array): an untimed write and read of
// all of `a` first, then a timed whole write and a timed whole read. `A` is
// a manager ArrayProxy<double> or a server-less Array<double>: both have
// assign() and to_vector(). `report_cold` also reports the untimed write:
// the first large write into a manager Array runs at ~120 MB/s here, almost
// all of it first-touch page faults on freshly allocated buffers in this VM
// (~25 us each); later ones at over 1 GB/s. bench/README.md reports both.
template <class A>
void WholeArray(const char* workload, const A& a, int n_doubles,
                const std::string& suffix, bool report_cold) {
  const double mb = n_doubles * 8 / 1e6;
  std::vector<double> values(n_doubles);
  for (int i = 0; i < n_doubles; ++i) values[i] = i;
  auto t = Clock::now();
  a.assign(0, std::vector<double>(n_doubles));
  if (report_cold) {
    Emit(workload, "array_write_whole_cold", mb / Seconds(t), "MB/s");
  }
  (void)a.to_vector();
  t = Clock::now();
  a.assign(0, values);
  Emit(workload, ("array_write_whole" + suffix).c_str(), mb / Seconds(t),
       "MB/s");
  t = Clock::now();
  std::vector<double> got = a.to_vector();
  Emit(workload, ("array_read_whole" + suffix).c_str(), mb / Seconds(t),
       "MB/s");
  if (got.back() != values.back()) {
    std::cerr << workload << ": wrong contents\n";
    std::exit(1);
  }
}

void W6(mp::Manager& m, int n_doubles) {
  // Created from n zeros, as Python's side does (m.Array('d', [0.0] * n)).
  WholeArray("W6", m.Array<double>(std::vector<double>(n_doubles)), n_doubles,
             "", /*report_cold=*/true);
}


// ---- W9-W11: the server-less objects (mp/sharedctypes.h, mp/synchronize.h):
// shared memory, no manager, so no round trip.

void W9(int n_locked, int n_raw) {
  mp::Value<double> v(0.0);  // a double in a memfd segment plus an RLock
  auto t = Clock::now();
  for (int i = 0; i < n_locked; ++i) {
    std::lock_guard hold(v.get_lock());  // as Python's `with v.get_lock():`
    v.set(v.get() + 1);                  // get/set take the RLock again
  }
  Emit("W9", "value_locked_increment", Seconds(t) * 1e6 / n_locked, "us/op");
  if (v.get() != n_locked) {
    std::cerr << "W9: lost increments\n";
    std::exit(1);
  }
  mp::Value<double> raw(0.0, /*lock=*/false);  // RawValue
  t = Clock::now();
  for (int i = 0; i < n_raw; ++i) {
    raw.set(i);
    // Each store must happen: without this the compiler may keep only the
    // last one, and the loop would measure nothing.
    asm volatile("" ::: "memory");
  }
  Emit("W9", "rawvalue_set", Seconds(t) * 1e6 / n_raw, "us/op");
}

void W10(int n) {
  mp::Lock lock;  // a futex word naming its owner (shared/robust_lock.h)
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) {
    lock.acquire();
    lock.release();
  }
  Emit("W10", "lock_acquire_release_local", Seconds(t) * 1e6 / n, "us/pair");
}

void W11(int n_doubles) {
  WholeArray("W11", mp::Array<double>(static_cast<size_t>(n_doubles)),
             n_doubles, "_local", /*report_cold=*/false);
}

void W12Echo(mp::Queue q_in, mp::Queue q_out, int n) {
  for (int i = 0; i < n; ++i) q_out.put(q_in.get(std::chrono::seconds(60)));
}

// W12 (python_side.py's w12): the server-less mp::Queue (mp/queue.h), the
// shapes of Python's handoff() and block loop.
void W12(int n_roundtrip, int n_items, int block = 100) {
  mp::Queue q_in, q_out;
  mp::ProcessOptions options;
  options.start_method = "fork";  // as Python's default here
  mp::Process echo(std::move(options), W12Echo, q_in, q_out, n_roundtrip + 10);
  echo.start();
  for (int i = 0; i < 10; ++i) {
    q_in.put(i);
    q_out.get(std::chrono::seconds(60));
  }
  auto t = Clock::now();
  for (int i = 0; i < n_roundtrip; ++i) {
    q_in.put(i);
    q_out.get();
  }
  Emit("W12", "queue_handoff_roundtrip_local", Seconds(t) / n_roundtrip * 1e6,
       "us/roundtrip");
  echo.join(std::chrono::seconds(60));
  mp::Queue q;
  n_items -= n_items % block;
  t = Clock::now();
  for (int b = 0; b < n_items / block; ++b) {
    for (int i = 0; i < block; ++i) q.put(i);
    for (int i = 0; i < block; ++i) q.get();
  }
  Emit("W12", "queue_put_get_same_process", n_items / Seconds(t), "ops/s");
}


// ---- W13: a user type (mp/register.h) against a built-in on one server.
// The type lives in bench_types.cc, a library loaded by an mp-manager this
// function starts with --load: registering it in mp_bench instead would
// make every mp::Manager here start mp_bench itself as its server (the
// custom types' server role), so W1-W11 would no longer measure mp-manager.

// mp-manager --load MP_BENCH_TYPES on a unix socket in a fresh directory;
// returns its pid and sets `address`, or -1 (with a note on stderr).
pid_t StartTypesManager(const std::string& dir, const std::string& authkey,
                        std::string* address) {
  const char* binary = std::getenv("MP_MANAGER_PATH");
  const std::string manager = binary ? binary : "mp-manager";
  const char* types_env = std::getenv("MP_BENCH_TYPES");
  const std::string types = types_env ? types_env : MP_BENCH_TYPES;
  const std::string listen = "unix:" + dir + "/s.sock";
  // Everything the child needs is built before fork (this process has
  // threads: the child may only exec).
  std::vector<std::string> env_strings = {"MP_AUTHKEY=" + authkey};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "MP_AUTHKEY=", 11) != 0) env_strings.push_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::vector<std::string> args = {
      manager, "--listen", listen, "--load", types, "--ready-fd", "3",
      "--allow-client-shutdown"};
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(ready[1], 3);  // dup2 clears O_CLOEXEC on the copy
    execve(manager.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(ready[1]);
  std::string line;
  char c;
  while (read(ready[0], &c, 1) == 1 && c != '\n') line += c;
  close(ready[0]);
  if (pid < 0 || line.empty()) {
    std::cerr << "mp_bench: W13: " << manager << " --load " << types
              << " did not start\n";
    if (pid > 0) waitpid(pid, nullptr, 0);
    return -1;
  }
  *address = listen;
  return pid;
}

void W13(int n) {
  char dir_template[] = "/tmp/mp-bench-types-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) std::exit(1);
  const std::string dir = dir_template, authkey = "bench-authkey";
  std::string address;
  const pid_t pid = StartTypesManager(dir, authkey, &address);
  if (pid < 0) std::exit(1);
  {
    mp::Manager m =
        mp::Manager::connect(address, authkey, {.transport = g_transport});
    mp::Proxy maths = m.create("Maths");
    mp::DictProxy d = m.dict();
    int64_t sum = 0;
    for (int i = 0; i < 100; ++i) {  // warm up (and start the pool thread)
      sum += maths.call<int64_t>("add", i, 1);
      d.set(i, i);
    }
    // The two loops alternate in kRounds slices, so that a busy neighbour
    // slows both alike: the ratio of the two is the point of W13.
    constexpr int kRounds = 10;
    double custom_s = 0, dict_s = 0;
    for (int r = 0; r < kRounds; ++r) {
      const int from = n / kRounds * r, to = n / kRounds * (r + 1);
      auto t = Clock::now();
      for (int i = from; i < to; ++i) sum += maths.call<int64_t>("add", i, 1);
      custom_s += Seconds(t);
      t = Clock::now();
      for (int i = from; i < to; ++i) d.set(i % 100, i);
      dict_s += Seconds(t);
    }
    n = n / kRounds * kRounds;
    Emit("W13", "custom_method_call", custom_s / n * 1e6, "us/op");
    Emit("W13", "dict_set_same_manager", dict_s / n * 1e6, "us/op");
    if (sum != 5050 + static_cast<int64_t>(n) * (n + 1) / 2) {
      std::cerr << "W13: wrong sums\n";
      std::exit(1);
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
}


constexpr char kUsage[] = R"(usage: mp_bench [--only W1,...,W13] [--scale S]
                [--transport auto|grpc|local]

mp's side of the benchmark workloads; prints JSON lines. Use bench/run.py
to run it beside Python's reference and print the comparison table.
--transport: how the private managers are reached (default auto, which is
the local transport); the _tcp and _tls variants of W1 are gRPC always.
)";

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  std::set<std::string> want = {"W1", "W2", "W3", "W4", "W5", "W6",
                                "W7", "W8", "W9", "W10", "W11", "W12",
                                "W13"};
  double scale = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--only" && i + 1 < argc) {
      want.clear();
      std::stringstream list(argv[++i]);
      for (std::string w; std::getline(list, w, ',');) want.insert(w);
    } else if (arg == "--transport" && i + 1 < argc) {
      g_transport_name = argv[++i];
      if (g_transport_name == "auto") {
        g_transport = mp::Transport::kAuto;
      } else if (g_transport_name == "grpc") {
        g_transport = mp::Transport::kGrpc;
      } else if (g_transport_name == "local") {
        g_transport = mp::Transport::kLocal;
      } else {
        std::cerr << "mp_bench: --transport takes auto, grpc or local\n";
        return 2;
      }
    } else if (arg == "--scale" && i + 1 < argc) {
      scale = std::atof(argv[++i]);
      if (scale <= 0) {
        std::cerr << "mp_bench: --scale must be positive\n";
        return 2;
      }
    } else {
      std::cerr << "mp_bench: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  auto k = [scale](int n) {
    return std::max(200, static_cast<int>(n * scale));
  };
  try {
    mp::Manager m(mp::ManagerOptions{.transport = g_transport});
    if (g_transport == mp::Transport::kAuto) g_transport_name = m.transport();
    if (want.count("W1")) {
      W1(m, k(20000));
      // TCP and TLS are gRPC whatever --transport says: measured once, in
      // the gRPC run.
      if (g_transport_name != "local") {
        mp::Manager tcp(mp::ManagerOptions{.address = "127.0.0.1:0"});
        W1(tcp, k(20000), "_tcp");
        W1Tls(k(20000));
      }
    }
    if (want.count("W2")) W2(m, k(10000));
    if (want.count("W3")) W3(m, k(5000));
    if (want.count("W4")) W4(m, k(5000));
    if (want.count("W5")) W5(m, k(100000));
    if (want.count("W6"))
      W6(m, std::max(1000, static_cast<int>(1000000 * scale)));
    if (want.count("W8")) {
      // A fresh manager: W8's RSS is about what 1000 parked waiters cost,
      // not about what W5/W6 left in the allocator (bench/README.md).
      mp::Manager fresh(mp::ManagerOptions{.transport = g_transport});
      W8(fresh, 1000);
      mp::Manager for_sessions(mp::ManagerOptions{.transport = g_transport});
      IdleSessions(for_sessions, 100);
    }
    if (want.count("W7")) W7(scale);
    if (want.count("W9")) W9(k(200000), k(1000000));
    if (want.count("W10")) W10(k(1000000));
    if (want.count("W11"))
      W11(std::max(1000, static_cast<int>(1000000 * scale)));
    if (want.count("W12")) W12(k(5000), k(50000));
    if (want.count("W13")) W13(k(20000));
  } catch (const mp::Error& e) {
    std::cerr << "mp_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
