#!/usr/bin/env bash
# Make the mutual-TLS material of one ring with openssl: a CA, a node certificate and a client
# certificate. deploy-eks.sh puts the CA and node certificate into the Secret dht-tls; the tests
# use the same script on loopback.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/eks/tls-certs.sh DIR NAMESPACE

Writes into DIR (created, mode 0700), unless they are already there:
  ca.crt, ca.key          the ring's CA (10 years); keep ca.key off the cluster
  tls.crt, tls.key        the node certificate (825 days), for every pod: SANs
                          *.dht-headless.NAMESPACE.svc.cluster.local, dht-headless.NAMESPACE.svc.cluster.local,
                          dht-headless.NAMESPACE.svc, dht-headless, localhost, 127.0.0.1
  client.crt, client.key  a client certificate (825 days) for koorde-client --tls-*
Existing files are kept, so running it again never replaces a CA that nodes already trust.

  -h, --help  this help
USAGE
}

[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
(($# == 2)) || usage_error "expected DIR and NAMESPACE"
dir=$1
ns=$2
[[ $ns =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || usage_error "NAMESPACE '$ns' is not a Kubernetes name"
command -v openssl >/dev/null 2>&1 || die "openssl is required (apt-get install -y openssl)"

mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
umask 077

# An EC P-256 key: small, fast handshakes, and what every TLS stack supports.
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# sign NAME CN EXTENSIONS: NAME.crt for NAME.key, signed by the CA.
sign() {
  local name=$1 cn=$2 extensions=$3
  new_key "$name.key"
  openssl req -new -key "$name.key" -subj "/O=koorde-web-cache/CN=$cn" -out "$name.csr"
  printf '%s\n' "$extensions" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

if [[ ! -f ca.crt || ! -f ca.key ]]; then
  new_key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=koorde-web-cache/CN=koorde-web-cache CA $ns" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
  rm -f tls.crt client.crt # certificates of an earlier CA would not verify
fi
headless="dht-headless.$ns.svc.cluster.local"
# Nodes are both TLS servers (to callers) and clients (of their peers): one certificate for both.
[[ -f tls.crt && -f tls.key ]] || sign tls "dht-node.$ns" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:*.$headless,DNS:$headless,DNS:dht-headless.$ns.svc,DNS:dht-headless,DNS:localhost,IP:127.0.0.1"
[[ -f client.crt && -f client.key ]] || sign client "koorde-client.$ns" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
chmod 0600 ./*.key
chmod 0644 ./*.crt
echo "TLS material of namespace $ns in $dir: ca.crt, tls.crt/tls.key (nodes), client.crt/client.key (koorde-client)" >&2
