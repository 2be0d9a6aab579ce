// TLS for manager connections: server TLS, and mutual TLS when the server
// asks clients for certificates.
//
//   // Server (ServerOptions::tls, or mp-manager --tls-cert/--tls-key):
//   mp::TlsOptions server_tls = mp::TlsOptions::from_files(
//       "ca.pem", "server.pem", "server.key");   // CA set: clients need certs
//   // Client:
//   auto m = mp::Manager::connect("10.0.0.1:50000", key,
//       {.tls = mp::TlsOptions::from_files("ca.pem", "client.pem",
//       "client.key")});
//
// TLS protects the wire; the authkey handshake still runs inside it, so a
// client needs the key as well as (with mTLS) a certificate.
#ifndef MP_TLS_H_
#define MP_TLS_H_

#include <string>

namespace mp {

// PEM text, not file names (from_files reads files). Plain value type.
struct TlsOptions {
  // The CA certificates the peer's certificate must chain to.
  // Client: verifies the server; required.
  // Server: when set, every client must present a certificate signed by one
  // of them (mutual TLS); when empty, clients need no certificate.
  std::string ca_certs{};
  // This side's certificate chain and private key. Server: required.
  // Client: needed only when the server demands client certificates.
  std::string cert_chain{};
  std::string private_key{};
  // Client only: the name to check the server's certificate against,
  // instead of the host part of the address (e.g. a DNS name in the
  // certificate when connecting by IP).
  std::string server_name{};

  // Reads the named PEM files; an empty path leaves its field empty.
  // Throws mp::ValueError naming a file that cannot be read or holds no
  // PEM data.
  static TlsOptions from_files(const std::string& ca_certs_path,
                               const std::string& cert_chain_path = "",
                               const std::string& private_key_path = "");
};

}  // namespace mp

#endif  // MP_TLS_H_
