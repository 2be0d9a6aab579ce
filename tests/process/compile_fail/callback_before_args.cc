// Must not compile: apply_async's callbacks come after the arguments.
#include "mp/pool.h"

int64_t Mul(int64_t a, int64_t b) { return a * b; }

void Misuse(mp::Pool& pool) {
  pool.apply_async(Mul, 6, mp::callback([](const int64_t&) {}), 7);
}
