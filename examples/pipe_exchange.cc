// Seed: exchanging objects through a Pipe.
//
//   def f(conn): conn.send([42, None, 'hello']); conn.close()
//   parent_conn, child_conn = Pipe()
//   p = Process(target=f, args=(child_conn,)); p.start()
//   print(parent_conn.recv())   # prints "[42, None, 'hello']"
//
// A Pipe's ends are file descriptors, which only a forked child inherits:
// this uses the fork context (spawn/forkserver children get a Queue).
#include <iostream>

#include "mp/mp.h"

int main(int argc, char** argv) {
  mp::init(argc, argv);
  auto [parent_conn, child_conn] = mp::Pipe();
  mp::Connection* conn = &child_conn;
  mp::Process p = mp::get_context("fork").Process([conn] {
    conn->send(mp::Object::list({42, nullptr, "hello"}));
    conn->close();
  });
  p.start();
  child_conn.close();
  std::cout << parent_conn.recv() << "\n";  // prints "[42, None, 'hello']"
  p.join();
}
