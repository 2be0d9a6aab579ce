// Seed: the join-before-get deadlock of Python's programming guidelines.
//
//   def f(q): q.put('X' * 1000000)
//   queue = Queue(); p = Process(target=f, args=(queue,)); p.start()
//   p.join()                    # this deadlocks
//   obj = queue.get()
//
// Python's Queue deadlocks because the child cannot exit until its feeder
// thread has flushed the item into a pipe nobody is reading. mp::Queue has
// no feeder thread and no pipe: put() copies the item into the queue's
// shared memory and returns (an unbounded queue never blocks a put, however
// large the item), so the child exits and join() returns. The order still
// matters for a *bounded* queue that is full: then put() waits for a get(),
// and joining first would wait for ever (join with a timeout, or get first).
#include <iostream>
#include <string>

#include "mp/mp.h"

void f(mp::Queue q) { q.put(std::string(1000000, 'X')); }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Queue queue;
  mp::Process p(f, queue);
  p.start();
  p.join();  // does not deadlock with mp
  mp::Object obj = queue.get();
  std::cout << "got " << obj.as_str().size() << " characters after join()\n";
}
