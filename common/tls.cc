#include "common/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "common/fd_io.h"
#include "mp/errors.h"

namespace mp {

TlsOptions TlsOptions::from_files(const std::string& ca_certs_path,
                                  const std::string& cert_chain_path,
                                  const std::string& private_key_path) {
  auto read = [](const std::string& path, std::string* out) {
    if (path.empty()) return;
    if (!internal::ReadFile(path, out)) {
      throw ValueError("cannot read TLS file " + path + ": " +
                       std::strerror(errno));
    }
  };
  TlsOptions tls;
  read(ca_certs_path, &tls.ca_certs);
  read(cert_chain_path, &tls.cert_chain);
  read(private_key_path, &tls.private_key);
  return tls;
}

namespace internal {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`; throws naming `what` if there is none.
std::unique_ptr<X509, X509Deleter> FirstCertificate(const std::string& pem,
                                                    const std::string& what) {
  if (pem.empty()) throw ValueError("TLS: " + what + " is missing");
  Bio bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    throw ValueError("TLS: " + what +
                     " holds no PEM certificate (expected '-----BEGIN "
                     "CERTIFICATE-----')");
  }
  return cert;
}

void CheckKeyPair(const TlsOptions& tls, const std::string& side) {
  auto cert = FirstCertificate(tls.cert_chain, side + " certificate");
  if (tls.private_key.empty()) {
    throw ValueError("TLS: the " + side + " private key is missing");
  }
  Bio bio = MemoryBio(tls.private_key);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    throw ValueError("TLS: the " + side +
                     " private key is not an unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    throw ValueError("TLS: the " + side +
                     " private key does not belong to its certificate");
  }
}

}  // namespace

void ValidateServerTls(const TlsOptions& tls) {
  CheckKeyPair(tls, "server");
  if (!tls.ca_certs.empty()) FirstCertificate(tls.ca_certs, "client CA");
}

void ValidateClientTls(const TlsOptions& tls) {
  FirstCertificate(tls.ca_certs, "CA certificate (to verify the server)");
  if (!tls.cert_chain.empty() || !tls.private_key.empty()) {
    CheckKeyPair(tls, "client");
  }
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const std::optional<TlsOptions>& tls) {
  if (!tls) return grpc::InsecureServerCredentials();
  ValidateServerTls(*tls);
  grpc::SslServerCredentialsOptions options(
      tls->ca_certs.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls->ca_certs;
  options.pem_key_cert_pairs.push_back({tls->private_key, tls->cert_chain});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const std::optional<TlsOptions>& tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  ValidateClientTls(*tls);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls->ca_certs;
  options.pem_cert_chain = tls->cert_chain;
  options.pem_private_key = tls->private_key;
  return grpc::SslCredentials(options);
}

bool IsLocalOnlyAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;  // a name, or empty (all interfaces)
}

}  // namespace internal
}  // namespace mp
