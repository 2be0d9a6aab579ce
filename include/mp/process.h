// mp::Process: run a function in another process, as multiprocessing.Process.
//
//   int main(int argc, char** argv) {
//     mp::init(argc, argv);          // first statement (see below)
//     mp::Process p(worker, d, 3);   // void worker(mp::DictProxy, int)
//     p.start();
//     p.join();
//   }
//
// Start methods: "fork" (the child is a copy of this process and runs the
// function directly; any callable works), "spawn" (the child re-executes
// this program, and mp::init runs the function there) and "forkserver"
// (the default: children are forked from a clean server process started
// with spawn, so they inherit no threads). With spawn and forkserver the
// function must be a plain function (or a lambda without captures): it is
// found again in the new process by its offset in its loaded object, so no
// registration is needed. Arguments travel through mp::to_object /
// mp::from_object; proxies are attached by the child to its own session.
// A fork child of a process that used gRPC cannot open a new gRPC
// connection over TCP (gRPC 1.51): it reaches unix: managers, and TCP ones
// only when started with spawn or forkserver (its connect times out with
// ConnectionError saying so).
//
// Thread safety: a Process object is used by one thread at a time; the
// free functions below may be called from any thread.
//
// Destructor policy - ~Process() detaches, as Python's Process does: it
// never signals and never waits. A started child keeps running; if it has
// not exited yet it is reaped when it does (at the next start() or
// active_children()), so it is never left a zombie. A daemon child is sent
// SIGTERM (and waited for) when this program exits normally, and is killed
// (SIGKILL, by the kernel) when the process that started it dies.
#ifndef MP_PROCESS_H_
#define MP_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/process_task.h"
#include "mp/errors.h"
#include "mp/object.h"

namespace mp {

// C++'s `if __name__ == "__main__":`. Call first thing in main(). In a
// process mp started with spawn (or in the forkserver), it runs the task
// and exits, never returning. In the program itself it only records argv.
void init(int argc, char** argv);

struct ProcessOptions {
  std::string name;            // default "Process-N"
  std::optional<bool> daemon;  // default: inherited from the creating process
  std::string start_method;    // default: get_start_method()
};

class Process {
 public:
  // Records the function and its arguments (converted now: a type with no
  // conversion is a compile-time error); start() runs them.
  template <class F, class... Args>
  explicit Process(F&& f, Args&&... args)
      : Process(ProcessOptions{}, std::forward<F>(f),
                std::forward<Args>(args)...) {}
  template <class F, class... Args>
  Process(ProcessOptions options, F&& f, Args&&... args)
      : Process(std::move(options),
                internal::MakeTask(std::forward<F>(f),
                                   std::forward<Args>(args)...)) {}

  // Detaches (see "Destructor policy" above).
  ~Process();
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;

  // Starts the child. Throws ProcessError (already started, a callable with
  // captures under spawn/forkserver, spawn/forkserver without
  // mp::init(argc, argv) in main()), ValueError (closed, unknown start
  // method). When the arguments hold proxies it blocks until the child has
  // attached them (at most 60 s), so the caller may drop its own.
  void start();
  // Blocks until the process exits (no timeout, as Python's join()); the
  // form with a timeout returns false if it is still running then.
  // ProcessError if not started.
  void join();
  bool join(std::chrono::duration<double> timeout);
  // Non-blocking.
  bool is_alive() const;
  // Send SIGTERM / SIGKILL and return at once (join() to wait).
  void terminate();
  void kill();
  // Frees the process's resources; it must have exited. ValueError otherwise.
  // Afterwards join, is_alive, terminate, kill and start throw ValueError.
  void close();

  pid_t pid() const;  // 0 before start()
  const std::string& name() const;
  // As assigning Python's Process.name: the child sees the name set before
  // start().
  void set_name(std::string name);
  bool daemon() const;
  void set_daemon(bool daemon);  // before start()
  // Exit status once exited: the exit code, or -N when killed by signal N.
  std::optional<int> exitcode() const;
  // A file descriptor that becomes readable (EOF) when the process exits:
  // poll it alongside other fds. -1 before start().
  int sentinel() const;

 private:
  Process(ProcessOptions options, internal::Task task);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A process's identity, as multiprocessing.current_process() and
// parent_process() describe it. Plain value type.
class ProcessInfo {
 public:
  ProcessInfo(std::string name, pid_t pid)
      : name_(std::move(name)), pid_(pid) {}
  // "MainProcess", "Process-3", "ForkPoolWorker-1", or ProcessOptions::name.
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

 private:
  std::string name_;
  pid_t pid_;
};
// The calling process.
ProcessInfo current_process();
// The process that started this one, if it was started by mp.
std::optional<ProcessInfo> parent_process();
// Pids of started children that are still running (reaps finished ones).
std::vector<pid_t> active_children();
int cpu_count();

// "fork", "spawn" or "forkserver" (the default). set_start_method throws
// ValueError for other names.
void set_start_method(const std::string& method);
std::string get_start_method();
std::vector<std::string> get_all_start_methods();

class Pool;
class Manager;

// A start method bound to its users, as multiprocessing.get_context().
class Context {
 public:
  explicit Context(std::string method) : method_(std::move(method)) {}
  const std::string& start_method() const { return method_; }
  template <class F, class... Args>
  mp::Process Process(F&& f, Args&&... args) const {
    ProcessOptions options;
    options.start_method = method_;
    return mp::Process(std::move(options), std::forward<F>(f),
                       std::forward<Args>(args)...);
  }
  // A Pool whose workers start with this method (include mp/pool.h).
  mp::Pool Pool(int processes = 0) const;
  // A Manager. Its server process is always exec'ed (as with spawn),
  // whatever the method.
  mp::Manager Manager() const;

 private:
  std::string method_;
};
Context get_context(const std::string& method = "");

}  // namespace mp

#endif  // MP_PROCESS_H_
