#include "mp/pool.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <thread>
#include <typeinfo>
#include <utility>

#include "common/auth.h"
#include "mp/pipe.h"
#include "process/code_location.h"
#include "process/task_codec.h"

namespace mp {
namespace internal {

void ResultState::Complete(Outcome o) {
  std::function<void(const Outcome&)> callback;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (done || completing) return;
    completing = true;
    callback = std::move(on_done);
  }
  // As in Python, callbacks run before the result becomes ready: whoever
  // waits on it sees their effects.
  if (callback) {
    try {
      callback(o);
    } catch (...) {
      // A throwing callback must not take the pool down (Python logs it).
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    outcome = std::move(o);
  }
  cv.notify_all();
}

namespace {

constexpr auto kWorkerStartTimeout = std::chrono::seconds(30);

Outcome Failure(const std::string& type, const std::string& message,
                const std::string& traceback = "") {
  Outcome o;
  o.error_type = type;
  o.error_message = message;
  o.error_traceback = traceback;
  return o;
}

std::string Demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && readable != nullptr ? readable : name;
  std::free(readable);
  return out;
}

// C++ keeps no call stack in an exception, so a worker's "traceback" says
// where the error happened in the terms we have: which worker process, and
// which task function (by symbol when the binary exports one, otherwise by
// object and offset - `addr2line -e OBJECT OFFSET` resolves it).
std::string WorkerTraceback(const void* fn, const std::string& type,
                            const std::string& message) {
  ProcessInfo self = current_process();
  std::string where;
  Dl_info info;
  if (dladdr(fn, &info) != 0 && info.dli_sname != nullptr) {
    where = Demangle(info.dli_sname);
  } else {
    CodeLocation at = Locate(fn);
    char offset[32];
    std::snprintf(offset, sizeof offset, "0x%llx",
                  static_cast<unsigned long long>(at.offset));
    where = "function at " +
            (at.object_path.empty() ? std::string("the main executable")
                                    : at.object_path) +
            " + " + offset;
  }
  return "Traceback (from pool worker " + self.name() + ", pid " +
         std::to_string(self.pid()) + "):\n  in task " + where + "\n" + type +
         ": " + message + "\n";
}

// A unit of work for one worker: a chunk of argument tuples.
struct Job {
  CodeLocation fn;
  uint64_t trampoline_offset = 0;
  Object::List tuples;  // or bare arguments when `unary`
  bool unary = false;
  std::function<void(Outcome)> deliver;  // a list of results, or an error
};

// Listening socket in the abstract namespace (no file to clean up).
int Listen(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(fd, 1) != 0) {
    ::close(fd);
    throw ProcessError(std::string("pool socket: ") + std::strerror(errno));
  }
  return fd;
}

int Dial(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    throw ProcessError(std::string("pool worker cannot connect: ") +
                       std::strerror(errno));
  }
  return fd;
}

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

// The worker process: connects back, runs the initializer, then runs chunks
// until told to stop or its task budget is spent.
// `init`: None, or (object, function offset, trampoline offset or -1 for a
// plain void(), initargs).
void PoolWorkerMain(std::string socket_name, std::string token, Object init,
                    int64_t maxtasks) {
  Connection conn(Dial(socket_name), true, true);
  conn.send_bytes(token);
  if (!init.is_none()) {
    const Object::List& i = init.as_list();
    const std::string& object = i[0].as_str();
    void* fn = Resolve({object, static_cast<uint64_t>(i[1].as_int())});
    if (i[2].as_int() < 0) {
      reinterpret_cast<void (*)()>(fn)();
    } else {
      auto trampoline = reinterpret_cast<CallTrampoline>(
          Resolve({object, static_cast<uint64_t>(i[2].as_int())}));
      trampoline(fn, i[3]);
    }
  }
  for (int64_t done = 0; maxtasks <= 0 || done < maxtasks; ++done) {
    Object task;
    try {
      task = conn.recv();
    } catch (const EOFError&) {
      return;
    }
    if (task.is_none()) return;  // stop
    const Object::List& t = task.as_list();
    Object reply;
    void* fn = nullptr;
    try {
      fn = Resolve({t[0].as_str(), static_cast<uint64_t>(t[1].as_int())});
      auto trampoline = reinterpret_cast<CallTrampoline>(
          Resolve({t[0].as_str(), static_cast<uint64_t>(t[2].as_int())}));
      Object::List results;
      for (const Object& args : t[3].as_list()) {
        results.push_back(trampoline(fn, args));
      }
      reply = Object::tuple({"ok", Object::list(std::move(results))});
    } catch (const Error& e) {
      reply = Object::tuple(
          {"error", e.type_name(), e.message(),
           fn ? WorkerTraceback(fn, e.type_name(), e.message()) : ""});
    } catch (const std::exception& e) {
      // Not an mp::Error: it arrives as a RemoteError named after its C++
      // type, e.g. "std::out_of_range".
      const std::string type = Demangle(typeid(e).name());
      reply = Object::tuple({"error", type, e.what(),
                             fn ? WorkerTraceback(fn, type, e.what()) : ""});
    }
    std::string encoded;
    try {
      encoded = EncodeTransfer(reply);
    } catch (const Error& e) {
      // A result that cannot travel fails its task; the worker lives on
      // (CPython's MaybeEncodingError).
      encoded = EncodeTransfer(Object::tuple(
          {"error", e.type_name(), "error sending result: " + e.message()}));
    }
    conn.send_bytes(encoded);
  }
}

