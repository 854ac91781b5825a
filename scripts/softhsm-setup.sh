#!/usr/bin/env bash
# Create a SoftHSMv2 token holding the key + certificate chain of a PKCS#12 file.
#
#   scripts/softhsm-setup.sh DIR LABEL PIN P12 P12PASS
#
# DIR gets its own softhsm2.conf (tokendir = DIR/tokens); the token is labelled
# LABEL, user PIN = PIN (SO PIN = PIN too: demo/test use only). The private key
# and its certificate are stored under the label "seal" (CKA_ID 01); the other
# certificates of the PKCS#12 chain as "chain-1", "chain-2", ...
# Prints the line to export:  export SOFTHSM2_CONF=DIR/softhsm2.conf
# Needs: softhsm2, opensc (pkcs11-tool), openssl.
set -euo pipefail

if [ "$#" -ne 5 ]; then
  echo "usage: $0 DIR LABEL PIN P12 P12PASS" >&2
  exit 2
fi
dir=$1 label=$2 pin=$3 p12=$4 p12pass=$5
lib=${SOFTHSM2_LIB:-/usr/lib/softhsm/libsofthsm2.so}
key_label=${SOFTHSM_KEY_LABEL:-seal}

for tool in softhsm2-util pkcs11-tool openssl; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install softhsm2 opensc openssl)" >&2; exit 1; }
done
[ -r "$lib" ] || { echo "PKCS#11 module $lib not found (apt-get install softhsm2)" >&2; exit 1; }
[ -r "$p12" ] || { echo "cannot read $p12" >&2; exit 1; }

mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
conf="$dir/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF=$conf

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
pass_env=P12PASS_FOR_OPENSSL
export "$pass_env=$p12pass"
# private key (PKCS#8 DER), leaf certificate, and the rest of the chain
openssl pkcs12 -in "$p12" -passin "env:$pass_env" -nocerts -nodes -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -outform DER -out "$work/key.der"
openssl pkcs12 -in "$p12" -passin "env:$pass_env" -clcerts -nokeys -out "$work/cert.pem" 2>/dev/null
openssl x509 -in "$work/cert.pem" -outform DER -out "$work/cert.der"
openssl pkcs12 -in "$p12" -passin "env:$pass_env" -cacerts -nokeys -out "$work/chain.pem" 2>/dev/null || true

if softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$label[[:space:]]*$"; then
  echo "token $label already exists in $dir" >&2
  exit 1
fi
softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$pin" >/dev/null

p11() { pkcs11-tool --module "$lib" --token-label "$label" --login --pin "$pin" "$@" >/dev/null; }
p11 --write-object "$work/key.der" --type privkey --label "$key_label" --id 01 --usage-sign
p11 --write-object "$work/cert.der" --type cert --label "$key_label" --id 01

# split the chain into single certificates
n=0
awk -v dir="$work" '/-----BEGIN CERTIFICATE-----/{n++; f=dir "/chain-" n ".pem"} f{print > f} /-----END CERTIFICATE-----/{f=""}' "$work/chain.pem"
for pem in "$work"/chain-*.pem; do
  [ -e "$pem" ] || continue
  n=$((n + 1))
  openssl x509 -in "$pem" -outform DER -out "$work/chain-$n.der"
  p11 --write-object "$work/chain-$n.der" --type cert --label "chain-$n" --id "$(printf '%02x' $((n + 1)))"
done

echo "export SOFTHSM2_CONF=$conf"
