// Seed: Pool.map of x*x.
//
//   def f(x): return x*x
//   with Pool(5) as p: print(p.map(f, [1, 2, 3]))
#include <iostream>

#include "mp/mp.h"

int64_t f(int64_t x) { return x * x; }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Pool p(5);
  std::cout << mp::to_object(p.map(f, std::vector<int64_t>{1, 2, 3})) << "\n";
}