class PoolCore {
 public:
  PoolCore(PoolOptions options) : options_(std::move(options)) {
    if (options_.processes < 0) {
      throw ValueError("Number of processes must be at least 1");
    }
    if (options_.maxtasksperchild < 0) {
      throw ValueError("maxtasksperchild must be a positive int or 0");
    }
    if (options_.processes == 0) options_.processes = cpu_count();
    if (options_.context.empty()) options_.context = get_start_method();
    if (options_.initializer != nullptr) {
      CodeLocation fn =
          Locate(reinterpret_cast<const void*>(options_.initializer));
      init_ = Object::tuple({fn.object_path, static_cast<int64_t>(fn.offset),
                             int64_t{-1}, Object::tuple({})});
    } else if (options_.initializer_with_args) {
      const internal::FunctionRef& ref = *options_.initializer_with_args;
      CodeLocation fn = Locate(ref.fn);
      CodeLocation trampoline =
          Locate(reinterpret_cast<const void*>(ref.trampoline));
      init_ = Object::tuple({fn.object_path, static_cast<int64_t>(fn.offset),
                             static_cast<int64_t>(trampoline.offset),
                             options_.initargs});
    }
    for (int i = 0; i < options_.processes; ++i) {
      threads_.emplace_back([this] { RunSlot(); });
    }
  }

  ~PoolCore() { Terminate(); }

  int processes() const { return options_.processes; }

  void Push(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_ && !terminated_) {
        jobs_.push_back(std::move(job));
        job.deliver = nullptr;
      }
    }
    if (job.deliver) {
      job.deliver(Failure("ValueError", "Pool not running"));
      return;
    }
    cv_.notify_one();
  }

  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  void Join() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_ && !terminated_) {
        throw ValueError("join() needs close() or terminate() first");
      }
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void Terminate() {
    std::deque<Job> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      terminated_ = true;
      closed_ = true;
      dropped.swap(jobs_);
      for (pid_t pid : live_workers_) ::kill(pid, SIGTERM);
    }
    cv_.notify_all();
    for (Job& j : dropped) {
      j.deliver(Failure("ProcessError", "the pool was terminated"));
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  struct Worker {
    std::optional<Process> process;
    std::optional<Connection> conn;
    int64_t tasks = 0;
  };

  // Starts a worker and waits for it to connect back.
  void StartWorker(Worker& w) {
    const std::string name =
        "mp-pool-" + std::to_string(getpid()) + "-" + Hex(RandomBytes(12));
    const std::string token = Hex(RandomBytes(16));
    int listener = Listen(name);
    ProcessOptions po;
    po.start_method = options_.context;
    po.daemon = true;
    w.process.emplace(po, PoolWorkerMain, name, token, init_,
                      static_cast<int64_t>(options_.maxtasksperchild));
    w.process->start();
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_workers_.push_back(w.process->pid());
    }
    pollfd pfds[2] = {{listener, POLLIN, 0},
                      {w.process->sentinel(), POLLIN, 0}};
    int ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             kWorkerStartTimeout)
                             .count());
    if (poll(pfds, 2, ms) <= 0 || !(pfds[0].revents & POLLIN)) {
      ::close(listener);
      StopWorker(w);
      throw ProcessError("a pool worker did not start");
    }
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
    w.conn.emplace(fd, true, true);
    if (!w.conn->poll(std::chrono::duration<double>(10)) ||
        w.conn->recv_bytes() != token) {
      StopWorker(w);
      throw ProcessError("a pool worker failed to authenticate");
    }
    w.tasks = 0;
  }

  void StopWorker(Worker& w) {
    w.conn.reset();
    if (w.process) {
      if (!w.process->join(std::chrono::duration<double>(2))) {
        w.process->kill();
        w.process->join();
      }
      std::lock_guard<std::mutex> lock(mu_);
      std::erase(live_workers_, w.process->pid());
    }
    w.process.reset();
  }

  void RunSlot() {
    Worker w;
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock,
                 [&] { return terminated_ || closed_ || !jobs_.empty(); });
        if (terminated_ || jobs_.empty()) break;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        if (!w.conn) StartWorker(w);
      } catch (const Error& e) {
        job.deliver(Failure(e.type_name(), e.message()));
        continue;
      }
      bool terminated;
      {
        // terminate() may have run while the worker was starting (before
        // it could be signalled): the job must not run after all.
        std::lock_guard<std::mutex> lock(mu_);
        terminated = terminated_;
      }
      if (terminated) {
        job.deliver(Failure("ProcessError", "the pool was terminated"));
        break;
      }
      std::string message;
      try {
        message = EncodeTransfer(Object::tuple(
            {job.fn.object_path, static_cast<int64_t>(job.fn.offset),
             static_cast<int64_t>(job.trampoline_offset),
             Object::list(std::move(job.tuples))}));
      } catch (const Error& e) {
        // Arguments that cannot travel fail the task; the worker is fine.
        job.deliver(Failure(e.type_name(), e.message()));
        continue;
      }
      Object reply;
      bool died = false;
      try {
        w.conn->send_bytes(message);
        reply = w.conn->recv();
      } catch (const Error&) {
        died = true;
      }
      if (died) {
        StopWorker(w);
        job.deliver(
            Failure("ProcessError", "a pool worker died while running a task"));
        continue;  // a new worker starts with the next job
      }
      const Object::List& r = reply.as_list();
      if (r[0].as_str() == "ok") {
        Outcome o;
        o.ok = true;
        o.value = r[1];
        job.deliver(std::move(o));
      } else {
        job.deliver(Failure(r[1].as_str(), r[2].as_str(),
                            r.size() > 3 ? r[3].as_str() : ""));
      }
      if (options_.maxtasksperchild > 0 &&
          ++w.tasks >= options_.maxtasksperchild) {
        StopWorker(w);  // it exits by itself after its last task
      }
    }
    if (w.conn) {
      try {
        w.conn->send(Object());  // stop
      } catch (const Error&) {
      }
    }
    StopWorker(w);
  }

  PoolOptions options_;
  Object init_;  // see PoolWorkerMain
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool closed_ = false;
  bool terminated_ = false;
  std::vector<pid_t> live_workers_;
  std::vector<std::thread> threads_;
};

}  // namespace internal

