// Moving a task to a process started with spawn or forkserver, and running
// it there.
#ifndef MP_PROCESS_TASK_CODEC_H_
#define MP_PROCESS_TASK_CODEC_H_

#include <string>
#include <vector>

#include "common/fd_ref.h"
#include "mp/process.h"

namespace google::protobuf {
template <typename Element>
class RepeatedPtrField;
}  // namespace google::protobuf
namespace mp::v1 {
class CarriedFd;
class ManagerRef;
class Value;
}  // namespace mp::v1

namespace mp::internal {

// Serialises `task` (a plain function and its arguments) as a TaskSpec.
// Proxies in the arguments carry their manager's address and key, so the
// child can attach them through a session of its own. The descriptors of
// the server-less shared objects in the arguments are appended to
// `carried` (owned by the task's arguments: valid while the task lives);
// the child must receive them, in order (RunEncodedTask).
std::string EncodeTask(const Task& task, const std::string& name,
                       const std::string& start_method,
                       std::vector<int>* carried);

// At most this many descriptors travel with one task or message
// (SCM_RIGHTS allows 253 per message, and the forkserver request holds two
// of its own).
inline constexpr size_t kMaxCarriedFds = 200;

// In the new process: decodes the task, attaches its proxies, writes one
// byte to `ready_fd` (if >= 0) so the parent may drop its own references,
// runs the function and returns the exit code (1 after printing an
// exception, like Python's child bootstrap). `carried`: the descriptors
// EncodeTask listed, as received (this process owns them).
int RunEncodedTask(const std::string& spec, int ready_fd,
                   const std::vector<int>& carried);

// Runs a task already in this process (fork): attaches proxies found in
// the arguments, signals `ready_fd`, runs, returns the exit code.
int RunTaskInChild(const Task& task, int ready_fd);

// The descriptors one message carries (TaskSpec.carried, PoolTask.carried,
// ...): each server-less shared object's or Connection end's once, in the
// order `specs` lists them. The `fds` are borrowed from the FdRefs in the
// values encoded: valid while those values live. At most kMaxCarriedFds
// (ValueError beyond).
struct CarriedOut {
  google::protobuf::RepeatedPtrField<v1::CarriedFd>* specs;
  std::vector<int>* fds;
  std::vector<const void*> seen = {};  // the FdRef behind each fd
};

// The descriptors received with a message, as the objects its `specs`
// describe: each is owned by an FdRef from here on (closed with the last
// copy). ProcessError when their number differs from the specs' (all are
// closed then).
std::vector<Object> AdoptCarried(
    const google::protobuf::RepeatedPtrField<v1::CarriedFd>& specs,
    ReceivedFds fds);

// A value as bytes for another process of this program (Pipe messages):
// proxies carry their manager's address and key and are attached to the
// receiver's own session when decoded; the descriptors of shared objects
// and Connection ends are appended to `fds` (borrowed from `value`), to be
// sent with the bytes, and DecodeTransfer takes those received.
std::string EncodeTransfer(const Object& value, std::vector<int>* fds);
Object DecodeTransfer(const std::string& bytes, ReceivedFds fds);

// `value` as a v1::Value whose proxies carry their manager's address and
// key, recorded once per manager in `managers`, and whose shared objects
// are listed in `carried` (for messages that embed values, as the Pool's;
// DecodeWithManagers attaches the proxies to this process's own sessions
// and takes the shared objects from `carried`, AdoptCarried's result).
void EncodeWithManagers(
    const Object& value, v1::Value* out,
    google::protobuf::RepeatedPtrField<v1::ManagerRef>* managers,
    CarriedOut* carried);
Object DecodeWithManagers(
    const v1::Value& value,
    const google::protobuf::RepeatedPtrField<v1::ManagerRef>& managers,
    const std::vector<Object>& carried);

// Whether any manager proxy appears in `value` (the parent then waits for
// the child to attach before start() returns).
bool ContainsProxy(const Object& value);

// Identity of the running process for current_process()/parent_process(),
// and the start method that created it (its get_start_method()).
void SetProcessIdentity(const std::string& name, pid_t parent_pid,
                        const std::string& parent_name,
                        const std::string& start_method);

}  // namespace mp::internal

#endif  // MP_PROCESS_TASK_CODEC_H_
