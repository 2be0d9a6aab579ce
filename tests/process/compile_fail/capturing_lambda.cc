// Must not compile: a lambda with captures cannot be sent to a worker.
#include <vector>

#include "mp/pool.h"

void Misuse(mp::Pool& pool) {
  int64_t k = 2;
  pool.map([k](int64_t x) { return x * k; }, std::vector<int64_t>{1, 2});
}
