#!/usr/bin/env bash
# `make run`: the whole stack on this machine. Starts Kafka (9092) and Elasticsearch 8
# (https://127.0.0.1:9200, user elastic, a generated password, the stack's CA) from stack/,
# then bSocial on 8080 with SQLite under ./data; Ctrl-C stops everything.
# BSOCIAL_SEARCH_ENGINE=opensearch runs OpenSearch 2.19 (plain http) instead.
# Point at servers of your own instead with BSOCIAL_KAFKA_BROKERS (then no local stack).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BSOCIAL_BIN:-build/release/bsocial}
STACK_DIR=${BSOCIAL_STACK_DIR:-.stack}
ENGINE=${BSOCIAL_SEARCH_ENGINE:-elasticsearch}
export BSOCIAL_PORT=${BSOCIAL_PORT:-8080}
export BSOCIAL_DATA_DIR=${BSOCIAL_DATA_DIR:-data}

started_stack=0
pids=()
stop_all() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ "$started_stack" = 1 ]; then
    echo "stopping the local stack…"
    python3 stack/bstack.py stop --dir "$STACK_DIR" >/dev/null || true
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 0' INT TERM  # Ctrl-C is the normal way to stop: not an error

if [ -z "${BSOCIAL_KAFKA_BROKERS:-}" ]; then
  echo "starting Kafka and $ENGINE (first run fetches them from Maven Central)…"
  python3 stack/bstack.py fetch
  started_stack=1
  output=$(python3 stack/bstack.py start --dir "$STACK_DIR" --engine "$ENGINE")
  endpoints=$(printf '%s\n' "$output" | head -n 1)
  # Kafka's and the engine's endpoints; for Elasticsearch also its user, password and CA file
  eval "$(python3 - "$endpoints" "$STACK_DIR" "$ENGINE" <<'PY'
import json, shlex, subprocess, sys
endpoints, stack_dir, engine = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
env = {"BSOCIAL_KAFKA_BROKERS": endpoints["kafka"], "BSOCIAL_ELASTICSEARCH_URL": endpoints[engine]}
if engine == "elasticsearch":
    st = json.loads(subprocess.run([sys.executable, "stack/bstack.py", "status", "--dir", stack_dir],
                                   check=True, capture_output=True, text=True).stdout)[engine]
    env.update(BSOCIAL_ELASTICSEARCH_USER=st["user"], BSOCIAL_ELASTICSEARCH_PASSWORD=st["password"],
               BSOCIAL_ELASTICSEARCH_CA_FILE=st["ca_file"])
for k, v in env.items():
    print(f"export {k}={shlex.quote(str(v))}")
PY
)"
fi

mkdir -p "$BSOCIAL_DATA_DIR" "$BSOCIAL_DATA_DIR/logs"
# The web app, built by `make web`, on the API's origin.
[ -f web/dist/index.html ] && export BSOCIAL_STATIC_DIR=${BSOCIAL_STATIC_DIR:-web/dist}
# serve first: it migrates the database and creates the shared JWT secret.
"$BIN" serve > >(tee "$BSOCIAL_DATA_DIR/logs/serve.out") 2> "$BSOCIAL_DATA_DIR/logs/serve.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q listening "$BSOCIAL_DATA_DIR/logs/serve.out" 2>/dev/null && break; sleep 0.1; done
export BSOCIAL_NOTIFIER_PORT=${BSOCIAL_NOTIFIER_PORT:-8081}
"$BIN" notifier 2> "$BSOCIAL_DATA_DIR/logs/notifier.log" &
pids+=($!)
if "$BIN" telemetry --help >/dev/null 2>&1; then
  "$BIN" telemetry 2> "$BSOCIAL_DATA_DIR/logs/telemetry.log" &
  pids+=($!)
fi
echo "Kafka:         $BSOCIAL_KAFKA_BROKERS"
echo "Elasticsearch: ${BSOCIAL_ELASTICSEARCH_URL:-(not started)}${BSOCIAL_ELASTICSEARCH_USER:+ (user $BSOCIAL_ELASTICSEARCH_USER, password $BSOCIAL_ELASTICSEARCH_PASSWORD, CA $BSOCIAL_ELASTICSEARCH_CA_FILE)}"
echo "notifier:      http://127.0.0.1:$BSOCIAL_NOTIFIER_PORT (also mounted on the API's origin)"
echo "logs:          $BSOCIAL_DATA_DIR/logs/"
echo "bSocial:       http://127.0.0.1:$BSOCIAL_PORT  — the web app and the API (Ctrl-C stops everything)"
wait -n "${pids[@]}"
