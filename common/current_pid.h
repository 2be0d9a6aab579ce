// This process's id without a system call per use.
//
// glibc stopped caching getpid() in 2.25, so every call is a syscall
// (~0.35 us on these VMs). The client asks "am I still the process that
// opened this connection?" twice per proxy call to notice a fork; that was
// 2 of the 6 syscalls of one local-transport call (strace). The cache is
// refreshed in the child by a pthread_atfork handler, which every fork()
// through glibc runs; a child made by a raw clone(2) without exec is not
// supported by mp anyway.
#ifndef MP_COMMON_CURRENT_PID_H_
#define MP_COMMON_CURRENT_PID_H_

#include <sys/types.h>

namespace mp::internal {

// Thread-safe; never blocks.
pid_t CurrentPid();

}  // namespace mp::internal

#endif  // MP_COMMON_CURRENT_PID_H_
