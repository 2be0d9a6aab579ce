// job_worker: a worker of the multi-host demo. It takes jobs from the
// manager's named JoinableQueue "jobs", computes each with a local
// mp::Pool, writes the value into the named dict "results" and marks the
// job done. It follows the protocol described at the top of job_client.cc,
// which lets the client redo the job of a worker that dies.
//
// Progress goes to stdout, one line per event (the integration test reads
// them):
//   NAME: took job J
//   NAME: done job J
//   NAME: stalling while holding job J      (--stall-after only)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "demo_common.h"
#include "mp/mp.h"

namespace {

constexpr char kProgram[] = "job_worker";

constexpr char kUsage[] = R"(usage: job_worker [options]

A worker of the multi-host demo: takes jobs from the manager's named
JoinableQueue "jobs" (put there by job_client), computes each with a local
process Pool and writes the value into the named dict "results". Exits 0
when the client says it is done (or after --idle-exit), 1 when the
manager is unreachable or a job fails, 2 for bad usage.

)";

constexpr char kUsageTail[] =
    R"(  --name NAME               name in log lines (default: the host name)
  --processes N             Pool size (default: the number of CPUs)
  --job-ms MS               make each job take at least MS milliseconds
                            (simulated work; default 0)
  --job-timeout SECS        fail if the Pool takes longer for one job
                            (default 600)
  --idle-exit SECS          exit 0 when no job came for SECS (default 0:
                            wait until a client finishes its run)
  --stall-after N           testing: after N jobs, take one more, print
                            "NAME: stalling while holding job J" and hold it
                            without working until killed (exits 3 after
                            600 s)
  --stall-at WHERE          testing: where --stall-after holds the job:
                            "compute" (default: before computing) or
                            "task_done" (after writing the result, before
                            task_done())
  --help                    this text

Environment: MP_MANAGER_ADDRESS, MP_AUTHKEY or MP_AUTHKEY_FILE, MP_TLS_CA,
MP_TLS_CERT, MP_TLS_KEY, MP_TLS_SERVER_NAME (see above).
)";

struct Options {
  demo::ConnectOptions connect;
  std::string name;
  int64_t processes = 0;
  int64_t job_ms = 0;
  int64_t job_timeout_s = 600;
  int64_t idle_exit_s = 0;
  int64_t stall_after = -1;
  bool stall_after_result = false;
};

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "worker";
  return buf;
}

Options ParseFlags(int argc, char** argv) {
  Options o;
  demo::Flags flags(kProgram, argc, argv);
  while (flags.Next()) {
    const std::string& arg = flags.arg();
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage << demo::kConnectHelp << kUsageTail;
      std::exit(0);
    } else if (demo::ParseConnectFlag(flags, &o.connect)) {
    } else if (arg == "--name") {
      o.name = flags.Value();
    } else if (arg == "--processes") {
      o.processes = flags.Int(1, 1024);
    } else if (arg == "--job-ms") {
      o.job_ms = flags.Int(0, 3'600'000);
    } else if (arg == "--job-timeout") {
      o.job_timeout_s = flags.Int(1, 86400);
    } else if (arg == "--idle-exit") {
      o.idle_exit_s = flags.Int(0, 86400);
    } else if (arg == "--stall-after") {
      o.stall_after = flags.Int(0, 1'000'000);
    } else if (arg == "--stall-at") {
      const std::string where = flags.Value();
      if (where != "compute" && where != "task_done") {
        demo::UsageError(kProgram, "--stall-at takes compute or task_done");
      }
      o.stall_after_result = where == "task_done";
    } else {
      flags.Unknown();
    }
  }
  if (o.name.empty()) o.name = HostName();
  if (o.processes == 0) o.processes = mp::cpu_count();
  return o;
}

