// The floor under mp's one-round-trip workloads: what two processes on this
// machine pay to exchange a small message with nothing on top (no framing,
// no protobuf, no HTTP/2, no server logic). bench/run.py puts these numbers
// in the "floor" column beside W1, W2, W3, W12 and W13, so a row shows how
// far mp's per-call cost is above what the kernel alone costs.
//
// Prints JSON lines in mp_bench's format, "impl": "floor". Plain C++ and
// POSIX: needs none of mp's libraries.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <new>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

// About the size of a small mp.v1 request (a dict set of two small ints).
constexpr size_t kMessageBytes = 32;
// Each ping-pong stops after this long even if it has not done its round
// trips: on a busy 2-core machine a spinning peer can wait a whole
// scheduler slice per round trip, and a bench must not take minutes.
constexpr auto kBudget = std::chrono::seconds(3);

void Emit(const char* metric, double value) {
  std::printf(
      "{\"workload\": \"W1\", \"metric\": \"%s\", \"value\": %.3f, "
      "\"unit\": \"us/op\", \"impl\": \"floor\"}\n",
      metric, value);
  std::fflush(stdout);
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "mp_bench_floor: " << what << ": " << std::strerror(errno)
            << "\n";
  std::exit(1);
}

bool SendAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, buf, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    buf += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// How long a busy-polling reader tries non-blocking reads before it blocks:
// the default budget of mp's local transport (common/busy_poll.h), so the
// busy-poll round trip is the floor under mp local's round trips.
constexpr auto kBusyPollBudget = std::chrono::microseconds(50);

// recv() that first polls without blocking for up to kBusyPollBudget: on
// this VM most of a blocking round trip is the kernel putting the reader to
// sleep and waking it (docs/architecture.md), and a reader that is still
// running when the reply lands pays neither.
ssize_t PollThenRecv(int fd, char* buf, size_t n) {
  const auto give_up = Clock::now() + kBusyPollBudget;
  do {
    ssize_t k = recv(fd, buf, n, MSG_DONTWAIT);
    if (k >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return k;
  } while (Clock::now() < give_up);
  return recv(fd, buf, n, 0);
}

// False on EOF or error: the peer is gone, which is how the echo child
// learns the run is over.
bool RecvAll(int fd, char* buf, size_t n, bool busy_poll = false) {
  while (n > 0) {
    ssize_t k = busy_poll ? PollThenRecv(fd, buf, n) : recv(fd, buf, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    buf += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// The child never outlives the parent, even if the parent is killed by the
// caller's timeout before it could close the socket or raise the flag.
void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
}

// Pins the calling process to `cpu` (for the one-core variant).
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) Die("sched_setaffinity");
}

struct Timing {
  double mean_us;        // over all timed round trips
  double best_block_us;  // per round trip in the fastest block of kBlock
};
constexpr int kBlock = 256;

// Forks `child`, runs `one_round_trip` in the parent up to `n` times (or
// until kBudget), calls `finish` so the child can end, and returns the
// microseconds per round trip. `cpu` >= 0 pins both processes to it.
Timing Measure(int n, int cpu, const std::function<void()>& child,
               const std::function<void()>& one_round_trip,
               const std::function<void()>& finish) {
  const pid_t parent = getpid();
  cpu_set_t saved;
  if (cpu >= 0 && sched_getaffinity(0, sizeof(saved), &saved) != 0) {
    Die("sched_getaffinity");
  }
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    DieWithParent(parent);
    if (cpu >= 0) PinTo(cpu);
    child();
    _exit(0);
  }
  if (cpu >= 0) PinTo(cpu);
  for (int i = 0; i < 100; ++i) one_round_trip();  // warm up both sides
  const auto start = Clock::now();
  const auto deadline = start + kBudget;
  auto block_start = start;
  double best_block = 1e300;
  int done = 0;
  while (done < n) {
    one_round_trip();
    ++done;
    if (done % kBlock == 0) {
      const auto now = Clock::now();
      best_block = std::min(
          best_block, std::chrono::duration<double>(now - block_start).count());
      block_start = now;
      if (now > deadline) break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  finish();
  waitpid(pid, nullptr, 0);
  if (cpu >= 0) sched_setaffinity(0, sizeof(saved), &saved);
  if (done < n) {
    std::cerr << "mp_bench_floor: budget reached after " << done << " of " << n
              << " round trips\n";
  }
  if (done < kBlock) best_block = seconds / done * kBlock;
  return {seconds / done * 1e6, best_block / kBlock * 1e6};
}

// A ping-pong of kMessageBytes over a connected pair of sockets: the parent
// writes and waits for the echo; the child echoes until EOF. `busy_poll`
// makes both sides poll before they block, as mp's local transport does.
double SocketPingPong(int parent_fd, int child_fd, int n, int cpu = -1,
                      bool busy_poll = false) {
  auto echo = [&] {
    close(parent_fd);
    char buf[kMessageBytes];
    while (RecvAll(child_fd, buf, sizeof(buf), busy_poll) &&
           SendAll(child_fd, buf, sizeof(buf))) {
    }
  };
  char buf[kMessageBytes];
  std::memset(buf, 'x', sizeof(buf));
  auto round_trip = [&] {
    if (!SendAll(parent_fd, buf, sizeof(buf)) ||
        !RecvAll(parent_fd, buf, sizeof(buf), busy_poll)) {
      Die("ping-pong: peer gone");
    }
  };
  auto finish = [&] { close(parent_fd); };  // the child reads EOF and exits
  const Timing t = Measure(n, cpu, echo, round_trip, finish);
  close(child_fd);
  return t.mean_us;
}

double UnixSocket(int n, int cpu = -1, bool busy_poll = false) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) Die("socketpair");
  return SocketPingPong(fds[0], fds[1], n, cpu, busy_poll);
}

