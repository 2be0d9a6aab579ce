// Seed: exchanging objects through a Pipe, the child's end passed as an
// argument (under the default start method, as in Python).
//
//   def f(conn): conn.send([42, None, 'hello']); conn.close()
//   parent_conn, child_conn = Pipe()
//   p = Process(target=f, args=(child_conn,)); p.start()
//   print(parent_conn.recv())   # prints "[42, None, 'hello']"
#include <iostream>

#include "mp/mp.h"

void f(mp::Connection conn) {
  conn.send(mp::Object::list({42, nullptr, "hello"}));
  conn.close();
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  auto [parent_conn, child_conn] = mp::Pipe();
  mp::Process p(f, child_conn);
  p.start();
  std::cout << parent_conn.recv() << "\n";  // prints "[42, None, 'hello']"
  p.join();
}
