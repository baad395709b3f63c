#!/bin/bash
# bsocial-healthcheck [PORT] [PATH]: GET PATH on 127.0.0.1:PORT answers 200 (PORT: the first
# argument, else BSOCIAL_PORT, else 8080; PATH: the second, else /healthz). The image's
# HEALTHCHECK uses liveness (/healthz: the process lives); compose.yaml asks for readiness
# (/readyz: it can serve, e.g. its database answers). Plain bash (/dev/tcp): no curl in the image.
port=${1:-${BSOCIAL_PORT:-8080}}
path=${2:-/healthz}
[[ $path == /* && $path != *[[:space:]]* ]] || { echo "bsocial-healthcheck: bad path: $path" >&2; exit 2; }
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
read -r -t 3 _ status _ <&3 || exit 1
[ "$status" = 200 ]
