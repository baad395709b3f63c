#!/bin/bash
# The image's HEALTHCHECK: GET /healthz on 127.0.0.1:PORT answers 200 (PORT: the first
# argument, else BSOCIAL_PORT, else 8080). Plain bash (/dev/tcp): no curl in the image.
port=${1:-${BSOCIAL_PORT:-8080}}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 3 _ status _ <&3 || exit 1
[ "$status" = 200 ]
