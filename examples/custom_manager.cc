// The docs' custom manager example (BaseManager.register):
//
//   class MathsClass:
//       def add(self, x, y): return x + y
//       def mul(self, x, y): return x * y
//
//   class MyManager(BaseManager): pass
//   MyManager.register('Maths', MathsClass)
//
//   with MyManager() as manager:
//       maths = manager.Maths()
//       print(maths.add(4, 3))         # prints 7
//       print(maths.mul(7, 8))         # prints 56
//
// mp::Manager starts its server from this executable (mp::init serves the
// registered types there), so the program links mp::server.
#include <cstdint>
#include <iostream>

#include "mp/mp.h"

class MathsClass {
 public:
  int64_t add(int64_t x, int64_t y) { return x + y; }
  int64_t mul(int64_t x, int64_t y) { return x * y; }
};

static const auto kMaths = mp::register_type<MathsClass>("Maths")
                               .method("add", &MathsClass::add)
                               .method("mul", &MathsClass::mul);

// A typed proxy: what MyManager's generated proxy gives Python.
class MathsProxy : public mp::BaseProxy {
 public:
  using mp::BaseProxy::BaseProxy;
  int64_t add(int64_t x, int64_t y) const { return call<int64_t>("add", x, y); }
  int64_t mul(int64_t x, int64_t y) const { return call<int64_t>("mul", x, y); }
};

int main(int argc, char** argv) {
  mp::init(argc, argv);
  mp::Manager manager;
  MathsProxy maths = manager.create<MathsProxy>("Maths");
  std::cout << maths.add(4, 3) << "\n";  // prints 7
  std::cout << maths.mul(7, 8) << "\n";  // prints 56
  return 0;
}
