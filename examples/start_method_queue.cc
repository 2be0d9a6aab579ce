// Seed: choosing the start method, with a Queue.
//
//   def foo(q): q.put('hello')
//   mp.set_start_method('spawn'); q = mp.Queue()
//   p = mp.Process(target=foo, args=(q,)); p.start(); print(q.get()); p.join()
//
// mp's Queue lives in a Manager (mp has no pipe-and-feeder-thread Queue),
// which any start method can pass to its children.
#include <iostream>

#include "mp/mp.h"

void foo(mp::QueueProxy q) { q.put("hello"); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::set_start_method("spawn");
  mp::Manager m;
  mp::QueueProxy q = m.Queue();
  mp::Process p(foo, q);
  p.start();
  std::cout << q.get().str() << "\n";
  p.join();
}
