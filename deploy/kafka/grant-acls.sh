#!/bin/bash
# compose.yaml's kafka-acls: once Kafka answers, the ACLs of the bSocial users (as the super
# user admin; nothing else is allowed: allow.everyone.if.no.acl.found=false).
#   bsocial-relay      writes (and creates) the bsocial.* topics
#   bsocial-notifier   reads bsocial.comments in group bsocial-notifier
#   bsocial-telemetry  reads the bsocial.* topics in group bsocial-telemetry
# Adding an ACL that exists is a no-op, so this runs again harmlessly.
set -euo pipefail
bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
bin=${KAFKA_BIN:-/opt/kafka/bin}
config=$(mktemp)
trap 'rm -f "$config"' EXIT
chmod 600 "$config"
cat > "$config" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD:?}";
ssl.truststore.type=PEM
ssl.truststore.location=${CA_FILE:-/ca/ca.crt}
PROPS
acls() {
  "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$config" --add "$@"
}
for attempt in $(seq 1 60); do
  if "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$config" \
       --list --topic bsocial.probe >/dev/null 2>&1; then
    break
  fi
  echo "waiting for kafka ($attempt)"
  sleep 2
done
acls --allow-principal User:bsocial-relay --operation Write --operation Describe \
  --operation Create --topic bsocial. --resource-pattern-type prefixed
acls --allow-principal User:bsocial-relay --operation IdempotentWrite --cluster
acls --allow-principal User:bsocial-notifier --operation Read --topic bsocial.comments \
  --group bsocial-notifier
acls --allow-principal User:bsocial-telemetry --operation Read --topic bsocial. \
  --group bsocial-telemetry --resource-pattern-type prefixed
echo "kafka ACLs in place"