namespace {

size_t DefaultChunksize(size_t n, int processes) {
  if (n == 0) return 1;
  size_t per = static_cast<size_t>(processes) * 4;
  size_t chunk = n / per;
  if (n % per) ++chunk;
  return std::max<size_t>(1, chunk);
}

}  // namespace

namespace {
PoolOptions WithProcesses(int processes) {
  PoolOptions options;
  options.processes = processes;
  return options;
}
}  // namespace

Pool::Pool(int processes) : Pool(WithProcesses(processes)) {}

Pool::Pool(PoolOptions options)
    : core_(std::make_shared<internal::PoolCore>(std::move(options))) {}

Pool::~Pool() { core_->Terminate(); }

void Pool::close() { core_->Close(); }
void Pool::join() { core_->Join(); }
void Pool::terminate() { core_->Terminate(); }
int Pool::processes() const { return core_->processes(); }

std::shared_ptr<internal::ResultState> Pool::Submit(
    internal::FunctionRef fn, Object::List tuples, size_t chunksize,
    std::function<void(const internal::Outcome&)> on_done) {
  auto state = std::make_shared<internal::ResultState>();
  state->on_done = std::move(on_done);
  const size_t n = tuples.size();
  if (n == 0) {
    internal::Outcome o;
    o.ok = true;
    o.value = Object::list({});
    state->Complete(std::move(o));
    return state;
  }
  if (chunksize == 0) chunksize = DefaultChunksize(n, core_->processes());
  const internal::CodeLocation fn_loc = internal::Locate(fn.fn);
  const internal::CodeLocation tr_loc = internal::Locate(
      reinterpret_cast<const void*>(fn.unary ? fn.unary : fn.trampoline));
  struct Gather {
    std::mutex mu;
    Object::List results;
    size_t remaining;
  };
  auto gather = std::make_shared<Gather>();
  gather->results.resize(n);
  gather->remaining = (n + chunksize - 1) / chunksize;
  for (size_t start = 0; start < n; start += chunksize) {
    internal::Job job;
    job.fn = fn_loc;
    job.trampoline_offset = tr_loc.offset;
    size_t stop = std::min(n, start + chunksize);
    job.tuples.assign(tuples.begin() + start, tuples.begin() + stop);
    job.deliver = [state, gather, start](internal::Outcome o) {
      if (!o.ok) return state->Complete(std::move(o));
      bool last;
      {
        std::lock_guard<std::mutex> lock(gather->mu);
        const Object::List& got = o.value.as_list();
        std::copy(got.begin(), got.end(), gather->results.begin() + start);
        last = --gather->remaining == 0;
      }
      if (last) {
        internal::Outcome all;
        all.ok = true;
        all.value = Object::list(std::move(gather->results));
        state->Complete(std::move(all));
      }
    };
    core_->Push(std::move(job));
  }
  return state;
}

