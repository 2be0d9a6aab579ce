// Must not compile: the error_callback cannot take an mp::Error.
#include <vector>

#include "mp/pool.h"

int64_t Sqr(int64_t x) { return x * x; }

void Misuse(mp::Pool& pool) {
  pool.map_async(
      Sqr, std::vector<int64_t>{1, 2}, 0, [](const std::vector<int64_t>&) {},
      [](int) {});
}
