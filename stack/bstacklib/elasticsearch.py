"""Elasticsearch 8: an embedded single-node cluster (elasticsearch/Launcher.java) on an
internal plain-HTTP port, behind a TLS + basic-auth proxy (tls_proxy: nginx, a CA made
here, user `elastic` with a generated password). The endpoint is the https URL; ready
when the cluster health is yellow and the proxy answers. Data, CA and password kept
across stop/start."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .common import STOP_TIMEOUT, free_port, pid_alive, port_is_free, spawn, terminate
from .java import fetch, node_command, node_settings, wait_health_yellow
from .server import Server
from .tls_proxy import USER, make_password, make_tls, start_proxy, wait_proxy

CONVENTIONAL_PORT = 9200  # the https endpoint; transport 9300 when free
CONVENTIONAL_TRANSPORT_PORT = 9300
ELASTICSEARCH_HEAP = "512m"
ELASTICSEARCH_READY_TIMEOUT = 180


class Elasticsearch(Server):
    name = "elasticsearch"
    title = "Elasticsearch"
    env_var = "BSOCIAL_TEST_ELASTICSEARCH"
    default_on = False  # chosen with --engine elasticsearch (or --elasticsearch)
    java = "elasticsearch"

    def running(self) -> bool:
        st = self.st
        return (pid_alive(st.get("pid"), st.get("data"))
                and pid_alive(st.get("proxy_pid"), st.get("proxy_conf")))

    def start(self, port: int | None = None, **_: Any) -> str:
        """Start the node and its TLS proxy; returns https://127.0.0.1:PORT (user
        `elastic`, password and CA file in credentials()). Data kept across stop/start."""
        st = self.st
        if self.running():
            return st["url"]
        self.stop()  # a half-running pair (one of the two killed) starts afresh
        t0 = time.monotonic()
        cdir = fetch("elasticsearch", quiet=True)
        base = self.home
        home, data, logs, tls = base / "home", base / "data", base / "logs", base / "tls"
        for d in (home / "config", home / "plugins", home / "modules", data, logs):
            d.mkdir(parents=True, exist_ok=True)
        https = self.ports.pick(port, st.get("port"), [CONVENTIONAL_PORT])
        http = st.get("http_port")
        if not http or not port_is_free(http) or http == https:
            http = free_port()
        tport = st.get("transport_port")
        if not tport or not port_is_free(tport):
            tport = (CONVENTIONAL_TRANSPORT_PORT
                     if self.ports.prefer_conventional and port_is_free(CONVENTIONAL_TRANSPORT_PORT)
                     else free_port())
        make_tls(tls)
        password = make_password(tls, st.get("password"))
        settings = node_settings("bsocial-es-1", home, data, logs, http, tport)
        log_file = logs / "elasticsearch.log"
        cmd = node_command(cdir, base, ELASTICSEARCH_HEAP, log_file, "org.elasticsearch.deprecation",
                           settings)
        out = base / "elasticsearch.out"
        p = spawn(cmd, out, cwd=base)
        http_url = f"http://127.0.0.1:{http}"
        url = f"https://127.0.0.1:{https}"
        st = {"port": https, "http_port": http, "transport_port": tport, "pid": p.pid,
              "url": url, "http_url": http_url, "data": str(data),
              "user": USER, "password": password, "ca_file": str(tls / "ca.crt"),
              "log": str(log_file), "out": str(out)}
        self.save(st)
        wait_health_yellow("elasticsearch", http_url, p, out, log_file, ELASTICSEARCH_READY_TIMEOUT)
        proxy = start_proxy(base, tls, https, http)
        st.update(proxy_pid=proxy.pid, proxy_conf=str(base / "nginx.conf"))
        self.save(st)
        try:
            wait_proxy(url, proxy, base, tls / "ca.crt", password)
        except BaseException:
            terminate([p.pid], timeout=10)
            raise
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self.save(st)
        return url

    def credentials(self) -> dict[str, str]:
        """What a client needs besides the URL: user, password, ca_file."""
        st = self.st
        return {"user": st["user"], "password": st["password"], "ca_file": st["ca_file"]}

    def exports(self) -> dict[str, str]:
        c = self.credentials()
        return {self.env_var: self.endpoint(), f"{self.env_var}_USER": c["user"],
                f"{self.env_var}_PASSWORD": c["password"], f"{self.env_var}_CA_FILE": c["ca_file"]}

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        st = self.st
        if not st:
            return
        pids = [p for p, marker in ((st.get("proxy_pid"), st.get("proxy_conf")),
                                    (st.get("pid"), st.get("data"))) if pid_alive(p, marker)]
        terminate(pids, timeout=timeout)

    def status(self) -> dict[str, Any]:
        return self.recorded("port", "http_url", "transport_port", "user", "password", "ca_file",
                             "startup_seconds", "log")

    def describe(self) -> str:
        st = self.st
        return (super().describe() + f"\n  user {st.get('user')}, password {st.get('password')}, "
                f"CA {st.get('ca_file')}  (plain HTTP, no auth: {st.get('http_url')})")
