// mp::Connection messages with descriptors attached: how shared objects
// and Connection ends travel through a Pipe (Connection::send/recv) and
// the Pool's worker protocol (process/pool_core.cc, pool_worker.cc).
//
// A message is one frame (u32 length, then the bytes), as send_bytes
// writes it; its descriptors ride on its first bytes as SCM_RIGHTS, so
// only a unix socket can carry them (both kinds of mp::Pipe() are). The
// receiver reads exactly one frame's bytes, never into the next message,
// so the descriptors it gets are that message's.
#ifndef MP_PROCESS_PIPE_MESSAGE_H_
#define MP_PROCESS_PIPE_MESSAGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/fd_ref.h"
#include "mp/pipe.h"

namespace mp::internal {

// Writes one message with `fds` attached (borrowed: the receiver gets its
// own duplicates). Blocks until it is written. ValueError: a closed or
// read-only end, more than kMaxCarriedFds descriptors, or descriptors on
// an end that is not a unix socket; ConnectionError when the other end is
// gone.
void SendMessage(const Connection& conn, std::string_view data,
                 const std::vector<int>& fds);

// Reads one message; the descriptors that came with it (close-on-exec)
// are added to `*fds`, the caller's to adopt. Blocks until a message
// arrives (or the socket's SO_RCVTIMEO passes: ConnectionError).
// EOFError when the other end closed. ConnectionError when descriptors
// sent with the message could not all be received (MSG_CTRUNC: too many,
// or this process's descriptor limit): the message is consumed and those
// that did arrive are closed.
std::string RecvMessage(const Connection& conn, ReceivedFds* fds);

}  // namespace mp::internal

#endif  // MP_PROCESS_PIPE_MESSAGE_H_
