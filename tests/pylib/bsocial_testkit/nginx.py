"""A real nginx in front of a test's `bsocial serve`, with the project's own
deploy/nginx/bsocial.conf (the file compose mounts): only its upstream (`serve:8080`) is
pointed at the test server and its `listen 8080` at a free loopback port. nginx runs
unprivileged (`nginx -c FILE -p DIR`, `daemon off`), pid, logs and temp files in DIR.

Used by tests/integration/test_proxy.py and tests/web/test_web_e2e.py. Needs Debian's
nginx (nginx-light is enough) at /usr/sbin/nginx or on PATH (NGINX overrides).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from .paths import REPO

PROJECT_CONF = REPO / "deploy" / "nginx" / "bsocial.conf"


def nginx_binary() -> str:
    found = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise AssertionError("nginx is missing: apt-get install -y nginx-light (or set NGINX)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_conf_for(upstream_port: int, listen_port: int) -> str:
    """deploy/nginx/bsocial.conf with the upstream and the listen port rewritten, nothing else."""
    text = PROJECT_CONF.read_text()
    for old, new in ((" serve:8080 ", f" 127.0.0.1:{upstream_port} "),
                     ("listen 8080;", f"listen 127.0.0.1:{listen_port};")):
        assert text.count(old) == 1, f"{PROJECT_CONF} no longer has exactly one {old.strip()!r}"
        text = text.replace(old, new)
    return text


class NginxProxy:
    """nginx on 127.0.0.1:port proxying to 127.0.0.1:upstream_port. It connects to the
    upstream from 127.0.0.1, so tests give clients other 127.0.0.x source addresses."""

    def __init__(self, workdir: Path, upstream_port: int):
        self.dir = Path(workdir)
        self.upstream_port = upstream_port
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """What a browser on this proxy's page sends as Origin."""
        return self.url

    def start(self) -> "NginxProxy":
        binary = nginx_binary()
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            (self.dir / "bsocial.conf").write_text(
                project_conf_for(self.upstream_port, self.port))
            d = self.dir
            (d / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/bsocial.conf;
}}
""")
            self._out = open(d / "stdout.log", "ab")
            self.proc = subprocess.Popen(
                [binary, "-e", str(d / "error.log"), "-c", str(d / "nginx.conf"), "-p", str(d)],
                stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(self.url + "/nginx-healthz", timeout=1) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
                time.sleep(0.05)
            last = self.log_tail()
            self.stop()
        raise AssertionError(f"nginx did not start; its log:\n{last}")

    def log_tail(self, n: int = 30) -> str:
        out = []
        for name in ("error.log", "stdout.log"):
            p = self.dir / name
            if p.exists():
                out += [f"--- {name}"] + p.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown of master and worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self.proc = None
