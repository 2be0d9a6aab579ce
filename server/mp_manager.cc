// The mp-manager executable (server/mp_manager_main.cc has the program).
#include "common/custom_registry.h"
#include "server/manager_main.h"

int main(int argc, char** argv) {
  // Also links in what a --load library resolves from this executable.
  mp::internal::EnableCustomTypeServer();
  return mp::server::ManagerMain(argc, argv);
}
