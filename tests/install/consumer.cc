// Uses an installed mp: a Manager (spawning the installed mp-manager) and an
// embedded mp::Server.
#include <mp/mp.h>
#include <mp/server.h>

#include <iostream>

int main() {
  mp::Manager m;
  mp::DictProxy d = m.dict();
  d["answer"] = 42;
  mp::Server server(mp::ServerOptions{.authkey = "consumer"});
  server.start();
  mp::ListProxy l = server.manager().list({1, 2, 3});
  std::cout << d << " " << l << "\n";
  return d["answer"].get() == mp::Object(42) && l.size() == 3 ? 0 : 1;
}
