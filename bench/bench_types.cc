// W13's user type, in a shared library for `mp-manager --load`: mp_bench
// starts its own mp-manager with it, so W13 runs on the same server binary as
// W1-W11 and mp_bench itself registers nothing (a program that registers
// types starts every mp::Manager from its own executable, which would change
// what W1-W11 measure). Links none of mp: the registration resolves mp's
// symbols from mp-manager at dlopen.
#include <cstdint>

#include "mp/register.h"

namespace {

// python_side.py's Maths: add(x, y) returns x + y.
class Maths {
 public:
  int64_t add(int64_t x, int64_t y) const { return x + y; }
};

const auto kMaths =
    mp::register_type<Maths>("Maths").method("add", &Maths::add);

}  // namespace
