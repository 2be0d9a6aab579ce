// A fixture shared by the server-less objects' tests: it starts children
// under the start method its parameter names.
#ifndef MP_TESTS_SHARED_CHILD_FIXTURE_H_
#define MP_TESTS_SHARED_CHILD_FIXTURE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

#include "mp/mp.h"
#include "tests/test_util.h"

namespace mp::testing {

// TEST_P fixture: GetParam() is "fork", "spawn" or "forkserver".
class StartMethod : public ::testing::TestWithParam<std::string> {
 protected:
  template <class F, class... Args>
  mp::Process Start(F f, Args&&... args) {
    mp::ProcessOptions options;
    options.start_method = GetParam();
    mp::Process p(std::move(options), f, std::forward<Args>(args)...);
    p.start();
    return p;
  }
  // Joins within a minute and expects exit code 0.
  static void JoinOk(mp::Process& p) {
    ASSERT_TRUE(p.join(std::chrono::duration<double>(60)));
    EXPECT_EQ(p.exitcode(), 0);
  }
};

}  // namespace mp::testing

#endif  // MP_TESTS_SHARED_CHILD_FIXTURE_H_
