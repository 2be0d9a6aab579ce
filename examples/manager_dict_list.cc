// The seeds' Manager example:
//
//   def f(d, l):
//       d[1] = '1'; d['2'] = 2; d[0.25] = None; l.reverse()
//
//   with Manager() as manager:
//       d = manager.dict(); l = manager.list(range(10))
//       p = Process(target=f, args=(d, l)); p.start(); p.join()
//       print(d); print(l)
//
// Until mp::Process lands, the child is a plain fork(): it inherits the
// proxies and attaches to the manager through its own session.
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "mp/mp.h"

void f(mp::DictProxy d, mp::ListProxy l) {
  d[1] = "1";
  d["2"] = 2;
  d[0.25] = nullptr;
  l.reverse();
}

int main() {
  mp::Manager manager;
  mp::DictProxy d = manager.dict();
  mp::ListProxy l = manager.list(std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  pid_t pid = fork();
  if (pid == 0) {
    try {
      f(d, l);
    } catch (const std::exception& e) {
      std::cerr << "child: " << e.what() << "\n";
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "child failed\n";
    return 1;
  }

  std::cout << d << "\n";
  std::cout << l << "\n";
}
