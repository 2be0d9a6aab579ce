// Seed: global variables under fork and spawn.
//
//   msg = 'Init'
//   def worker(): print(msg)
//   if __name__ == '__main__':
//       msg = 'Main'
//       proc = mp.Process(target=worker); proc.start(); proc.join()
//
// "Main" under fork (the child is a copy of the parent's memory), "Init"
// under spawn (the child starts the program afresh) - and under forkserver,
// whose server was started fresh too. Pass such values as arguments.
#include <iostream>
#include <string>

#include "mp/mp.h"

std::string msg = "Init";

void worker() { std::cout << msg << std::endl; }

int main(int argc, char** argv) {
  mp::init(argc, argv);
  msg = "Main";
  for (const char* method : {"fork", "spawn"}) {
    std::cout << method << ": " << std::flush;
    mp::Process proc = mp::get_context(method).Process(worker);
    proc.start();
    proc.join();
  }
}
