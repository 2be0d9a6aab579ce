// Seed: the Pool tour from Python's documentation.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "mp/mp.h"

int64_t f(int64_t x) { return x * x; }
int64_t getpid_() { return getpid(); }
void sleep_(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  using namespace std::chrono_literals;
  {
    mp::Pool pool(4);
    // print "[0, 1, 4,..., 81]"
    std::cout << mp::to_object(pool.map(f, range(10))) << "\n";

    // print same numbers in arbitrary order
    for (int64_t i : pool.imap_unordered(f, range(10))) std::cout << i << "\n";

    // evaluate "f(20)" asynchronously
    auto res = pool.apply_async(f, 20);  // runs in *only* one process
    std::cout << res.get(1s) << "\n";    // prints "400"

    // evaluate "getpid()" asynchronously
    auto pid = pool.apply_async(getpid_);  // runs in *only* one process
    std::cout << pid.get(1s) << "\n";      // prints the PID of that process

    // launching multiple evaluations asynchronously *may* use more processes
    std::vector<mp::AsyncResult<int64_t>> multiple_results;
    for (int i = 0; i < 4; ++i)
      multiple_results.push_back(pool.apply_async(getpid_));
    std::vector<int64_t> pids;
    for (auto& r : multiple_results) pids.push_back(r.get(1s));
    std::cout << mp::to_object(pids) << "\n";

    // make a single worker sleep for 10 secs
    auto sleeping = pool.apply_async(sleep_, 10.0);
    try {
      sleeping.get(1s);
    } catch (const mp::TimeoutError&) {
      std::cout
          << "We lacked patience and got a multiprocessing.TimeoutError\n";
    }
    std::cout << "For the moment, the pool remains available for more work\n";
  }  // leaving the scope terminates the pool (the sleeping worker too)
  std::cout << "Now the pool is closed and no longer available\n";
}
