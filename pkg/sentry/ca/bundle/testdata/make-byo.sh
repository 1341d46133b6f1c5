#!/usr/bin/env bash
# make-byo.sh writes the bring-your-own CA fixtures beside it, made with real
# openssl the way a user following Dapr's docs would make them. It keeps the
# issuer keys (Sentry needs them) and throws the root keys away.
#
# Files written (all valid for 10 years from the day the script runs):
#   root.crt            P-256 root, as `openssl x509 -text` prints it (text + PEM)
#   roots.crt           root.crt followed by a second, unrelated P-256 root
#   issuer.crt          P-256 issuer signed by root.crt (CA:true, pathlen:0)
#   issuer-chain.crt    issuer.crt followed by root.crt (a chain ending in its root)
#   issuer.key          issuer key as `openssl ecparam -genkey` writes it (EC PARAMETERS + EC PRIVATE KEY)
#   issuer-pkcs8.key    the same key through `openssl pkcs8 -topk8 -nocrypt` (PRIVATE KEY)
#   rsa-issuer.crt      RSA-2048 issuer signed by root.crt
#   rsa-issuer.key      its key in PKCS#1 (RSA PRIVATE KEY)
#   step-root.crt       a root shaped like `step certificate create --profile root-ca`
#   step-intermediate.crt / .key
#                       an intermediate shaped like `--profile intermediate-ca`,
#                       key in SEC1 "EC PRIVATE KEY" without an EC PARAMETERS block
#
# Run it from anywhere: bash pkg/sentry/ca/bundle/testdata/make-byo.sh
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

days=3650

cat > ext.cnf <<'CNF'
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
O = byo.example

# Dapr docs' root: a CA with the usual key usages.
[ v3_root ]
basicConstraints       = critical,CA:true
keyUsage               = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier   = hash

# Dapr docs' issuer: a CA that may sign leaves only.
[ v3_issuer ]
basicConstraints       = critical,CA:true,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# step's root-ca profile: keyUsage certSign+crlSign, CA:true, maxPathLen 1,
# SKI from the key, no AKI on a self-signed certificate.
[ step_root_ca ]
basicConstraints       = critical,CA:true,pathlen:1
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash

# step's intermediate-ca profile: keyUsage certSign+crlSign, CA:true,
# maxPathLen 0, SKI from the key, AKI = the root's key ID.
[ step_intermediate_ca ]
basicConstraints       = critical,CA:true,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF

# self_signed KEY SUBJECT EXTENSIONS OUT
self_signed() {
	openssl req -new -x509 -config ext.cnf -key "$1" -subj "$2" -extensions "$3" \
		-days "$days" -sha256 -set_serial "0x$(openssl rand -hex 16)" -out "$4"
}

# signed KEY SUBJECT EXTENSIONS CA_CERT CA_KEY OUT
signed() {
	openssl req -new -config ext.cnf -key "$1" -subj "$2" -out csr.pem
	openssl x509 -req -in csr.pem -CA "$4" -CAkey "$5" -extfile ext.cnf -extensions "$3" \
		-days "$days" -sha256 -set_serial "0x$(openssl rand -hex 16)" -out "$6"
}

# Dapr-docs style root and P-256 issuer.
openssl ecparam -name prime256v1 -genkey -noout -out root.key
self_signed root.key "/O=byo.example" v3_root root.pem
openssl x509 -in root.pem -text > "$out/root.crt"

openssl ecparam -name prime256v1 -genkey -out "$out/issuer.key"
signed "$out/issuer.key" "/O=spiffe:\/\/byo.example\/ns\/dapr-system\/dapr-sentry" v3_issuer root.pem root.key "$out/issuer.crt"
openssl pkcs8 -topk8 -nocrypt -in "$out/issuer.key" -out "$out/issuer-pkcs8.key"
cat "$out/issuer.crt" root.pem > "$out/issuer-chain.crt"

# A second, unrelated root, for a multi-anchor ca.crt.
openssl ecparam -name prime256v1 -genkey -noout -out other.key
self_signed other.key "/O=other.example" v3_root other.pem
cat "$out/root.crt" other.pem > "$out/roots.crt"

# RSA-2048 issuer with a PKCS#1 key, under the same root.
openssl genrsa -traditional -out "$out/rsa-issuer.key" 2048
signed "$out/rsa-issuer.key" "/O=rsa-issuer.byo.example" v3_issuer root.pem root.key "$out/rsa-issuer.crt"

# step certificate create "Example Root CA" step-root.crt --profile root-ca, and
# step certificate create "Example Intermediate CA" ... --profile intermediate-ca.
openssl ecparam -name prime256v1 -genkey -noout -out step-root.key
self_signed step-root.key "/CN=Example Root CA" step_root_ca "$out/step-root.crt"
openssl ecparam -name prime256v1 -genkey -noout -out "$out/step-intermediate.key"
signed "$out/step-intermediate.key" "/CN=Example Intermediate CA" step_intermediate_ca \
	"$out/step-root.crt" step-root.key "$out/step-intermediate.crt"

ls -l "$out"
