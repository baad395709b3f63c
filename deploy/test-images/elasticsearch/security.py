#!/usr/bin/env python3
"""The stand-in's security, started by `run` when xpack.security.enabled is not false: the
node listens on 127.0.0.1:9201 only, and stack/'s basic-auth proxy (bstacklib/tls_proxy.py,
copied into the image: nginx-light, user `elastic`, an htpasswd made with openssl) answers on
0.0.0.0:9200, over plain http (xpack.security.http.ssl.enabled=false). As the official image:
the password is ELASTIC_PASSWORD; without it, `elastic` gets a password nobody knows; a
refused login is Elasticsearch's 401 security_exception.

usage: security.py JAVA_COMMAND...   (the node's command line; runs it, and the proxy, until
either exits or the container is stopped)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bstacklib.tls_proxy import USER, make_password, start_proxy  # noqa: E402

HOME = Path("/usr/share/elasticsearch")
PORT, NODE_PORT = 9200, 9201


def say(msg: str) -> None:
    print(f"stand-in: {msg}", file=sys.stderr, flush=True)


def main(java: list[str]) -> int:
    proxy_dir = HOME / "proxy"
    proxy_dir.mkdir(exist_ok=True)
    password = os.environ.get("ELASTIC_PASSWORD", "")
    if not password:
        say("ELASTIC_PASSWORD is not set: the user elastic has a random password nobody knows")
    make_password(proxy_dir, password or None)
    node = subprocess.Popen(java)
    proxy = start_proxy(proxy_dir, proxy_dir, PORT, NODE_PORT, listen="0.0.0.0", https=False)
    say(f"security on: basic auth (user {USER}) on http://0.0.0.0:{PORT} -> the node on "
        f"127.0.0.1:{NODE_PORT}; proxy log {proxy_dir}/nginx-error.log")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    while not stopping and node.poll() is None and proxy.poll() is None:
        time.sleep(0.2)
    if proxy.poll() is not None and not stopping:
        say(f"the proxy exited ({proxy.returncode}):\n"
            + (proxy_dir / "nginx-error.log").read_text(errors="replace")[-2000:])
    for p in (proxy, node):
        if p.poll() is None:
            p.terminate()
    for p in (proxy, node):
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
