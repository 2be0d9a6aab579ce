// Seed: shared Value and Array (here the Manager's, which any start method
// can pass to children).
//
//   def f(n, a):
//       n.value = 3.1415927
//       for i in range(len(a)): a[i] = -a[i]
//   num = Value('d', 0.0); arr = Array('i', range(10))
//   p = Process(target=f, args=(num, arr)); p.start(); p.join()
//   print(num.value); print(arr[:])
#include <iostream>
#include <vector>

#include "mp/mp.h"

void f(mp::ValueProxy<double> n, mp::ArrayProxy<int32_t> a) {
  n.set(3.1415927);
  for (size_t i = 0; i < a.size(); ++i) a.set(i, -a.get(i));
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Manager m;
  mp::ValueProxy<double> num = m.Value<double>(0.0);
  mp::ArrayProxy<int32_t> arr =
      m.Array<int32_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  mp::Process p(f, num, arr);
  p.start();
  p.join();
  std::cout << mp::Object(num.get()) << "\n";
  std::cout << mp::to_object(arr.to_vector()) << "\n";
}
