// The resource tracker: Python's multiprocessing.resource_tracker for named
// shared memory (mp::SharedMemory). It unlinks the segments a process tree
// created and left behind once every process of that tree is gone - even
// when all of them were SIGKILLed - and warns about them on stderr, as
// Python does ("resource_tracker: There appear to be N leaked
// shared_memory objects to clean up at shutdown").
//
// How: the first SharedMemory::create in a process that has no tracker
// starts one - this executable again (posix_spawn of /proc/self/exe, in
// its own session so that killing the program's process group spares it),
// which mp::init turns into ResourceTrackerMain. The tracker holds the
// receiving end of a SOCK_SEQPACKET socket pair; every process of the tree
// holds the sending end: fork children inherit it, spawn children get it
// across exec (MP_RESOURCE_TRACKER_FD) and forkserver children with their
// request (SCM_RIGHTS). create() sends "R<name>", unlink() "U<name>" (one
// datagram each, so writers never interleave). When the last sending end
// closes (EOF), the tracker unlinks the names still registered, warns, and
// exits. A segment attached by name (SharedMemory::attach) is never
// registered: only its creator's tree cleans it up.
//
// Only in programs that call mp::init (the exec comes back through it);
// elsewhere nothing is tracked and named segments are the user's alone.
// Registration is best effort: a tracker that cannot be started or reached
// (SO_SNDTIMEO: 5 s) never fails create() or unlink().
#ifndef MP_COMMON_RESOURCE_TRACKER_H_
#define MP_COMMON_RESOURCE_TRACKER_H_

#include <string>

namespace mp::internal {

// The tracker's role: the receiving end's descriptor (mp::init).
inline constexpr char kResourceTrackerEnv[] = "MP_RESOURCE_TRACKER";
// A spawn child's sending end (mp::init adopts it).
inline constexpr char kResourceTrackerFdEnv[] = "MP_RESOURCE_TRACKER_FD";
// The tracker's argv[0] (what `ps` shows).
inline constexpr char kResourceTrackerArgv0[] = "mp-resource-tracker";

// Called by mp::init: this program may start its tracker.
void AllowResourceTracker();
// This process's sending end, or -1 when it has none (yet).
int ResourceTrackerFd();
// Makes `fd` (close-on-exec) this process's sending end: a spawn or
// forkserver child's inherited one. Closes the previous one, if any.
void AdoptResourceTracker(int fd);

// Registers a named segment this process created, starting the tracker
// first if there is none; UntrackSharedMemory after the user unlinked it.
// Best effort, never throw.
void TrackSharedMemory(const std::string& name);
void UntrackSharedMemory(const std::string& name);

// The tracker itself: reads registrations from `fd` until every sending
// end is closed, then unlinks what remains and warns. Returns the exit
// code.
int ResourceTrackerMain(int fd);

}  // namespace mp::internal

#endif  // MP_COMMON_RESOURCE_TRACKER_H_
