// The seeds' Manager example:
//
//   def f(d, l):
//       d[1] = '1'; d['2'] = 2; d[0.25] = None; l.reverse()
//
//   with Manager() as manager:
//       d = manager.dict(); l = manager.list(range(10))
//       p = Process(target=f, args=(d, l)); p.start(); p.join()
//       print(d); print(l)
#include <iostream>
#include <vector>

#include "mp/mp.h"

void f(mp::DictProxy d, mp::ListProxy l) {
  d[1] = "1";
  d["2"] = 2;
  d[0.25] = nullptr;
  l.reverse();
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Manager manager;
  mp::DictProxy d = manager.dict();
  mp::ListProxy l =
      manager.list(std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  mp::Process p(f, d, l);
  p.start();
  p.join();

  std::cout << d << "\n";
  std::cout << l << "\n";
}
