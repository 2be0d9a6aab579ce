// job_client: the client of the multi-host demo. It puts jobs on the named
// JoinableQueue "jobs" of a running mp-manager, waits until workers on
// other hosts (job_worker) have done them all, checks every result and
// prints an exact summary.
//
// Job j is the sum of the squares of [j*K, (j+1)*K) (K = --job-size), so
// each result and the total have a closed form to check against.
//
// ---- Why no job is lost when a worker dies --------------------------------
// A queue item is gone from the queue once a worker has received it, so a
// worker killed while computing takes its job with it, and the JoinableQueue
// never reaches zero. The demo repairs that with a small protocol on four
// more named objects:
//
//   "take"       Lock.  A worker holds it around `get` + recording its claim,
//                and nowhere else, so whoever holds it sees no worker
//                between receiving a job and recording it.
//   "claims"     dict job -> worker id, written under "take" right after
//                `get`, erased after task_done().
//   "worker/ID"  Lock each worker acquires at start and holds for its life.
//                The manager gives a dead process's locks back at once (its
//                session ends), so "can I acquire it?" == "is ID dead?".
//   "finished_runs"  Value the client adds 1 to at the end: workers exit.
//
// A worker does, in this order:
//   [take] get job j; claims[j] = me [/take]; compute;
//   results[j] = value; jobs.task_done(); del claims[j]
// so "no result for j" implies "task_done() not yet called for j".
//
// While waiting, the client calls jobs.join(short timeout) in a loop; after
// each timeout it reconciles, holding "take", and only when the queue is
// empty (so every job was received by someone):
//   1. It reads claims, then results (that order matters: a claim seen
//      absent means any result written before its erasure is visible).
//   2. A job with no result whose claim is absent or belongs to a dead
//      worker was received by a worker that died before finishing it (live
//      workers cannot be between get and claim: we hold "take"). The client
//      puts it again and calls task_done() once for the lost take. The
//      lost take never called task_done() (no result, see the order above),
//      so the count stays exact.
//   3. When every job has a result, the queue is empty and no claim belongs
//      to a live worker, nobody can call task_done() any more; what still
//      keeps join() from returning are workers that died between writing a
//      result and task_done(). The client calls task_done() until join(0)
//      is true (at most once per dead claim).
// Results are keyed by job, so a job done twice is still counted once, and
// every value is checked against its closed form before printing.
//
// What this relies on from the manager: a worker's session ends when its
// process dies (at once) or its host stops answering (--lease-timeout-ms);
// an item it received but never acknowledged goes back to the head of the
// queue before its locks are freed, so "queue empty" under "take" is the
// truth; and a worker whose session ended while it still runs only gets
// ConnectionError afterwards, so it cannot finish a job already given to
// another worker.
//
// Limits: one client at a time per manager; the client itself must not die
// (nobody else re-queues; restart the manager after a client died).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "demo_common.h"
#include "mp/mp.h"

namespace {

constexpr char kProgram[] = "job_client";

constexpr char kUsage[] = R"(usage: job_client [options]

The client of the multi-host demo: puts --jobs jobs on the manager's named
JoinableQueue "jobs", waits until job_worker processes (on any hosts) have
done them, checks every result in the named dict "results" and prints

  results: N jobs, total = T
  check: all N results exact

Job j sums the squares of [j*K, (j+1)*K), K = --job-size. Jobs held by a
worker that dies are put back and done by another worker. Exit status 0 when
every result is exact, 1 on a wrong or missing result, a timeout or a
connection error, 2 for bad usage.

)" /* demo::kConnectHelp follows */;

constexpr char kUsageTail[] =
    R"(  --jobs N                  number of jobs (default 100)
  --job-size K              numbers per job (default 10000); jobs * K must
                            not exceed 2000000
  --timeout SECS            give up waiting for the workers after SECS
                            (default 300); exit status 1
  --check-interval-ms MS    how often to look for jobs of dead workers while
                            waiting (default 1000)
  --keep-workers            do not tell the workers to exit at the end
                            (they keep waiting for the next run's jobs)
  --ping                    only connect, print the manager's pid and exit
                            0 (a container healthcheck)
  --help                    this text

Environment: MP_MANAGER_ADDRESS, MP_AUTHKEY or MP_AUTHKEY_FILE, MP_TLS_CA,
MP_TLS_CERT, MP_TLS_KEY, MP_TLS_SERVER_NAME (see above).
)";

