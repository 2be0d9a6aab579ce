// Must not compile: a std::function cannot be sent to a worker.
#include <functional>

#include "mp/pool.h"

int64_t Sqr(int64_t x) { return x * x; }

void Misuse(mp::Pool& pool) {
  std::function<int64_t(int64_t)> f = Sqr;
  pool.apply_async(f, 3).get();
}
