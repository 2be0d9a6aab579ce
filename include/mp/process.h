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
//
// Thread safety: a Process object is used by one thread at a time.
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

namespace internal {

// How a task runs in a new process: `trampoline(fn, args)` converts the
// arguments back and calls `fn`; returns the exit code.
using Trampoline = int (*)(void* fn, const Object& args);

struct Task {
  void* fn = nullptr;  // plain function; null for closures
  Trampoline trampoline = nullptr;
  Object args;                    // a tuple
  std::function<void()> closure;  // fork only: any callable
};

template <class Fn, class... A>
int RunTrampoline(void* fn, const Object& args) {
  const Object::List& items = args.as_list();
  if (items.size() != sizeof...(A)) {
    throw TypeError("the task takes " + std::to_string(sizeof...(A)) +
                    " arguments, got " + std::to_string(items.size()));
  }
  auto call = [&]<size_t... I>(std::index_sequence<I...>) {
    reinterpret_cast<Fn>(fn)(from_object<std::decay_t<A>>(items[I])...);
  };
  call(std::index_sequence_for<A...>{});
  return 0;
}

// A lambda without captures (or anything else with a unary + giving a
// function pointer).
template <class F>
concept DecaysToFunctionPointer = requires(F& f) {
  +f;
}
&&std::is_pointer_v<decltype(+std::declval<F&>())>&&
    std::is_function_v<std::remove_pointer_t<decltype(+std::declval<F&>())>>;

template <class R, class... P, class... Args>
Task MakeTask(R (*fn)(P...), Args&&... args) {
  static_assert(sizeof...(P) == sizeof...(Args),
                "mp::Process: wrong number of arguments for the function");
  Task task;
  task.fn = reinterpret_cast<void*>(fn);
  task.trampoline = &RunTrampoline<R (*)(P...), P...>;
  task.args = Object::tuple({to_object(static_cast<std::decay_t<P>>(args))...});
  return task;
}

template <class F, class... Args>
Task MakeTask(F&& f, Args&&... args) {
  if constexpr (DecaysToFunctionPointer<std::remove_reference_t<F>>) {
    return MakeTask(+f, std::forward<Args>(args)...);  // captureless lambda
  } else {
    Task task;
    task.args = Object::tuple({to_object(args)...});  // checks convertibility
    task.closure = [f = std::forward<F>(f),
                    tup = std::make_tuple(std::decay_t<Args>(
                        args)...)]() mutable { std::apply(f, tup); };
    return task;
  }
}

}  // namespace internal

class Process {
 public:
  template <class F, class... Args>
  explicit Process(F&& f, Args&&... args)
      : Process(ProcessOptions{}, std::forward<F>(f),
                std::forward<Args>(args)...) {}
  template <class F, class... Args>
  Process(ProcessOptions options, F&& f, Args&&... args)
      : Process(std::move(options),
                internal::MakeTask(std::forward<F>(f),
                                   std::forward<Args>(args)...)) {}
  Process(ProcessOptions options, internal::Task task);

  // A started, still running, non-daemon process keeps running after its
  // Process object is gone (as in Python); it is reaped when it exits.
  ~Process();
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;

  // Throws ProcessError (already started, closed, or a callable with
  // captures under spawn/forkserver) and ValueError (unknown start method).
  void start();
  // Waits for the process to exit. With a timeout: false if still running.
  // ProcessError if not started.
  void join();
  bool join(std::chrono::duration<double> timeout);
  bool is_alive() const;
  // SIGTERM / SIGKILL.
  void terminate();
  void kill();
  // Frees the process's resources; it must have exited. ValueError otherwise.
  // Afterwards join, is_alive, terminate, kill and start throw ValueError.
  void close();

  pid_t pid() const;  // 0 before start()
  const std::string& name() const;
  bool daemon() const;
  void set_daemon(bool daemon);  // before start()
  // Exit status once exited: the exit code, or -N when killed by signal N.
  std::optional<int> exitcode() const;
  // A file descriptor that becomes readable (EOF) when the process exits:
  // poll it alongside other fds. -1 before start().
  int sentinel() const;

 private:
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
