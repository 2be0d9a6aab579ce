// A Jepsen-style test: client processes do random operations on a Lock
// (whose fencing tokens guard a register), a Queue of unique items and a
// counter Value, while a nemesis SIGKILLs and SIGSTOPs them under a short
// lease. Every operation is recorded with its invoke and completion time
// (tests/history/history.h) and the checkers then decide whether a correct
// server could have produced the history. The Checker* tests show that
// each checker catches the bug it exists for.
//
// MP_HISTORY_SECONDS sets how long the nemesis runs (default 20).
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/history/history.h"

namespace mp::history {
namespace {

using namespace std::chrono_literals;

constexpr int kClients = 7;
constexpr auto kLease = 1000ms;  // mp-manager's minimum
// Exit codes of a client process.
constexpr int kExitStopped = 0;     // told to stop
constexpr int kExitSessionLost = 3; // its session ended (lease lost)
constexpr int kExitUnexpected = 4;  // anything else: the test fails

// The resource the Lock protects: it remembers the newest fencing token it
// accepted and refuses older ones. It lives in the shared mapping; its
// mutex is robust because clients are SIGKILLed inside it.
struct GuardedRegister {
  pthread_mutex_t mutex;
  int64_t newest_token = 0;
  int64_t accepted = 0;

  void Init() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&mutex, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  // {accepted, acceptance number}.
  std::pair<bool, int64_t> Write(int64_t token) {
    if (pthread_mutex_lock(&mutex) == EOWNERDEAD) {
      pthread_mutex_consistent(&mutex);
    }
    bool ok = token >= newest_token;
    int64_t number = 0;
    if (ok) {
      newest_token = token;
      number = ++accepted;
    }
    pthread_mutex_unlock(&mutex);
    return {ok, number};
  }
};

struct Shared {
  std::atomic<int32_t> stop{0};
  std::atomic<int32_t> counter_ops{0};
  GuardedRegister reg;
  OpLog log;
};

int HistorySeconds() {
  const char* s = std::getenv("MP_HISTORY_SECONDS");
  int n = s ? std::atoi(s) : 0;
  return n > 0 ? n : 20;
}

[[noreturn]] void RunClient(Shared* shared, int32_t id, LockProxy lock,
                            QueueProxy queue, ValueProxy<int64_t> counter) {
  std::mt19937_64 rng(static_cast<uint64_t>(id) * 7919 + getpid());
  int64_t next_item = 0;
  int64_t last_seen = 0;
  OpLog& log = shared->log;
  int64_t slot = -1;
  try {
    while (shared->stop.load() == 0) {
      int dice = static_cast<int>(rng() % 100);
      if (dice < 35) {
        slot = log.Invoke(id, OpKind::kAcquire, 0);
        AcquireResult a = lock.acquire_ex(true, 2s);
        if (!a.acquired) {
          log.Complete(slot, OpStatus::kFailed, 0);
          continue;
        }
        log.Complete(slot, OpStatus::kOk,
                     static_cast<int64_t>(a.fencing_token));
        const auto token = static_cast<int64_t>(a.fencing_token);
        // Work under the lock, long enough for the nemesis to pause some
        // holders here and let their lease run out.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        slot = log.Invoke(id, OpKind::kRegisterWrite, token);
        auto [accepted, number] = shared->reg.Write(token);
        log.Complete(slot, OpStatus::kOk, accepted ? 1 : 0, number);
        slot = -1;
        lock.release();
      } else if (dice >= 37) {
        if (rng() % 2 == 0) {
          int64_t item = (int64_t{id} << 32) | next_item++;
          slot = log.Invoke(id, OpKind::kQueuePut, item);
          queue.put(item, true, 2s);
          log.Complete(slot, OpStatus::kOk, 0);
        } else {
          slot = log.Invoke(id, OpKind::kQueueGet, 0);
          try {
            Object item = queue.get(true, 50ms);
            log.Complete(slot, OpStatus::kOk, item.as_int());
          } catch (const Empty&) {
            log.Complete(slot, OpStatus::kFailed, 0);
          }
        }
      } else if (shared->counter_ops.fetch_add(1) < kMaxCounterOps - 40) {
        // 2% of the operations, so the counter's few hundred (what the
        // linearizability search handles quickly) span the whole run.
        int kind = static_cast<int>(rng() % 3);
        if (kind == 0) {
          int64_t delta = 1 + static_cast<int64_t>(rng() % 3);
          slot = log.Invoke(id, OpKind::kCounterFetchAdd, delta);
          last_seen = counter.fetch_add(delta);
          log.Complete(slot, OpStatus::kOk, last_seen);
        } else if (kind == 1) {
          slot = log.Invoke(id, OpKind::kCounterCas, last_seen,
                            last_seen + 10);
          bool swapped = counter.compare_exchange(last_seen, last_seen + 10);
          log.Complete(slot, OpStatus::kOk, swapped ? 1 : 0);
        } else {
          slot = log.Invoke(id, OpKind::kCounterRead, 0);
          last_seen = counter.get();
          log.Complete(slot, OpStatus::kOk, last_seen);
        }
      }
      slot = -1;
    }
  } catch (const ConnectionError&) {
    // The operation in flight stays pending: its effect is unknown.
    _exit(kExitSessionLost);
  } catch (const std::exception& e) {
    fprintf(stderr, "client %d: unexpected %s\n", id, e.what());
    _exit(kExitUnexpected);
  }
  _exit(kExitStopped);
}

class HistoryTest : public ::testing::Test {};

TEST_F(HistoryTest, LockQueueAndCounterUnderKillsAndPauses) {
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* shared = new (mem) Shared();
  shared->reg.Init();

  ManagerOptions options;
  options.lease_timeout = kLease;
  Manager m(options);
  LockProxy lock = m.Lock();
  QueueProxy queue = m.Queue();
  ValueProxy<int64_t> counter = m.Value<int64_t>(0);

  int32_t next_id = 0;
  auto spawn = [&]() -> pid_t {
    int32_t id = next_id++;
    pid_t pid = fork();
    if (pid == 0) RunClient(shared, id, lock, queue, counter);
    return pid;
  };
  std::vector<pid_t> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(spawn());

  int kills = 0, pauses = 0, sessions_lost = 0, unexpected = 0;
  auto account = [&](int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitSessionLost) {
      ++sessions_lost;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != kExitStopped) {
      ++unexpected;
    }
  };
  const auto seed = static_cast<uint32_t>(MonotonicNanos());
  fprintf(stderr, "history: nemesis seed %u\n", seed);
  std::mt19937 rng(seed);
  int round = 0;
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::seconds(HistorySeconds());
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < end) {
    // The nemesis's schedule: one fault every 100-400 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    // Replace clients that ended on their own (their session was lost).
    for (pid_t& pid : clients) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        account(status);
        pid = spawn();
      }
    }
    pid_t& victim = clients[rng() % clients.size()];
    if (round++ % 2 == 0) {
      kill(victim, SIGKILL);
      int status = 0;
      waitpid(victim, &status, 0);
      ++kills;
      victim = spawn();
    } else {
      kill(victim, SIGSTOP);
      // Past the lease, so the server ends the paused client's session.
      std::this_thread::sleep_for(kLease + 200ms);
      kill(victim, SIGCONT);
      ++pauses;
    }
    if (std::chrono::steady_clock::now() - last_progress > 5s) {
      last_progress = std::chrono::steady_clock::now();
      fprintf(stderr, "history: %lld ops, %d kills, %d pauses\n",
              static_cast<long long>(shared->log.next.load()), kills, pauses);
    }
  }
  shared->stop.store(1);
  for (pid_t pid : clients) {
    kill(pid, SIGCONT);
    int status = 0;
    // A client blocks at most 2 s in a call; give it 15 s, then kill it.
    const auto give_up = std::chrono::steady_clock::now() + 15s;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "client " << pid << " did not stop";
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    account(status);
  }
  // Every client session is gone (so the items in their hands are back in
  // the queue) once the server counts only ours.
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (m.stats().as_dict().find("sessions")->as_int() > 1 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
  }
  for (;;) {
    int64_t slot = shared->log.Invoke(-1, OpKind::kQueueGet, 0);
    try {
      Object item = queue.get_nowait();
      shared->log.Complete(slot, OpStatus::kOk, item.as_int());
    } catch (const Empty&) {
      shared->log.Complete(slot, OpStatus::kFailed, 0);
      break;
    }
  }

  std::vector<Op> ops = shared->log.Snapshot();
  fprintf(stderr,
          "history: %zu operations, %d kills, %d pauses, %d sessions lost\n",
          ops.size(), kills, pauses, sessions_lost);
  EXPECT_EQ(unexpected, 0) << "clients ended with an unexpected error";
  EXPECT_GT(kills, 0);
  EXPECT_GT(pauses, 0);
  ASSERT_LT(shared->log.next.load(), OpLog::kCapacity) << "the log overflowed";

  CheckResult fencing = CheckFencing(ops);
  EXPECT_TRUE(fencing.ok) << fencing.explanation;
  fprintf(stderr, "fencing: %s\n", fencing.explanation.c_str());
  CheckResult queue_check = CheckQueue(ops);
  EXPECT_TRUE(queue_check.ok) << queue_check.explanation;
  fprintf(stderr, "queue: %s\n", queue_check.explanation.c_str());
  CheckResult counter_check = CheckCounterLinearizable(ops, 0);
  EXPECT_TRUE(counter_check.ok) << counter_check.explanation;
  fprintf(stderr, "counter: %s\n", counter_check.explanation.c_str());

  shared->~Shared();
  munmap(mem, sizeof(Shared));
}

