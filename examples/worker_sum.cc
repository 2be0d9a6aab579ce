// Seed: the smallest Process.
//
//   def worker(a, b): print(a + b)
//   workerproc = mp.Process(target=worker, args=(1, 2))
//   workerproc.start(); workerproc.join()
#include <iostream>

#include "mp/mp.h"

void worker(int64_t a, int64_t b) { std::cout << a + b << std::endl; }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Process workerproc(worker, 1, 2);
  workerproc.start();
  workerproc.join();  // Wait for it to complete.
}
