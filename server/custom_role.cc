// Lets a program that registers custom types serve them from its own
// executable: register_type calls EnableCustomTypeServer, which hands
// mp::init the manager's main (common/custom_registry.h).
#include "common/custom_registry.h"
#include "mp/register.h"
#include "server/manager_main.h"

namespace mp::internal {

void EnableCustomTypeServer() { SetServerRoleMain(&server::ManagerMain); }

}  // namespace mp::internal
