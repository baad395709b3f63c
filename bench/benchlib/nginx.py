"""The ceiling of `make bench` (issue 26): nginx, one worker, answering GET /healthz with a
static `return 200 '{"status":"ok"}'` on a free loopback port, measured with the same wrk
settings in the same run. It is what this machine's kernel and wrk allow an HTTP/1.1
server on these cores, so every bsocial row is also printed as a share of it.

nginx runs unprivileged (`nginx -c FILE -p DIR`, `daemon off`), pid, logs and temp files in
the run's dir; the binary is Debian's nginx-light (`make deps`), found as the test kit finds
it (bsocial_testkit/nginx.py: NGINX, PATH, /usr/sbin/nginx)."""
from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from bsocial_testkit.nginx import free_port, nginx_binary

# What bsocial's /healthz answers, byte for byte in the body.
BODY = '{"status":"ok"}'


def static_conf(d: Path, port: int) -> str:
    # keepalive_requests: bsocial keeps a connection for any number of requests; nginx's
    # default (1,000) would make wrk reconnect, which is not what the ceiling should pay.
    return f"""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port};
        location = /healthz {{
            default_type application/json;
            return 200 '{BODY}';
        }}
    }}
}}
"""


class StaticNginx:
    """nginx on 127.0.0.1:port answering /healthz; start() / stop()."""

    def __init__(self, workdir: Path):
        self.dir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._out = None

    def start(self) -> "StaticNginx":
        binary = nginx_binary()
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            (self.dir / "nginx.conf").write_text(static_conf(self.dir, self.port))
            self._out = open(self.dir / "stdout.log", "ab")
            self.proc = subprocess.Popen(
                [binary, "-e", str(self.dir / "error.log"), "-c", str(self.dir / "nginx.conf"),
                 "-p", str(self.dir)],
                stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                                timeout=1) as r:
                        if r.status == 200 and r.read().decode() == BODY:
                            return self
                except OSError:
                    pass
                time.sleep(0.05)
            p = self.dir / "error.log"
            last = p.read_text(errors="replace") if p.exists() else ""
            self.stop()
        raise RuntimeError(f"nginx did not start; its log:\n{last}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # our own child, by its pid
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out:
            self._out.close()
        self.proc = None
