// Embedding a manager server in your own process.
//
//   mp::Server server(mp::ServerOptions{.address = "127.0.0.1:50000",
//                                       .authkey = key});
//   server.start();
//   mp::Manager m = server.manager();   // a client of this server
//   server.wait();                      // until a client asks for shutdown
//
// The standalone `mp-manager` binary is this class plus flag parsing.
#ifndef MP_SERVER_H_
#define MP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mp/manager.h"
#include "mp/tls.h"

namespace mp {

struct ServerOptions {
  // "host:port" (port 0 picks a free one) or "unix:/path/to/socket".
  std::string address = "127.0.0.1:0";
  // Shared secret clients must prove they know. Empty: 32 random bytes,
  // readable through Server::authkey().
  std::string authkey{};
  // The largest message a client may send and the largest reply the server
  // sends; larger requests fail with ValueError on the client, larger
  // replies are replaced by a ValueError - refused before they are built
  // where the server can tell (copy(), items(), slices: a list holding one
  // big string many times is not copied out first). Queue get_many returns
  // as many items as one reply carries.
  size_t max_message_bytes = size_t{64} << 20;
  // A client that exits or is killed ends its session at once (its socket
  // closes), giving back its leases - locks held, parked calls, references.
  // lease_timeout (0: off, the default) also ends the session of a client
  // that stops answering keepalive pings for that long (process frozen,
  // network lost). Caveat, measured: a client process that makes no calls
  // for that long, and whose gRPC runtime has no background poller (e.g. a
  // fork()ed child), does not answer either and loses its session. Turn it
  // on only where clients keep calling or run unforked. At least 1 s.
  std::chrono::milliseconds lease_timeout{0};
  // Per client session: at most this many objects referenced at once
  // (0: no limit). A Create beyond it fails with a MemoryError naming the
  // limit; the session and every other one carry on.
  size_t max_objects_per_session = 0;
  // Per client session: bytes of replies the server may hold for a client
  // that is not reading them (slow link, stalled or hostile client). At
  // this much the server stops reading - and running - that session's
  // calls until the client has taken enough replies; HTTP/2 flow control
  // then stalls the client's sends. Other sessions are unaffected. One
  // message of replies may overshoot it by up to max_message_bytes. At
  // least 1024.
  size_t max_reply_backlog_bytes = size_t{64} << 20;
  // Per client session: bytes the objects it created may hold (0: no
  // limit), whoever writes into them - an estimate of the server's memory:
  // string and bytes lengths plus 16 bytes per stored value; an Array its
  // buffer. A write that would exceed it fails with a MemoryError naming
  // the limit and changes nothing; the session and every other one carry
  // on. With max_objects_per_session this bounds what one client can make
  // the server hold.
  size_t max_stored_bytes_per_session = 0;
  // The most one object may hold (0: no cap), whoever writes into it, by
  // the estimate above (a list holding one string n times counts it n
  // times: what copying it out costs); an Array its buffer. A Create or a
  // write beyond it fails with a MemoryError naming the limit before
  // anything is allocated, and changes nothing. The default, 1 GiB, is far
  // above what one message carries (max_message_bytes): it stops a small
  // call from making one object huge - list *= 10000, Array('d', 2**31).
  size_t max_object_bytes = size_t{1} << 30;
  // More addresses to listen on, in the same forms (e.g. a unix socket for
  // local clients beside a TCP port for remote ones).
  std::vector<std::string> more_addresses{};
  // Serve over TLS on every address (mutual TLS when tls->ca_certs is set).
  // Throws ValueError from start() for an unusable certificate or key.
  std::optional<TlsOptions> tls{};
  // Beside every "unix:PATH" address, also serve the local transport at
  // PATH.local (mp/transport.h): the same sessions without HTTP/2, for
  // clients on this host. Not with TLS, which it would bypass.
  bool local_transport = true;
  // At most this many sessions at once (0: no limit); a client beyond it
  // is refused at connect with a ConnectionError naming the limit.
  size_t max_sessions = 0;
  // A connection that has not authenticated within this long is closed
  // (0: never), so idle or stalled connections cannot pile up.
  std::chrono::milliseconds handshake_timeout{10000};
  // Whether a client's shutdown request (Manager::shutdown() on a
  // connected Manager) stops the server: wait() returns. On by default for
  // an embedded server - its program decides, and its clients know the
  // authkey; off, the request fails with PermissionError and the server
  // carries on. Every request is logged at warning with the client's
  // session, address and pid. mp-manager turns it off unless started with
  // --allow-client-shutdown (as mp::Manager's private server is).
  bool allow_client_shutdown = true;
  // How many custom types' methods (mp/register.h) run at once; more calls
  // wait their turn. 0: the number of cores. A method does not hold up
  // other sessions for longer than about 1 ms (mp/register.h).
  size_t custom_threads = 0;
};

// Thread-safe. Move-only. The destructor shuts the server down; clients'
// calls then fail with ConnectionError.
class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;

  // Binds and starts serving. Throws mp::ValueError for a bad address and
  // mp::RuntimeError when the address cannot be bound.
  void start();

  // The bound address (with the chosen port when the options said 0), in a
  // form Manager::connect accepts.
  std::string address() const;
  const std::string& authkey() const;

  // A client connected to this server.
  Manager manager() const;

  // Blocks until a client's shutdown request or shutdown(); true if that
  // happened, false on timeout.
  void wait();
  bool wait_for(std::chrono::milliseconds timeout);

  // Stops accepting, ends every session and frees every object. Idempotent.
  void shutdown();

  // Makes wait() return (as a client's shutdown request does) without
  // stopping the server; async-signal-unsafe, call it from a normal thread.
  void request_shutdown();

  // Live objects and open sessions, for monitoring and tests.
  size_t object_count() const;
  size_t session_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mp

#endif  // MP_SERVER_H_
