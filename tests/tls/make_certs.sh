#!/usr/bin/env bash
# Makes a throwaway PKI for tests and demos in DIR:
#   ca.pem/ca.key            a CA
#   server.pem/server.key    signed by it, for localhost, 127.0.0.1, ::1 and
#                            the extra IP addresses given after DIR
#   client.pem/client.key    a client certificate (mutual TLS)
#   other-ca.pem             an unrelated CA (for "wrong CA" tests)
# Usage: make_certs.sh DIR [IP...]
set -euo pipefail
dir=${1:?usage: make_certs.sh DIR [IP...]}
shift
mkdir -p "$dir"
cd "$dir"
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for ip in "$@"; do san="$san,IP:$ip"; done

quiet() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }

quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.pem -days 2 -subj "/CN=mp test CA"
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=mp other CA"

issue() {  # name, subject CN, extensions
  quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' "$3" > "$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
    -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}
issue server "mp-manager" "subjectAltName=$san
extendedKeyUsage=serverAuth"
issue client "mp-client" "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