// --- The checkers catch what they exist for -------------------------------

Op MakeOp(int32_t process, OpKind kind, int64_t arg, int64_t result,
          int64_t invoke, int64_t complete,
          OpStatus status = OpStatus::kOk, int64_t aux = 0) {
  Op op;
  op.process = process;
  op.kind = kind;
  op.arg = arg;
  op.aux = aux;
  op.result = result;
  op.invoke_ns = invoke;
  op.complete_ns = complete;
  op.status = status;
  return op;
}

TEST(HistoryCheckerTest, FencingCatchesAStaleWriteAccepted) {
  std::vector<Op> good = {
      MakeOp(1, OpKind::kAcquire, 0, 1, 0, 10),
      MakeOp(1, OpKind::kRegisterWrite, 1, 1, 11, 12, OpStatus::kOk, 1),
      MakeOp(2, OpKind::kAcquire, 0, 2, 20, 30),
      MakeOp(2, OpKind::kRegisterWrite, 2, 1, 31, 32, OpStatus::kOk, 2),
      // Process 1 was paused past its lease and writes late: refused.
      MakeOp(1, OpKind::kRegisterWrite, 1, 0, 40, 41, OpStatus::kOk, 0),
  };
  EXPECT_TRUE(CheckFencing(good).ok) << CheckFencing(good).explanation;
  std::vector<Op> bad = good;
  bad[4] = MakeOp(1, OpKind::kRegisterWrite, 1, 1, 40, 41, OpStatus::kOk, 3);
  CheckResult r = CheckFencing(bad);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("token 1"), std::string::npos)
      << r.explanation;
}

