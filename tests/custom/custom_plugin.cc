// A shared library of custom types for `mp-manager --load`: it links none
// of mp; its static registration runs at dlopen and resolves mp's symbols
// from mp-manager.
#include <cstdint>

#include "mp/register.h"

namespace {

class Counter {
 public:
  explicit Counter(int64_t start = 0) : value_(start) {}
  void increment() { ++value_; }
  int64_t value() const { return value_; }

 private:
  int64_t value_;
};

const auto kCounter = mp::register_type<Counter>("Counter")
                          .constructor<int64_t>()
                          .constructor<>()
                          .method("increment", &Counter::increment)
                          .method("value", &Counter::value);

}  // namespace
