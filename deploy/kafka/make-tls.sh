#!/bin/bash
# compose.yaml's kafka-tls: once, a CA and the broker's certificate (for the names kafka and
# localhost), made with Java's keytool (in the Kafka image), into two volumes:
#   /tls (kafka only):  broker.p12 (key + chain, PKCS12), keystore_creds (its random password)
#   /ca  (clients):     ca.crt, the CA the bSocial processes trust (BSOCIAL_KAFKA_CA_FILE)
# Kept across restarts: clients keep trusting the same CA. Delete both volumes to renew.
set -euo pipefail
tls=${TLS_DIR:-/tls}
ca=${CA_DIR:-/ca}
if [[ -s $tls/broker.p12 && -s $tls/keystore_creds && -s $ca/ca.crt ]]; then
  echo "kafka TLS material exists; kept"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
keytool -genkeypair -alias ca -dname "CN=bsocial kafka CA" -ext bc:c -keyalg RSA -keysize 2048 \
  -validity 3650 -storetype PKCS12 -keystore "$work/ca.p12" -storepass "$pass" >/dev/null 2>&1
keytool -exportcert -rfc -alias ca -keystore "$work/ca.p12" -storepass "$pass" > "$work/ca.crt"
keytool -genkeypair -alias broker -dname "CN=kafka" -keyalg RSA -keysize 2048 -validity 825 \
  -storetype PKCS12 -keystore "$work/broker.p12" -storepass "$pass" >/dev/null 2>&1
keytool -certreq -alias broker -keystore "$work/broker.p12" -storepass "$pass" \
  | keytool -gencert -rfc -alias ca -keystore "$work/ca.p12" -storepass "$pass" -validity 825 \
      -ext san=dns:kafka,dns:localhost -ext ku:c=digitalSignature,keyEncipherment \
      -ext eku=serverAuth > "$work/broker.crt"
keytool -importcert -noprompt -alias ca -file "$work/ca.crt" -keystore "$work/broker.p12" \
  -storepass "$pass" >/dev/null 2>&1
keytool -importcert -noprompt -alias broker -file "$work/broker.crt" -keystore "$work/broker.p12" \
  -storepass "$pass" >/dev/null 2>&1
install -m 0640 "$work/broker.p12" "$tls/broker.p12"
(umask 077 && printf '%s' "$pass" > "$tls/keystore_creds")
install -m 0644 "$work/ca.crt" "$ca/ca.crt"
# the broker runs as appuser (uid 1000 in the Kafka images): its files are its own
if [[ $(id -u) == 0 ]]; then chown "${KAFKA_UID:-1000}" "$tls/broker.p12" "$tls/keystore_creds"; fi
echo "kafka TLS material made (CA and broker certificate for kafka, localhost)"