TEST(HistoryCheckerTest, FencingCatchesAReusedOrOlderToken) {
  std::vector<Op> reused = {
      MakeOp(1, OpKind::kAcquire, 0, 5, 0, 10),
      MakeOp(2, OpKind::kAcquire, 0, 5, 20, 30),
  };
  EXPECT_FALSE(CheckFencing(reused).ok);
  std::vector<Op> older = {
      MakeOp(1, OpKind::kAcquire, 0, 5, 0, 10),
      MakeOp(2, OpKind::kAcquire, 0, 4, 20, 30),  // began after 5 was given
  };
  EXPECT_FALSE(CheckFencing(older).ok);
  std::vector<Op> overlapping = {
      MakeOp(1, OpKind::kAcquire, 0, 5, 0, 30),
      MakeOp(2, OpKind::kAcquire, 0, 4, 10, 20),  // concurrent: either order
  };
  EXPECT_TRUE(CheckFencing(overlapping).ok);
}

TEST(HistoryCheckerTest, QueueCatchesDuplicatesLossesAndInventions) {
  std::vector<Op> good = {
      MakeOp(1, OpKind::kQueuePut, 7, 0, 0, 1),
      MakeOp(1, OpKind::kQueuePut, 8, 0, 2, 3),
      MakeOp(2, OpKind::kQueueGet, 0, 7, 4, 5),
      // Killed while getting: 8 may have been in its hands.
      MakeOp(3, OpKind::kQueueGet, 0, 0, 6, 0, OpStatus::kPending),
  };
  EXPECT_TRUE(CheckQueue(good).ok) << CheckQueue(good).explanation;

  std::vector<Op> duplicate = good;
  duplicate.push_back(MakeOp(4, OpKind::kQueueGet, 0, 7, 8, 9));
  EXPECT_FALSE(CheckQueue(duplicate).ok);

  std::vector<Op> lost = good;
  lost.pop_back();  // no interrupted get can explain 8's absence
  CheckResult r = CheckQueue(lost);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("never got"), std::string::npos)
      << r.explanation;

  std::vector<Op> invented = good;
  invented.push_back(MakeOp(4, OpKind::kQueueGet, 0, 99, 8, 9));
  EXPECT_FALSE(CheckQueue(invented).ok);
}

