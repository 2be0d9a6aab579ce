// Seed: shared Value and Array, in shared memory with no server (Python's
// top-level multiprocessing.Value and Array), passed to a child under the
// default start method.
//
//   def f(n, a):
//       n.value = 3.1415927
//       for i in range(len(a)): a[i] = -a[i]
//   num = Value('d', 0.0); arr = Array('i', range(10))
//   p = Process(target=f, args=(num, arr)); p.start(); p.join()
//   print(num.value); print(arr[:])
#include <iostream>

#include "mp/mp.h"

void f(mp::Value<double> n, mp::Array<int32_t> a) {
  n.set(3.1415927);
  for (size_t i = 0; i < a.size(); ++i) a.set(i, -a.get(i));
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Value<double> num(0.0);                              // double
  mp::Array<int32_t> arr({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // signed integer
  mp::Process p(f, num, arr);
  p.start();
  p.join();
  std::cout << mp::Object(num.get()) << "\n";
  std::cout << mp::to_object(arr.slice(0, arr.size())) << "\n";
}
