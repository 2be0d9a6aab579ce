// mp-manager's main, callable from other executables: mp::init runs it in
// a program that serves its own custom types (mp/register.h).
#ifndef MP_SERVER_MANAGER_MAIN_H_
#define MP_SERVER_MANAGER_MAIN_H_

namespace mp::server {

// Parses mp-manager's command line (argv[0] is the program) and serves
// until shut down; returns the exit status.
int ManagerMain(int argc, char** argv);

}  // namespace mp::server

#endif  // MP_SERVER_MANAGER_MAIN_H_
