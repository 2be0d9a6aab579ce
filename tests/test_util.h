// Shared helpers for mp's tests.
#ifndef MP_TESTS_TEST_UTIL_H_
#define MP_TESTS_TEST_UTIL_H_

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "mp/mp.h"

namespace mp::testing {

// One private manager server (a real mp-manager process) per test suite.
class ManagerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { manager_ = new Manager(); }
  static void TearDownTestSuite() {
    delete manager_;
    manager_ = nullptr;
  }
  static Manager& m() { return *manager_; }

 private:
  static inline Manager* manager_ = nullptr;
};

// list(range(n)) as a list Object.
inline Object Range(int64_t n) {
  Object::List items;
  for (int64_t i = 0; i < n; ++i) items.push_back(i);
  return Object::list(std::move(items));
}

inline Object L(std::initializer_list<Object> items) {
  return Object::list(items);
}

// Runs `body` in a fork()ed child and returns its exit status (the child
// exits 0 if body returns, 1 if it throws).
inline int RunInChild(const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      fprintf(stderr, "child: %s\n", e.what());
      code = 1;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Entries in /proc/self/fd (this process's open descriptors, plus the
// one reading them): compared before and after, it shows a leak.
inline int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// A fresh private directory under /tmp, removed with its contents.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mp-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mp::testing

#endif  // MP_TESTS_TEST_UTIL_H_
