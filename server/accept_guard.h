// Keeps gRPC's listening sockets alive when the process runs out of file
// descriptors.
//
// gRPC 1.51 (Debian 12's) ends a listener for good the first time accept4
// fails with anything but EAGAIN or ECONNABORTED: one EMFILE ("Failed
// accept4: Too many open files") and the server never accepts again, on
// unix sockets and TCP alike, before any authentication (issue 15,
// finding 1; tests/server/fd_limit_test.cc). 1.51 has no option for it, so
// mp_server defines accept4 itself. The dynamic linker resolves libgrpc's
// call to that definition (the executable and mp's libraries come before
// libc in lookup order). For a socket registered here, running out of
// descriptors becomes: refuse pending connections one at a time with a
// spare descriptor (accept, close: the client sees the connection closed
// instead of waiting in the backlog) for as long as accept4 still fails;
// hand gRPC the first connection that can be accepted again, or report
// EAGAIN once the backlog is empty, on which gRPC waits for the next
// connection. Every other accept4 in the process, and every other
// outcome, is the system call's, unchanged.
//
// Thread-safe. Registration costs a scan of /proc/self/fd; the accept path
// is untouched unless accept4 fails.
#ifndef MP_SERVER_ACCEPT_GUARD_H_
#define MP_SERVER_ACCEPT_GUARD_H_

#include <string>
#include <vector>

namespace mp::server {

// Registers this process's listening sockets bound to one of `unix_paths`
// (as in "unix:PATH" addresses) or to one of `tcp_ports`, and returns their
// descriptors (empty if none was found).
std::vector<int> GuardListeningSockets(const std::vector<std::string>& unix_paths,
                                       const std::vector<int>& tcp_ports);

// Forgets `fds` (before they are closed: descriptor numbers are reused).
void UnguardListeningSockets(const std::vector<int>& fds);

// The process's one spare descriptor, shared by every listener (gRPC's,
// above, and the local transport's): held back so that a listener out of
// descriptors can still accept a pending connection in order to refuse it.
// Reserve it while descriptors are still to be had (GuardListeningSockets
// does too); later calls do nothing.
void ReserveSpareDescriptor();
// Accepts one pending connection on `listen_fd` with the spare descriptor
// and closes it at once: the client sees the connection closed instead of
// waiting in the backlog. False if nothing was pending or there is no
// spare.
bool RefuseOnePending(int listen_fd);

}  // namespace mp::server

#endif  // MP_SERVER_ACCEPT_GUARD_H_