struct Options {
  demo::ConnectOptions connect;
  int64_t jobs = 100;
  int64_t job_size = 10000;
  int64_t timeout_s = 300;
  int64_t check_interval_ms = 1000;
  bool keep_workers = false;
  bool ping = false;
};

Options ParseFlags(int argc, char** argv) {
  Options o;
  demo::Flags flags(kProgram, argc, argv);
  while (flags.Next()) {
    const std::string& arg = flags.arg();
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage << demo::kConnectHelp << kUsageTail;
      std::exit(0);
    } else if (demo::ParseConnectFlag(flags, &o.connect)) {
    } else if (arg == "--jobs") {
      o.jobs = flags.Int(1, 100000);
    } else if (arg == "--job-size") {
      o.job_size = flags.Int(1, demo::kMaxNumbers);
    } else if (arg == "--timeout") {
      o.timeout_s = flags.Int(1, 86400);
    } else if (arg == "--check-interval-ms") {
      o.check_interval_ms = flags.Int(10, 60000);
    } else if (arg == "--keep-workers") {
      o.keep_workers = true;
    } else if (arg == "--ping") {
      o.ping = true;
    } else {
      flags.Unknown();
    }
  }
  if (o.jobs * o.job_size > demo::kMaxNumbers) {
    demo::UsageError(kProgram, "--jobs * --job-size must not exceed " +
                                   std::to_string(demo::kMaxNumbers));
  }
  return o;
}

// The client's side of the protocol described at the top of this file.
class Reconciler {
 public:
  Reconciler(const mp::Manager& m, const Options& o)
      : m_(m),
        o_(o),
        jobs_(m.named(demo::kJobsName).JoinableQueue()),
        results_(m.named(demo::kResultsName).dict()),
        claims_(m.named(demo::kClaimsName).dict()),
        take_(m.named(demo::kTakeLockName).Lock()) {}

  // One pass; returns false when the manager is in a state the protocol
  // cannot explain (a message went to stderr).
  bool Run() {
    // Workers hold the lock only around one get (<= 0.25 s) and one dict
    // write, and it is handed out in FIFO order; not getting it in time
    // (hundreds of idle workers) just means "next round".
    if (!take_.acquire(true, std::chrono::seconds(30))) return true;
    struct Release {
      const mp::LockProxy& lock;
      ~Release() { lock.release(); }
    } release{take_};
    if (jobs_.qsize() > 0) return true;  // not drained yet: jobs still flowing

    // Claims first, then results (see the top of this file).
    std::map<int64_t, std::string> claims;
    for (const auto& [job, owner] : claims_.items()) {
      claims[job.as<int64_t>()] = owner.as<std::string>();
    }
    std::map<int64_t, bool> has_result;
    for (const mp::Object& job : results_.keys()) {
      has_result[job.as<int64_t>()] = true;
    }

    bool live_claims = false;
    std::vector<int64_t> dead_finished;  // dead holder, result present
    for (int64_t j = 0; j < o_.jobs; ++j) {
      auto claim = claims.find(j);
      const bool claimed = claim != claims.end();
      if (claimed && Alive(claim->second)) {
        live_claims = true;
        continue;
      }
      if (has_result.count(j)) {
        if (claimed) dead_finished.push_back(j);
        continue;
      }
      // Received by a worker that died before writing the result.
      std::cerr << kProgram << ": job " << j << " was held by "
                << (claimed ? claim->second : "a worker") << " which is gone;"
                << " putting it back\n";
      if (claimed) claims_.pop(j, mp::None);
      jobs_.put(demo::JobItem(j, o_.job_size));
      jobs_.task_done();  // for the take that will never finish
      ++requeued_;
    }

    if (!live_claims && has_result.size() == static_cast<size_t>(o_.jobs)) {
      // Everyone who could still call task_done() is dead: balance the
      // task_done() calls they did not get to make.
      size_t calls = 0;
      while (!jobs_.join(std::chrono::seconds(0)) &&
             calls < dead_finished.size()) {
        jobs_.task_done();
        ++calls;
      }
      if (calls > 0) {
        std::cerr << kProgram << ": called task_done() " << calls
                  << " time(s) for workers that died after writing a result\n";
      }
      for (int64_t j : dead_finished) claims_.pop(j, mp::None);
      if (!jobs_.join(std::chrono::seconds(0))) {
        std::cerr << kProgram << ": every job has a result and no worker is "
                  << "busy, but the queue still counts unfinished tasks: "
                  << "another client on this manager?\n";
        return false;
      }
    }
    return true;
  }

  int64_t requeued() const { return requeued_; }

