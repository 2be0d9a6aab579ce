// Moving a task to a process started with spawn or forkserver, and running
// it there.
#ifndef MP_PROCESS_TASK_CODEC_H_
#define MP_PROCESS_TASK_CODEC_H_

#include <string>
#include <vector>

#include "mp/process.h"

namespace google::protobuf {
template <typename Element>
class RepeatedPtrField;
}  // namespace google::protobuf
namespace mp::v1 {
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

// At most this many descriptors travel with one task (SCM_RIGHTS allows
// 253 per message, and the forkserver request holds two of its own).
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

// A value as bytes for another process of this program (Pipe messages):
// proxies carry their manager's address and key and are attached to the
// receiver's own session when decoded.
std::string EncodeTransfer(const Object& value);
Object DecodeTransfer(const std::string& bytes);

// `value` as a v1::Value whose proxies carry their manager's address and
// key, recorded once per manager in `managers` (for messages that embed
// values, as the Pool's; DecodeWithManagers attaches the proxies to this
// process's own sessions).
void EncodeWithManagers(
    const Object& value, v1::Value* out,
    google::protobuf::RepeatedPtrField<v1::ManagerRef>* managers);
Object DecodeWithManagers(
    const v1::Value& value,
    const google::protobuf::RepeatedPtrField<v1::ManagerRef>& managers);

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
