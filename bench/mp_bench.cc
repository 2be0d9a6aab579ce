// mp's side of the benchmark workloads (DESIGN.md, "Benchmarks"). Prints
// one JSON object per line, in the format of python_reference.py, so
// bench/run.py can put both side by side. Run through bench/run.py.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mp/mp.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Emit(const char* workload, const char* metric, double value,
          const char* unit) {
  std::printf(
      "{\"workload\": \"%s\", \"metric\": \"%s\", \"value\": %.3f, "
      "\"unit\": \"%s\", \"impl\": \"mp\"}\n",
      workload, metric, value, unit);
  std::fflush(stdout);
}

void W1(mp::Manager& m, int n) {
  mp::DictProxy d = m.dict();
  for (int i = 0; i < 100; ++i) d.set(i, i);  // warm up
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) d.set(i % 100, i);
  Emit("W1", "dict_set", Seconds(t) / n * 1e6, "us/op");
  t = Clock::now();
  for (int i = 0; i < n; ++i) (void)d.getitem(i % 100);
  Emit("W1", "dict_get", Seconds(t) / n * 1e6, "us/op");
}

void W5(mp::Manager& m, int n) {
  mp::DictProxy d = m.dict();
  std::vector<mp::PendingReply> replies;
  replies.reserve(n);
  auto t = Clock::now();
  for (int i = 0; i < n; ++i) replies.push_back(d.set_async(i, i));
  for (auto& r : replies) r.get();
  Emit("W5", "dict_set_one_client_max_rate", n / Seconds(t), "ops/s");
  if (d.size() != static_cast<size_t>(n)) {
    std::cerr << "W5: wrong dict size\n";
    std::exit(1);
  }
}

void W6(mp::Manager& m, int n_doubles) {
  // Created from n zeros, as Python's side does (m.Array('d', [0.0] * n)).
  mp::ArrayProxy<double> a = m.Array<double>(std::vector<double>(n_doubles));
  const double mb = n_doubles * 8 / 1e6;
  std::vector<double> values(n_doubles);
  for (int i = 0; i < n_doubles; ++i) values[i] = i;
  // One untimed write and read first. The first large write into an Array
  // runs at ~120 MB/s here, almost all of it first-touch page faults on
  // freshly allocated buffers in this VM (~25 us each); later ones at over
  // 1 GB/s. bench/README.md reports both.
  auto t = Clock::now();
  a.assign(0, std::vector<double>(n_doubles));
  Emit("W6", "array_write_whole_cold", mb / Seconds(t), "MB/s");
  (void)a.to_vector();
  t = Clock::now();
  a.assign(0, values);
  Emit("W6", "array_write_whole", mb / Seconds(t), "MB/s");
  t = Clock::now();
  std::vector<double> got = a.to_vector();
  Emit("W6", "array_read_whole", mb / Seconds(t), "MB/s");
  if (got.back() != values.back()) {
    std::cerr << "W6: wrong contents\n";
    std::exit(1);
  }
}

constexpr char kUsage[] = R"(usage: mp_bench [--only W1,W5,W6] [--scale S]

mp's side of the benchmark workloads; prints JSON lines. Use bench/run.py
to run it beside Python's reference and print the comparison table.
)";

}  // namespace

int main(int argc, char** argv) {
  std::set<std::string> want = {"W1", "W5", "W6"};
  double scale = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--only" && i + 1 < argc) {
      want.clear();
      std::stringstream list(argv[++i]);
      for (std::string w; std::getline(list, w, ',');) want.insert(w);
    } else if (arg == "--scale" && i + 1 < argc) {
      scale = std::atof(argv[++i]);
      if (scale <= 0) {
        std::cerr << "mp_bench: --scale must be positive\n";
        return 2;
      }
    } else {
      std::cerr << "mp_bench: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  auto k = [scale](int n) { return std::max(200, static_cast<int>(n * scale)); };
  try {
    mp::Manager m;
    if (want.count("W1")) W1(m, k(20000));
    if (want.count("W5")) W5(m, k(100000));
    if (want.count("W6")) W6(m, std::max(1000, static_cast<int>(1000000 * scale)));
  } catch (const mp::Error& e) {
    std::cerr << "mp_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