 private:
  // A worker's liveness Lock can be acquired only once its session ended.
  bool Alive(const std::string& id) {
    auto it = worker_locks_.find(id);
    if (it == worker_locks_.end()) {
      it = worker_locks_
               .emplace(id, m_.named(demo::kWorkerLockPrefix + id).Lock())
               .first;
    }
    if (!it->second.acquire(false)) return true;
    it->second.release();
    return false;
  }

  const mp::Manager& m_;
  const Options& o_;
  mp::JoinableQueueProxy jobs_;
  mp::DictProxy results_;
  mp::DictProxy claims_;
  mp::LockProxy take_;
  std::map<std::string, mp::LockProxy> worker_locks_;
  int64_t requeued_ = 0;
};

int Ping(const Options& o) {
  mp::Manager m = demo::Connect(kProgram, o.connect);
  mp::Object stats = m.stats();
  std::cout << "manager at " << m.address() << " is up: " << stats << "\n";
  return 0;
}

int RunClient(const Options& o) {
  mp::Manager m = demo::Connect(kProgram, o.connect);
  auto jobs = m.named(demo::kJobsName).JoinableQueue();
  auto results = m.named(demo::kResultsName).dict();
  auto claims = m.named(demo::kClaimsName).dict();
  auto finished_runs = m.named(demo::kFinishedRunsName).Value<int64_t>(0);

  if (jobs.qsize() != 0 || !jobs.join(std::chrono::seconds(0))) {
    std::cerr << kProgram << ": the queue \"jobs\" on " << m.address()
              << " holds work of an earlier or concurrent run; restart "
              << "mp-manager first\n";
    return 1;
  }
  results.clear();
  claims.clear();

  std::vector<mp::Object> items;
  items.reserve(o.jobs);
  for (int64_t j = 0; j < o.jobs; ++j) {
    items.push_back(demo::JobItem(j, o.job_size));
  }
  jobs.put_many(items, true, std::chrono::seconds(60));
  std::cerr << kProgram << ": put " << o.jobs << " jobs on " << m.address()
            << "\n";

  Reconciler reconciler(m, o);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  const auto interval = std::chrono::milliseconds(o.check_interval_ms);
  while (true) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      std::cerr << kProgram << ": timed out after " << o.timeout_s
                << " s: " << results.size() << " of " << o.jobs
                << " results in, " << jobs.qsize()
                << " jobs not taken; are workers running?\n";
      return 1;
    }
    const auto wait = std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  interval));
    if (jobs.join(wait)) break;
    if (!reconciler.Run()) return 1;
  }

  // Check every result against its closed form.
  std::map<int64_t, int64_t> got;
  for (const auto& [job, value] : results.items()) {
    got[job.as<int64_t>()] = value.as<int64_t>();
  }
  int64_t total = 0;
  int64_t wrong = 0;
  for (int64_t j = 0; j < o.jobs; ++j) {
    auto it = got.find(j);
    const int64_t expected = demo::ExpectedResult(j, o.job_size);
    if (it == got.end()) {
      std::cerr << kProgram << ": job " << j << " has no result\n";
      ++wrong;
    } else if (it->second != expected) {
      std::cerr << kProgram << ": job " << j << " = " << it->second
                << ", expected " << expected << "\n";
      ++wrong;
    } else {
      total += it->second;
    }
  }
  if (got.size() != static_cast<size_t>(o.jobs)) {
    std::cerr << kProgram << ": " << got.size() << " results for " << o.jobs
              << " jobs\n";
    ++wrong;
  }
  if (reconciler.requeued() > 0) {
    std::cerr << kProgram << ": " << reconciler.requeued()
              << " job(s) of dead workers were done again\n";
  }
  if (wrong == 0 && total != demo::SumSquaresBelow(o.jobs * o.job_size)) {
    std::cerr << kProgram << ": total " << total << " != closed form "
              << demo::SumSquaresBelow(o.jobs * o.job_size) << "\n";
    ++wrong;
  }
  if (wrong == 0) {
    std::cout << "results: " << o.jobs << " jobs, total = " << total << "\n"
              << "check: all " << o.jobs << " results exact" << std::endl;
  }
  // Last, after the summary is out: workers exit when they see this, and
  // `docker-compose up --abort-on-container-exit` stops everything then.
  if (!o.keep_workers) finished_runs.fetch_add(1);
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const Options options = ParseFlags(argc, argv);
  return demo::RunMain(kProgram, [&] {
    return options.ping ? Ping(options) : RunClient(options);
  });
}
