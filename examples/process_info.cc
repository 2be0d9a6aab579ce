// Seed: a Process whose function prints its module name, parent and pid.
//
//   def info(title):
//       print(title); print('module name:', __name__)
//       print('parent process:', os.getppid()); print('process id:',
//       os.getpid())
//   def f(name): info('function f'); print('hello', name)
//   info('main line'); p = Process(target=f, args=('bob',)); p.start();
//   p.join()
//
// C++ has no module names; the program's name stands in for __name__
// ("__main__" in Python's main module and "__mp_main__" in a spawned child).
#include <unistd.h>

#include <iostream>
#include <string>

#include "mp/mp.h"

void info(const std::string& title) {
  std::cout << title << "\n";
  std::cout << "module name: "
            << (mp::parent_process() ? "__mp_main__" : "__main__") << "\n";
  std::cout << "parent process: " << getppid() << "\n";
  std::cout << "process id: " << getpid() << "\n";
  std::cout.flush();
}

void f(std::string name) {
  info("function f");
  std::cout << "hello " << name << "\n";
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  info("main line");
  mp::Process p(f, std::string("bob"));
  p.start();
  p.join();
}