TEST(HistoryCheckerTest, CounterAcceptsConcurrentOrdersAndPendingOps) {
  std::vector<Op> ops = {
      // Concurrent: 2 went first, then 1.
      MakeOp(1, OpKind::kCounterFetchAdd, 1, 2, 0, 10),
      MakeOp(2, OpKind::kCounterFetchAdd, 2, 0, 1, 9),
      // A killed process's add, which did happen (the read sees it).
      MakeOp(3, OpKind::kCounterFetchAdd, 5, 0, 11, 0, OpStatus::kPending),
      MakeOp(1, OpKind::kCounterRead, 0, 8, 20, 21),
      MakeOp(2, OpKind::kCounterCas, 8, 1, 30, 31, OpStatus::kOk, 18),
      MakeOp(1, OpKind::kCounterCas, 8, 0, 40, 41, OpStatus::kOk, 18),
      MakeOp(1, OpKind::kCounterRead, 0, 18, 50, 51),
  };
  CheckResult r = CheckCounterLinearizable(ops, 0);
  EXPECT_TRUE(r.ok) << r.explanation;
}

TEST(HistoryCheckerTest, CounterCatchesALostUpdate) {
  // Two fetch_adds one after the other both saw 0: the second lost the
  // first's update (Python's d[k] += 1 under concurrency).
  std::vector<Op> ops = {
      MakeOp(1, OpKind::kCounterFetchAdd, 1, 0, 0, 10),
      MakeOp(2, OpKind::kCounterFetchAdd, 1, 0, 20, 30),
  };
  CheckResult r = CheckCounterLinearizable(ops, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("not linearizable"), std::string::npos)
      << r.explanation;
  // Overlapping in time, the same results are still impossible.
  ops[1].invoke_ns = 5;
  EXPECT_FALSE(CheckCounterLinearizable(ops, 0).ok);
}

TEST(HistoryCheckerTest, CounterCatchesAStaleRead) {
  std::vector<Op> ops = {
      MakeOp(1, OpKind::kCounterFetchAdd, 3, 0, 0, 10),
      MakeOp(2, OpKind::kCounterRead, 0, 0, 20, 30),  // after the add: 0?
  };
  EXPECT_FALSE(CheckCounterLinearizable(ops, 0).ok);
  ops[1].invoke_ns = 5;  // concurrent with the add: 0 is fine
  EXPECT_TRUE(CheckCounterLinearizable(ops, 0).ok);
}

}  // namespace
}  // namespace mp::history
