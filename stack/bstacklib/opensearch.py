"""OpenSearch: an embedded single-node cluster (opensearch/Launcher.java), ready when the
cluster health is yellow. Data kept across stop/start."""
from __future__ import annotations

import time
from typing import Any

from .common import STOP_TIMEOUT, free_port, port_is_free, spawn, terminate
from .java import fetch, node_command, node_settings, wait_health_yellow
from .server import Server

CONVENTIONAL_PORT = 9200  # transport: 9300
CONVENTIONAL_TRANSPORT_PORT = 9300
OPENSEARCH_HEAP = "512m"
OPENSEARCH_READY_TIMEOUT = 180


class OpenSearch(Server):
    name = "opensearch"
    title = "OpenSearch"
    env_var = "BSOCIAL_TEST_OPENSEARCH"
    default_on = True
    java = "opensearch"

    def start(self, port: int | None = None, **_: Any) -> str:
        """Start the embedded single-node OpenSearch; returns http://127.0.0.1:PORT
        once the cluster health is yellow. Data kept across stop/start."""
        st = self.st
        if self.running():
            return st["url"]
        t0 = time.monotonic()
        cdir = fetch("opensearch", quiet=True)
        base = self.home
        home, data, logs = base / "home", base / "data", base / "logs"
        for d in (home / "config", home / "plugins", home / "modules", data, logs):
            d.mkdir(parents=True, exist_ok=True)
        http = self.ports.pick(port, st.get("port"), [CONVENTIONAL_PORT])
        tport = st.get("transport_port")
        if not tport or not port_is_free(tport):
            tport = (CONVENTIONAL_TRANSPORT_PORT
                     if self.ports.prefer_conventional and port_is_free(CONVENTIONAL_TRANSPORT_PORT)
                     else free_port())
        settings = node_settings("bsocial-os-1", home, data, logs, http, tport)
        log_file = logs / "opensearch.log"
        cmd = node_command(cdir, base, OPENSEARCH_HEAP, log_file, "org.opensearch.deprecation", settings)
        out = base / "opensearch.out"
        p = spawn(cmd, out, cwd=base)
        url = f"http://127.0.0.1:{http}"
        st = {"port": http, "transport_port": tport, "pid": p.pid, "url": url, "data": str(data),
              "log": str(log_file), "out": str(out)}
        self.save(st)
        wait_health_yellow("opensearch", url, p, out, log_file, OPENSEARCH_READY_TIMEOUT)
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self.save(st)
        return url

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        st = self.st
        if st and self.running():
            terminate([st["pid"]], timeout=timeout)

    def status(self) -> dict[str, Any]:
        return self.recorded("port", "transport_port", "startup_seconds", "log")
