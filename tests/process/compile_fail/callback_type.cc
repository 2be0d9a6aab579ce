// Must not compile: the callback cannot take the result (an int64_t).
#include <string>

#include "mp/pool.h"

int64_t Sqr(int64_t x) { return x * x; }

void Misuse(mp::Pool& pool) {
  pool.apply_async(Sqr, 3, mp::callback([](const std::string&) {}));
}
