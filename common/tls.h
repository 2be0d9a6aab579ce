// gRPC credentials from mp::TlsOptions, with the PEM data checked first so
// a bad certificate or key is reported by name, not as a failed bind or an
// opaque handshake error.
#ifndef MP_COMMON_TLS_H_
#define MP_COMMON_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <optional>

#include "mp/tls.h"

namespace mp::internal {

// Throws mp::ValueError naming what is wrong (missing or unparsable
// certificate or key, a key that does not belong to the certificate).
void ValidateServerTls(const TlsOptions& tls);
void ValidateClientTls(const TlsOptions& tls);

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const std::optional<TlsOptions>& tls);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const std::optional<TlsOptions>& tls);

// Whether `address` ("host:port", "[v6]:port", "unix:...") can only be
// reached from this host: a unix socket or a loopback host.
bool IsLocalOnlyAddress(const std::string& address);

}  // namespace mp::internal

#endif  // MP_COMMON_TLS_H_