std::shared_ptr<internal::ResultState> Pool::SubmitOne(
    internal::FunctionRef fn, Object args,
    std::function<void(const internal::Outcome&)> on_done) {
  auto state = std::make_shared<internal::ResultState>();
  state->on_done = std::move(on_done);
  internal::Job job;
  job.fn = internal::Locate(fn.fn);
  job.trampoline_offset =
      internal::Locate(reinterpret_cast<const void*>(fn.trampoline)).offset;
  job.tuples.push_back(std::move(args));
  job.deliver = [state](internal::Outcome o) {
    if (o.ok) o.value = o.value.as_list()[0];
    state->Complete(std::move(o));
  };
  core_->Push(std::move(job));
  return state;
}

std::function<bool(Object&)> Pool::Stream(
    internal::FunctionRef fn, std::function<bool(Object&)> next_input,
    size_t chunksize, bool ordered) {
  if (chunksize == 0) chunksize = 1;
  struct StreamState {
    std::mutex mu;
    std::condition_variable cv;
    std::function<bool(Object&)> next_input;  // pulled lazily (gh-84291)
    bool input_done = false;
    size_t chunksize;
    size_t next_submit = 0;  // chunk index
    size_t next_yield = 0;   // ordered: chunk index to yield next
    size_t consumed_chunks = 0;
    std::map<size_t, internal::Outcome> done;  // by chunk index
    std::deque<Object> ready;                  // items of the current chunk
    // Reading the input threw: the chunk being filled fails with it, after
    // the chunks before it (CPython's imap).
    std::exception_ptr input_error;
    size_t error_index = 0;
  };
  auto st = std::make_shared<StreamState>();
  st->next_input = std::move(next_input);
  st->chunksize = chunksize;
  const size_t window = static_cast<size_t>(core_->processes()) * 2;
  auto core = core_;
  const internal::CodeLocation fn_loc = internal::Locate(fn.fn);
  const uint64_t tr_off =
      internal::Locate(
          reinterpret_cast<const void*>(fn.unary ? fn.unary : fn.trampoline))
          .offset;
  auto submit_more = [st, core, fn_loc, tr_off, window]() {
    // Called with st->mu held: reads input only to keep at most `window`
    // chunks in flight, never ahead of that.
    while (!st->input_done && st->next_submit - st->consumed_chunks < window) {
      internal::Job job;
      job.fn = fn_loc;
      job.trampoline_offset = tr_off;
      Object item;
      while (job.tuples.size() < st->chunksize) {
        bool more;
        try {
          more = st->next_input(item);
        } catch (...) {
          st->input_error = std::current_exception();
          st->error_index = st->next_submit++;
          st->input_done = true;
          return;
        }
        if (!more) {
          st->input_done = true;
          break;
        }
        job.tuples.push_back(std::move(item));
      }
      if (job.tuples.empty()) break;
      size_t index = st->next_submit++;
      std::weak_ptr<StreamState> weak = st;
      job.deliver = [weak, index](internal::Outcome o) {
        auto s = weak.lock();
        if (!s) return;
        {
          std::lock_guard<std::mutex> lock(s->mu);
          s->done.emplace(index, std::move(o));
        }
        s->cv.notify_all();
      };
      core->Push(std::move(job));
    }
  };
  return [st, submit_more, ordered](Object& out) -> bool {
    std::unique_lock<std::mutex> lock(st->mu);
    submit_more();
    while (st->ready.empty()) {
      if (st->input_error && st->consumed_chunks == st->error_index) {
        ++st->next_yield;
        ++st->consumed_chunks;
        std::rethrow_exception(std::exchange(st->input_error, nullptr));
      }
      if (st->input_done && st->consumed_chunks == st->next_submit)
        return false;
      st->cv.wait(lock, [&] {
        return ordered ? st->done.count(st->next_yield) > 0 : !st->done.empty();
      });
      auto it = ordered ? st->done.find(st->next_yield) : st->done.begin();
      internal::Outcome o = std::move(it->second);
      st->done.erase(it);
      ++st->next_yield;
      ++st->consumed_chunks;
      submit_more();
      if (!o.ok) ThrowError(o.error_type, o.error_message, o.error_traceback);
      for (const Object& item : o.value.as_list()) st->ready.push_back(item);
    }
    out = std::move(st->ready.front());
    st->ready.pop_front();
    return true;
  };
}

}  // namespace mp
