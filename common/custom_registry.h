// The process-wide registry of custom types (mp/register.h), and the hook
// through which mp::init runs a server that serves them from this very
// executable (mp::Manager's private server in a program that registered
// types).
#ifndef MP_COMMON_CUSTOM_REGISTRY_H_
#define MP_COMMON_CUSTOM_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "mp/register.h"

namespace mp::internal {

// Thread-safe. Null when no type is registered under that name / C++ type.
std::shared_ptr<const CustomTypeInfo> FindCustomType(std::string_view name);
std::shared_ptr<const CustomTypeInfo> FindCustomType(
    const std::type_info& type);
// Sorted.
std::vector<std::string> CustomTypeNames();

// The environment variable that makes mp::init run the manager server in
// place of main() (set by mp::Manager when it starts /proc/self/exe).
inline constexpr char kServerRoleEnv[] = "MP_SERVER_ROLE";

// Runs mp-manager's main with `argv`; set by mp::server
// (EnableCustomTypeServer). Null when this executable cannot serve.
using ServerRoleMain = int (*)(int argc, char** argv);
void SetServerRoleMain(ServerRoleMain main);
ServerRoleMain GetServerRoleMain();

// True when this executable registered types and can serve them: then
// mp::Manager starts its server from /proc/self/exe.
bool ServesOwnCustomTypes();

}  // namespace mp::internal

#endif  // MP_COMMON_CUSTOM_REGISTRY_H_