double TcpLoopback(int n) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("tcp listen");
  }
  int client = socket(AF_INET, SOCK_STREAM, 0);
  // A loopback connect to a listening socket completes from the backlog,
  // so both ends can be made here before the fork.
  if (client < 0 ||
      connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Die("tcp connect");
  }
  int server = accept(listener, nullptr, nullptr);
  if (server < 0) Die("accept");
  close(listener);
  // Small writes must leave at once, as gRPC and Python's managers set too.
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return SocketPingPong(client, server, n);
}

// Two processes bouncing a counter in a MAP_SHARED page: no syscall, no
// sleep, only the cache line moving between cores. The physical limit of a
// same-host round trip when the peer has a core to itself. Reported as the
// fastest block of kBlock round trips: the limit is what the hardware does
// when the scheduler leaves both processes alone, and on a shared 2-core box
// the mean mostly measures how often it did not.
double SharedMemorySpin(int n) {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) Die("mmap");
  // A lock-free atomic is address-free, so it works across processes.
  static_assert(std::atomic<uint32_t>::is_always_lock_free);
  auto* flag = new (page) std::atomic<uint32_t>(0);
  constexpr uint32_t kStop = UINT32_MAX;
  // Spins, then yields now and then: if both processes share one core (the
  // other is busy with someone else's build) a pure spin would burn a whole
  // scheduler slice per round trip; with a free core the answer comes long
  // before the first yield.
  auto wait_for = [flag](uint32_t want) {
    for (uint32_t spins = 1;; ++spins) {
      uint32_t seen = flag->load(std::memory_order_acquire);
      if (seen == want || seen == kStop) return seen;
      if (spins % 256 == 0) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  };
  auto echo = [&] {
    for (uint32_t want = 1;; want += 2) {
      if (wait_for(want) == kStop) return;
      flag->store(want + 1, std::memory_order_release);
    }
  };
  uint32_t seq = 0;
  auto round_trip = [&] {
    flag->store(seq + 1, std::memory_order_release);
    wait_for(seq + 2);
    seq += 2;
  };
  auto finish = [&] { flag->store(kStop, std::memory_order_release); };
  const Timing t = Measure(n, -1, echo, round_trip, finish);
  munmap(page, 4096);
  return t.best_block_us;
}

constexpr char kUsage[] =
    R"(usage: mp_bench_floor [--scale S] [--timeout SECONDS]

The floor for mp's round-trip workloads: a 32-byte ping-pong between two
processes (fork) over a unix socketpair (with blocking reads, and with reads
that poll for 50 us before they block, as mp's local transport does), the same
pinned to one CPU, over TCP loopback, and a spin on an atomic in shared memory. Prints JSON lines
({"workload": "W1", "metric": ..., "unit": "us/op", "value": ...,
"impl": "floor"}); bench/run.py runs it beside mp and Python.

  --scale S          multiply the round-trip counts (default 1.0)
  --timeout SECONDS  kill the whole run after this long (default 60)
)";

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  int timeout = 60;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--scale" && i + 1 < argc) {
      scale = std::atof(argv[++i]);
    } else if (arg == "--timeout" && i + 1 < argc) {
      timeout = std::atoi(argv[++i]);
    } else {
      std::cerr << "mp_bench_floor: unknown argument '" << arg << "'\n"
                << kUsage;
      return 2;
    }
  }
  if (scale <= 0 || timeout <= 0) {
    std::cerr << "mp_bench_floor: --scale and --timeout must be positive\n";
    return 2;
  }
  // SIGALRM's default action ends the process; the children follow through
  // PR_SET_PDEATHSIG. Nothing here can hang past the timeout.
  alarm(static_cast<unsigned>(timeout));
  auto k = [scale](int n) {
    return std::max(200, static_cast<int>(n * scale));
  };
  Emit("roundtrip_unix_socket", UnixSocket(k(20000)));
  // Polling needs a second CPU: on one, the spinning reader only delays the
  // writer it waits for, and mp's local transport does not poll there.
  if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
    Emit("roundtrip_unix_socket_busy_poll",
         UnixSocket(k(20000), -1, /*busy_poll=*/true));
  }
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &allowed)) ++first;
    if (first < CPU_SETSIZE) {
      Emit("roundtrip_unix_socket_one_core", UnixSocket(k(20000), first));
    }
  }
  Emit("roundtrip_tcp_loopback", TcpLoopback(k(20000)));
  Emit("roundtrip_shm_spin", SharedMemorySpin(k(200000)));
  return 0;
}