// Runs in the Pool's processes: the sum of i*i over [lo, hi).
int64_t SumSquares(int64_t lo, int64_t hi, int64_t delay_ms) {
  // Simulated slow work for demos and tests (--job-ms), not a wait.
  if (delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
  int64_t sum = 0;
  for (int64_t i = lo; i < hi; ++i) sum += i * i;
  return sum;
}

struct Job {
  int64_t id;
  int64_t lo;
  int64_t hi;
};

class Worker {
 public:
  Worker(const mp::Manager& m, const Options& o)
      : o_(o),
        id_(MakeId(o.name)),
        jobs_(m.named(demo::kJobsName).JoinableQueue()),
        results_(m.named(demo::kResultsName).dict()),
        claims_(m.named(demo::kClaimsName).dict()),
        take_(m.named(demo::kTakeLockName).Lock()),
        finished_runs_(m.named(demo::kFinishedRunsName).Value<int64_t>(0)),
        alive_(m.named(demo::kWorkerLockPrefix + id_).Lock()) {}

  int Run(mp::Pool& pool) {
    // Held for life: the client tells a dead worker by this Lock being
    // free (the manager frees it when this process's session ends).
    if (!alive_.acquire(true, std::chrono::seconds(10))) {
      std::cerr << kProgram << ": cannot acquire my own liveness lock\n";
      return 1;
    }
    Log() << "started as " << id_ << " with " << o_.processes
          << " pool processes" << std::endl;
    int64_t done_jobs = 0;
    auto last_job = std::chrono::steady_clock::now();
    const int64_t runs_at_start = finished_runs_.get();
    while (finished_runs_.get() == runs_at_start) {
      if (o_.idle_exit_s > 0 && std::chrono::steady_clock::now() - last_job >
                                    std::chrono::seconds(o_.idle_exit_s)) {
        Log() << "no job for " << o_.idle_exit_s << " s; exiting" << std::endl;
        return 0;
      }
      std::optional<Job> job = Take();
      if (!job) continue;
      Log() << "took job " << job->id << std::endl;
      const bool stall = done_jobs == o_.stall_after;
      if (stall && !o_.stall_after_result) Stall(*job);

      const int64_t value = Compute(pool, *job);
      // This order is what the client's recovery relies on: no result
      // means no task_done() yet (see job_client.cc).
      results_.set(job->id, value);
      if (stall) Stall(*job);
      jobs_.task_done();
      claims_.pop(job->id, mp::None);
      Log() << "done job " << job->id << std::endl;
      ++done_jobs;
      last_job = std::chrono::steady_clock::now();
    }
    Log() << "the client is done; exiting after " << done_jobs << " jobs"
          << std::endl;
    return 0;
  }

 private:
  static std::string MakeId(const std::string& name) {
    std::random_device rd;
    std::ostringstream id;
    id << name << "@" << HostName() << "/" << getpid() << "/" << std::hex
       << rd();
    return id.str();
  }

  std::ostream& Log() const { return std::cout << o_.name << ": "; }

  // Takes one job and records the claim, both under the "take" Lock;
  // nullopt when there is none within a quarter of a second (the lock is
  // held meanwhile: keep it short, the client waits for it).
  std::optional<Job> Take() {
    if (!take_.acquire(true, std::chrono::seconds(10))) return std::nullopt;
    struct Release {
      const mp::LockProxy& lock;
      ~Release() { lock.release(); }
    } release{take_};
    mp::Object item;
    try {
      item = jobs_.get(true, std::chrono::milliseconds(250));
    } catch (const mp::Empty&) {
      return std::nullopt;
    }
    const mp::Object::List& fields = item.as_list();
    Job job{fields.at(0).as<int64_t>(), fields.at(1).as<int64_t>(),
            fields.at(2).as<int64_t>()};
    claims_.set(job.id, id_);
    return job;
  }

  // Splits the job's range over the Pool.
  int64_t Compute(mp::Pool& pool, const Job& job) {
    const int64_t parts = o_.processes;
    std::vector<std::tuple<int64_t, int64_t, int64_t>> chunks;
    const int64_t n = job.hi - job.lo;
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t lo = job.lo + n * p / parts;
      const int64_t hi = job.lo + n * (p + 1) / parts;
      if (lo < hi) chunks.emplace_back(lo, hi, o_.job_ms);
    }
    std::vector<int64_t> sums =
        pool.starmap_async(SumSquares, chunks)
            .get(std::chrono::seconds(o_.job_timeout_s));
    int64_t total = 0;
    for (int64_t s : sums) total += s;
    return total;
  }

  // --stall-after: hold the job without working, so a test can kill this
  // process at a known point. Waiting to be killed has no event to await.
  [[noreturn]] void Stall(const Job& job) {
    Log() << "stalling while holding job " << job.id << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(600));
    std::cerr << kProgram << ": --stall-after: not killed within 600 s\n";
    std::exit(3);
  }

  const Options& o_;
  const std::string id_;
  mp::JoinableQueueProxy jobs_;
  mp::DictProxy results_;
  mp::DictProxy claims_;
  mp::LockProxy take_;
  mp::ValueProxy<int64_t> finished_runs_;
  mp::LockProxy alive_;
};

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  const Options options = ParseFlags(argc, argv);
  return demo::RunMain(kProgram, [&] {
    // The Pool first: its processes need nothing from the manager.
    mp::Pool pool(static_cast<int>(options.processes));
    mp::Manager m = demo::Connect(kProgram, options.connect);
    Worker worker(m, options);
    return worker.Run(pool);
  });
}
