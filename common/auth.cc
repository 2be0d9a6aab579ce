#include "common/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <string>

#include "mp/errors.h"

namespace mp::internal {
namespace {

std::string Hmac(std::string_view key, std::string_view label,
                 std::string_view a, std::string_view b) {
  std::string data;
  data.reserve(label.size() + a.size() + b.size());
  data.append(label).append(a).append(b);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &out_len) == nullptr) {
    throw RuntimeError("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), out_len);
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    throw RuntimeError("no secure random bytes available");
  }
  return out;
}

std::string ServerProof(std::string_view authkey, std::string_view client_nonce,
                        std::string_view server_nonce) {
  return Hmac(authkey, "mp-server", client_nonce, server_nonce);
}

std::string ClientProof(std::string_view authkey, std::string_view server_nonce,
                        std::string_view client_nonce) {
  return Hmac(authkey, "mp-client", server_nonce, client_nonce);
}

bool ProofsEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mp::internal
