#!/bin/sh
# Makes a self-signed development CA and a server certificate signed by it,
# for migclock-controller's HTTPS listener. Development/testing only.
#
#   tools/make-dev-certs.sh OUTDIR [NAME...]
#
# NAMEs become subjectAltNames of the server certificate (default:
# localhost 127.0.0.1 ::1 and this host's name). IP-looking names become
# IP SANs. Writes OUTDIR/ca.pem, ca.key, server.pem, server.key (0600 keys).
set -eu
if [ "${1:-}" = "" ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  [ "${1:-}" = "" ] && exit 2 || exit 0
fi
out=$1; shift
[ $# -gt 0 ] || set -- localhost 127.0.0.1 ::1 "$(hostname)"
mkdir -p "$out"
umask 077
san=""
for n in "$@"; do
  case "$n" in
    *[!0-9.]*) case "$n" in *:*) san="$san,IP:$n" ;; *) san="$san,DNS:$n" ;; esac ;;
    *) san="$san,IP:$n" ;;
  esac
done
san=${san#,}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=migclock development CA" -keyout "$out/ca.key" -out "$out/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=$1" -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" > "$ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
  -days 825 -out "$out/server.pem" -extfile "$ext" 2>/dev/null
rm -f "$out/server.csr" "$out/ca.srl"
chmod 0644 "$out/ca.pem" "$out/server.pem"
echo "CA:          $out/ca.pem"
echo "certificate: $out/server.pem (SAN $san)"
echo "key:         $out/server.key"
