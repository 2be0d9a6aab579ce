// Seed: choosing the start method, with a Queue.
//
//   def foo(q): q.put('hello')
//   mp.set_start_method('spawn'); q = mp.Queue()
//   p = mp.Process(target=foo, args=(q,)); p.start(); print(q.get()); p.join()
//
// mp::Queue lives in shared memory (a memfd); a spawned child receives its
// descriptor with the task and maps the same queue.
#include <iostream>

#include "mp/mp.h"

void foo(mp::Queue q) { q.put("hello"); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::set_start_method("spawn");
  mp::Queue q;
  mp::Process p(foo, q);
  p.start();
  std::cout << q.get().str() << "\n";
  p.join();
}
