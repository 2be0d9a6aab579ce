// Seed: get_context() instead of set_start_method().
//
//   ctx = mp.get_context('spawn'); q = ctx.Queue()
//   p = ctx.Process(target=foo, args=(q,)); p.start(); print(q.get()); p.join()
#include <iostream>

#include "mp/mp.h"

void foo(mp::QueueProxy q) { q.put("hello"); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Context ctx = mp::get_context("spawn");
  mp::Manager m;
  mp::QueueProxy q = m.Queue();
  mp::Process p = ctx.Process(foo, q);
  p.start();
  std::cout << q.get().str() << "\n";
  p.join();
}
