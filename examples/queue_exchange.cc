// Seed: exchanging objects through a Queue.
//
//   def f(q): q.put([42, None, 'hello'])
//   q = Queue(); p = Process(target=f, args=(q,)); p.start()
//   print(q.get())    # prints "[42, None, 'hello']"
//
// mp::Queue is Python's top-level Queue: shared memory, no server.
#include <iostream>

#include "mp/mp.h"

void f(mp::Queue q) { q.put(mp::Object::list({42, nullptr, "hello"})); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Queue q;
  mp::Process p(f, q);
  p.start();
  std::cout << q.get() << "\n";  // prints "[42, None, 'hello']"
  p.join();
}
