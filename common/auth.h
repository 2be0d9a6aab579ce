// The session handshake's cryptography: mutual HMAC-SHA256
// challenge-response over the authkey (see proto/mp/v1/session.proto). The
// authkey never leaves the process; only nonces and proofs cross the wire.
#ifndef MP_COMMON_AUTH_H_
#define MP_COMMON_AUTH_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mp::internal {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kAuthkeyBytes = 32;

// Cryptographically secure random bytes.
std::string RandomBytes(size_t n);

// HMAC-SHA256(authkey, "mp-server" | client_nonce | server_nonce).
std::string ServerProof(std::string_view authkey, std::string_view client_nonce,
                        std::string_view server_nonce);
// HMAC-SHA256(authkey, "mp-client" | server_nonce | client_nonce).
std::string ClientProof(std::string_view authkey, std::string_view server_nonce,
                        std::string_view client_nonce);

// Compares in time independent of where the inputs differ.
bool ProofsEqual(std::string_view a, std::string_view b);

}  // namespace mp::internal

#endif  // MP_COMMON_AUTH_H_
