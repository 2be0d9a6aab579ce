// Seed: a Lock makes the processes print one at a time (a robust lock in
// shared memory, as Python's top-level multiprocessing.Lock; no server).
//
//   def f(l, i):
//       l.acquire()
//       try: print('hello world', i)
//       finally: l.release()
//   lock = Lock()
//   for num in range(10): Process(target=f, args=(lock, num)).start()
#include <iostream>
#include <mutex>
#include <vector>

#include "mp/mp.h"

void f(mp::Lock l, int64_t i) {
  std::lock_guard<mp::Lock> hold(l);
  std::cout << "hello world " << i << std::endl;
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Lock lock;
  std::vector<mp::Process> ps;
  for (int64_t num = 0; num < 10; ++num) {
    ps.emplace_back(f, lock, num);
    ps.back().start();
  }
  for (auto& p : ps) p.join();  // Python joins non-daemon children at exit
}
