// 8 producers and 8 consumers move 200k unique integers through one Queue
// while 2 consumers are SIGKILLed at random moments. Real processes, one
// real manager.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp {
namespace {

using namespace std::chrono_literals;

constexpr int kProducers = 8;
constexpr int kConsumers = 8;
constexpr int kPerProducer = 25000;
constexpr int kItems = kProducers * kPerProducer;
constexpr int kBatch = 16;

// Shared with the children (MAP_SHARED, set up before fork): how often
// each item was received, and per consumer how many items it currently
// holds between get_many() returning and recording them.
struct Ledger {
  std::atomic<int32_t> received[kItems];
  // Items a consumer got back from get_many and has not recorded yet.
  std::atomic<int32_t> hand_count[kConsumers];
  std::atomic<int64_t> hand[kConsumers][kBatch];
  std::atomic<int64_t> total_received;
  // 1 while a consumer is inside get_many: a batch can be received (and
  // acknowledged by the client library) before the consumer can note it.
  std::atomic<int32_t> in_get[kConsumers];
  std::atomic<int64_t> acknowledged_puts;
};

class QueueFaultTest : public testing::ManagerTest {};

TEST_F(QueueFaultTest, ProducersConsumersAndKilledConsumers) {
  // Raw fork()s of a process whose gRPC channel is live: under load about
  // one run in 15 leaves children deadlocked inside gRPC 1.51's fork
  // support (gdb: every stuck child in Chttp2Connector::OnHandshakeDone,
  // blocked on an absl::Mutex a parent thread held at fork), so the parent
  // waits in waitpid until ctest's timeout. Not mp's code; the local
  // transport, which same-host clients use, runs the test.
  if (m().transport() == "grpc") {
    GTEST_SKIP() << "raw fork() of a live gRPC client deadlocks in gRPC "
                    "1.51's fork support under load (see the comment)";
  }
  void* mem = mmap(nullptr, sizeof(Ledger), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* ledger = new (mem) Ledger();
  QueueProxy q = m().Queue(10000);
  EventProxy done = m().Event();

  std::vector<pid_t> producers, consumers;
  for (int p = 0; p < kProducers; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<Object> batch;
      for (int i = 0; i < kPerProducer; ++i) {
        batch.push_back(p * kPerProducer + i);
        if (batch.size() == 500 || i + 1 == kPerProducer) {
          q.put_many(batch, true, 60s);  // returning = acknowledged
          ledger->acknowledged_puts += batch.size();
          batch.clear();
        }
      }
      _exit(0);
    }
    producers.push_back(pid);
  }
  for (int c = 0; c < kConsumers; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) {
        std::vector<Object> got;
        try {
          ledger->in_get[c] = 1;
          got = q.get_many(kBatch, true, 100ms);
        } catch (const Empty&) {
          ledger->in_get[c] = 0;
          if (done.is_set()) _exit(0);
          continue;
        }
        for (size_t i = 0; i < got.size(); ++i) {
          ledger->hand[c][i] = got[i].as_int();
        }
        ledger->hand_count[c] = static_cast<int32_t>(got.size());
        ledger->in_get[c] = 0;
        for (const Object& item : got) ++ledger->received[item.as_int()];
        ledger->total_received += got.size();
        ledger->hand_count[c] = 0;
      }
    }
    consumers.push_back(pid);
  }

  // Kill two consumers at random moments while items flow: each when a
  // random share of the items has been received.
  std::mt19937 rng(std::random_device{}());
  std::set<int64_t> held_by_killed;
  int killed_while_receiving = 0;
  for (int k = 0; k < 2; ++k) {
    const int64_t at = std::uniform_int_distribution<int64_t>(
        kItems / 10, kItems * 8 / 10)(rng);
    while (ledger->total_received < at) std::this_thread::sleep_for(100us);
    kill(consumers[k], SIGKILL);
    waitpid(consumers[k], nullptr, 0);
    killed_while_receiving += ledger->in_get[k].load();
    for (int i = 0; i < ledger->hand_count[k]; ++i) {
      held_by_killed.insert(ledger->hand[k][i]);
    }
  }
  for (pid_t pid : producers) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(ledger->acknowledged_puts.load(), kItems);
  done.set();
  for (int c = 2; c < kConsumers; ++c) {
    int status = 0;
    waitpid(consumers[c], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Drain what is left (nothing should be).
  for (;;) {
    std::vector<Object> rest;
    try {
      rest = q.get_many(1000, false);
    } catch (const Empty&) {
      break;
    }
    for (const Object& item : rest) ++ledger->received[item.as_int()];
  }

  // Every item received exactly once, except items a killed consumer held
  // in its own hands when it died: those noted in its hand (returned from
  // get_many, not yet recorded) and, if it died inside get_many, at most
  // one batch its client library had received and acknowledged but not yet
  // returned. The manager lost nothing: unacknowledged items came back.
  int missing_elsewhere = 0, duplicated = 0;
  for (int i = 0; i < kItems; ++i) {
    int n = ledger->received[i].load();
    if (n == 0 && !held_by_killed.count(i)) ++missing_elsewhere;
    if (n > 1) ++duplicated;
  }
  EXPECT_EQ(duplicated, 0);
  EXPECT_LE(missing_elsewhere, killed_while_receiving * kBatch);
  munmap(mem, sizeof(Ledger));
}

}  // namespace
}  // namespace mp
