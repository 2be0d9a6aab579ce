// How a client reaches a manager server: mp::Transport, chosen in
// ManagerOptions::transport and ConnectOptions::transport.
#ifndef MP_TRANSPORT_H_
#define MP_TRANSPORT_H_

namespace mp {

// The environment variable MP_TRANSPORT=grpc makes kAuto mean kGrpc in a
// process and its children (to compare the two, or to rule one out).
enum class Transport {
  // The default: the local transport when the server is on this host and
  // offers it - the address is "unix:PATH" and the server listens at
  // PATH.local too (mp-manager and mp::Server do, beside every unix
  // socket) - gRPC otherwise, and always when TLS options are given.
  kAuto,
  // gRPC's HTTP/2 stream: unix sockets, TCP, TLS, any host; the transport
  // the Python client and other languages speak.
  kGrpc,
  // Length-prefixed protobuf frames on the unix socket at PATH.local: the
  // same messages without HTTP/2, several times cheaper per call. Same
  // host only; no TLS (the socket's directory permissions guard it).
  kLocal,
};

}  // namespace mp

#endif  // MP_TRANSPORT_H_
