// A shared library of custom types for `mp-manager --load`: it links none
// of mp; its static registration runs at dlopen and resolves mp's symbols
// from mp-manager.
#include <cstdint>
#include <string>

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

// The docs' MathsClass, for the Python client's tests.
class Maths {
 public:
  explicit Maths(int64_t base = 0) : base_(base) {}
  int64_t add(int64_t x, int64_t y) const { return base_ + x + y; }
  double mul(double x, double y) const { return x * y; }

 private:
  int64_t base_;
};

const auto kMaths =
    mp::register_type<Maths>("Maths")
        .constructor<int64_t>()
        .constructor<>()
        .method("add", &Maths::add)
        .method("mul", &Maths::mul)
        .method("lookup", [](const Maths&, const std::string& key) -> int64_t {
          throw mp::KeyError(mp::Object(key).repr());
        });

}  // namespace
