#include "common/custom_registry.h"

#include <algorithm>
#include <atomic>

#include "absl/synchronization/mutex.h"

namespace mp::internal {
namespace {

struct Registry {
  absl::Mutex mu;
  std::vector<std::shared_ptr<CustomTypeInfo>> types ABSL_GUARDED_BY(mu);
};

// Never destroyed: static registrations of other translation units (and of
// shared libraries) may run before or after this one's initialisation.
Registry& GetRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

std::atomic<ServerRoleMain> server_role_main{nullptr};

}  // namespace

void RegisterCustomType(std::shared_ptr<CustomTypeInfo> info) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  for (auto& existing : r.types) {
    if (existing->name == info->name) {
      existing = std::move(info);
      return;
    }
  }
  r.types.push_back(std::move(info));
}

std::shared_ptr<const CustomTypeInfo> FindCustomType(std::string_view name) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  for (const auto& t : r.types) {
    if (t->name == name) return t;
  }
  return nullptr;
}

std::shared_ptr<const CustomTypeInfo> FindCustomType(
    const std::type_info& type) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  for (const auto& t : r.types) {
    if (*t->type == type) return t;
  }
  return nullptr;
}

std::vector<std::string> CustomTypeNames() {
  std::vector<std::string> names;
  {
    Registry& r = GetRegistry();
    absl::MutexLock lock(&r.mu);
    for (const auto& t : r.types) names.push_back(t->name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void ThrowCustomArity(const std::string& where, size_t expected, size_t given) {
  throw TypeError(where + " takes " + std::to_string(expected) +
                  (expected == 1 ? " argument (" : " arguments (") +
                  std::to_string(given) + " given)");
}

void SetServerRoleMain(ServerRoleMain main) { server_role_main.store(main); }
ServerRoleMain GetServerRoleMain() { return server_role_main.load(); }

bool ServesOwnCustomTypes() {
  return GetServerRoleMain() != nullptr && !CustomTypeNames().empty();
}

}  // namespace mp::internal
