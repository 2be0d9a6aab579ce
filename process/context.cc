// What a Context makes besides a Process (a template in mp/process.h): a
// Pool and a Manager.
#include <string>
#include <utility>

#include "mp/manager.h"
#include "mp/pool.h"
#include "mp/process.h"

namespace mp {

Pool Context::Pool(int processes) const {
  PoolOptions options;
  options.processes = processes;
  options.context = start_method();
  return mp::Pool(std::move(options));
}

Manager Context::Manager() const { return mp::Manager(); }

}  // namespace mp
