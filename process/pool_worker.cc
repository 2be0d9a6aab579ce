#include "process/pool_worker.h"

#include <malloc.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mp/errors.h"
#include "mp/pipe.h"
#include "mp/process.h"
#include "process/code_location.h"
#include "process/pipe_message.h"
#include "process/pool_protocol.h"
#include "process/rendezvous_socket.h"
#include "process/symbolize.h"

namespace mp::internal {
namespace {

// The path of the loaded object at `location`, for addr2line.
std::string ObjectPath(const CodeLocation& location) {
  if (!location.object_path.empty()) return location.object_path;
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n))
               : std::string("the main executable");
}

// A task's answer: the message and the descriptors that go with it,
// borrowed from `values`.
struct Reply {
  std::string bytes;
  Object::List values = {};
  std::vector<int> fds = {};
};

// Runs every item of `task` (`fds`: the descriptors that came with it);
// the reply to send.
Reply RunTask(const v1::PoolTask& task, ReceivedFds fds) {
  void* fn = nullptr;
  Reply reply;
  Object::List& values = reply.values;
  try {
    fn = ResolveCode(task.function().function());
    auto trampoline = reinterpret_cast<CallTrampoline>(
        ResolveCode(task.function().trampoline()));
    Object::List items = DecodeItems(task, std::move(fds));
    values.reserve(items.size());
    for (const Object& args : items) values.push_back(trampoline(fn, args));
  } catch (const Error& e) {
    const Outcome failure = Outcome::Failure(e);
    return {EncodeError(
        task.task_id(), failure.error_type, failure.error_message,
        fn ? WorkerTraceback(fn, failure.error_type, failure.error_message)
           : "")};
  } catch (const std::exception& e) {
    // Not an mp::Error: it arrives as a RemoteError named after its C++
    // type, e.g. "std::out_of_range".
    const std::string type = Demangle(typeid(e).name());
    return {EncodeError(task.task_id(), type, e.what(),
                        fn ? WorkerTraceback(fn, type, e.what()) : "")};
  } catch (...) {
    const std::string type = "unknown C++ exception";
    const std::string message =
        "a task threw something not derived from "
        "std::exception";
    return {EncodeError(task.task_id(), type, message,
                        fn ? WorkerTraceback(fn, type, message) : "")};
  }
  try {
    reply.bytes = EncodeValues(task.task_id(), values, &reply.fds);
  } catch (const Error& e) {
    // A result that cannot travel fails its task; the worker lives on
    // (CPython's MaybeEncodingError).
    return {EncodeError(task.task_id(), e.type_name(),
                        "error sending result: " + e.message(), "")};
  }
  return reply;
}

void RunInitializer(const v1::PoolWorkerSetup& setup, ReceivedFds fds) {
  if (!setup.has_initializer()) return;
  void* fn = ResolveCode(setup.initializer().function());
  auto trampoline = reinterpret_cast<CallTrampoline>(
      ResolveCode(setup.initializer().trampoline()));
  trampoline(fn, DecodeInitargs(setup, std::move(fds)));
}

// A worker decodes, runs and encodes one chunk after another, each about
// the size of the last. With glibc's defaults every chunk's memory goes
// back to the kernel when it is freed (trimmed, or unmapped when it was
// large) and the next chunk faults it in again, page by page; a page fault
// is expensive on these VMs. Measured (Pool(2).map of 100k x*x, 2-core
// VM): page faults were a third of the workers' time, and keeping up to
// 16 MiB of freed heap took the first map from 1.8M to 2.4M tasks/s and
// the ones after from 2.5M to 4.2M; 4 MiB kept too little for chunks of
// 62,500 items, 64 MiB did no better than 16. Only pool workers do this:
// the caller's process is the user's, and so are its malloc settings.
constexpr int kWorkerKeepsFreedHeap = 16 << 20;

void KeepFreedHeapForTheNextChunk() {
  mallopt(M_TRIM_THRESHOLD, kWorkerKeepsFreedHeap);
  mallopt(M_MMAP_THRESHOLD, kWorkerKeepsFreedHeap);
}

}  // namespace

std::string WorkerTraceback(const void* fn, const std::string& type,
                            const std::string& message) {
  const ProcessInfo self = current_process();
  std::string where;
  try {
    const CodeLocation at = Locate(fn);
    char offset[32];
    std::snprintf(offset, sizeof offset, "0x%llx",
                  static_cast<unsigned long long>(at.offset));
    // The object and offset too: `addr2line -e OBJECT OFFSET` gives the
    // source line.
    const std::string name = FunctionName(fn);
    where = (name.empty() ? std::string("function") : name) + " at " +
            ObjectPath(at) + " + " + offset;
  } catch (const Error&) {
    where = "an unknown function";
  }
  return "Traceback (from pool worker " + self.name() + ", pid " +
         std::to_string(self.pid()) + "):\n  in task " + where + "\n" + type +
         ": " + message + "\n";
}

void PoolWorkerMain(std::string socket_name, std::string token) {
  KeepFreedHeapForTheNextChunk();
  Connection conn(DialRendezvous(socket_name), true, true);
  conn.send_bytes(EncodeHello(token));
  int64_t max_tasks = 0;  // 0: no budget
  for (int64_t done = 0; max_tasks <= 0 || done < max_tasks;) {
    std::string bytes;
    ReceivedFds fds;  // the shared objects in the setup's or task's values
    try {
      bytes = RecvMessage(conn, &fds);
    } catch (const EOFError&) {
      return;  // the pool is gone
    }
    google::protobuf::Arena arena;
    const v1::PoolRequest& request = ParseRequest(bytes, &arena);
    switch (request.kind_case()) {
      case v1::PoolRequest::kSetup:
        max_tasks = request.setup().max_tasks();
        RunInitializer(request.setup(), std::move(fds));
        break;
      case v1::PoolRequest::kTask: {
        const Reply reply = RunTask(request.task(), std::move(fds));
        SendMessage(conn, reply.bytes, reply.fds);
        ++done;
        break;
      }
      default:  // stop
        return;
    }
  }
}

}  // namespace mp::internal
