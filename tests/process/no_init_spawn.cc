// Forgets mp::init and asks for spawn: must get a clear error.
#include <iostream>

#include "mp/mp.h"

void Task() {}

int main() {
  try {
    mp::ProcessOptions options;
    options.start_method = "spawn";
    mp::Process p(options, Task);
    p.start();
    p.join();
    std::cout << "started without mp::init\n";
  } catch (const mp::Error& e) {
    std::cout << e.what() << "\n";
  }
}
