#!/usr/bin/env bash
# Lint docs/openapi.yaml with the pinned Redocly CLI (tools/openapi/package.json).
# Exits non-zero when the linter reports errors (warnings are printed but do not fail).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -d "$here/node_modules" ]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi

# No telemetry or update checks from a lint run.
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true

exec "$here/node_modules/.bin/redocly" lint \
  --config "$here/redocly.yaml" \
  "$root/docs/openapi.yaml" "$@"
