// Issue 16: a program that forgets mp::init and makes a spawn or forkserver
// Pool gets the clear ProcessError a Process gets - it used to end in
// "terminate called ... can only join a started process" (the pool's
// thread joined a worker that never started). Prints each error and, last,
// "no abort": the ctest checks for all of them.
#include <iostream>
#include <vector>

#include "mp/mp.h"

int64_t Sqr(int64_t x) { return x * x; }

int main() {
  for (const char* method : {"spawn", "forkserver"}) {
    try {
      mp::Pool pool(mp::PoolOptions{.processes = 2, .context = method});
      std::cout << mp::to_object(pool.map(Sqr, std::vector<int64_t>{1, 2}))
                << "\n";
      std::cout << "a " << method << " pool ran without mp::init\n";
    } catch (const mp::Error& e) {
      std::cout << e.what() << "\n";
    }
  }
  {
    // fork needs no mp::init, for a Pool as for a Process.
    mp::Pool pool(mp::PoolOptions{.processes = 1, .context = "fork"});
    std::cout << pool.apply(Sqr, 7) << "\n";
  }
  std::cout << "no abort\n";
}
