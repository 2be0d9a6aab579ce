// The main() shared by the process and pool test binaries
// (process_test_main.cc): mp::init runs first (a spawned child runs its task
// there and exits), one manager serves the whole binary, and the binary
// fails if any child process is left behind after the suite.
#ifndef MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
#define MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_

#include "mp/mp.h"

namespace mp::testing {

// The binary's manager (a real mp-manager process), alive while tests run.
Manager& SharedManager();

}  // namespace mp::testing

#endif  // MP_TESTS_PROCESS_PROCESS_TEST_MAIN_H_
