// Seed: exchanging objects through a Queue.
//
//   def f(q): q.put([42, None, 'hello'])
//   q = Queue(); p = Process(target=f, args=(q,)); p.start()
//   print(q.get())    # prints "[42, None, 'hello']"
#include <iostream>

#include "mp/mp.h"

void f(mp::QueueProxy q) { q.put(mp::Object::list({42, nullptr, "hello"})); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Manager m;
  mp::QueueProxy q = m.Queue();
  mp::Process p(f, q);
  p.start();
  std::cout << q.get() << "\n";  // prints "[42, None, 'hello']"
  p.join();
}
