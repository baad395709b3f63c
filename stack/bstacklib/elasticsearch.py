"""Elasticsearch 8: an embedded single-node cluster (elasticsearch/Launcher.java) on an
internal plain-HTTP port, behind a TLS + basic-auth proxy (tls_proxy: nginx, a CA made
here, user `elastic` with a generated password). The endpoint is the https URL; ready
when the cluster health is yellow and the proxy answers. Data, CA and password kept
across stop/start.

nodes=3: a 3-node cluster (every node master-eligible and a data node, discovery through
each other's transport ports, cluster.initial_master_nodes on first start), each node
with its own JVM, heap, ports, data dir and nginx (one CA and password for all); the
endpoint is the comma-separated list of the nodes' https URLs, which is what
BSOCIAL_ELASTICSEARCH_URL takes. Ready when all three nodes have joined and health is
yellow. Files under <dir>/elasticsearch/node-N/."""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .common import (STOP_TIMEOUT, StackError, free_port, pid_alive, port_is_free, spawn, tail,
                     terminate)
from .java import fetch, node_command, node_settings, wait_health_yellow
from .server import Server
from .tls_proxy import USER, make_password, make_tls, start_proxy, wait_proxy

CONVENTIONAL_PORT = 9200  # the https endpoint; transport 9300 when free
CONVENTIONAL_TRANSPORT_PORT = 9300
ELASTICSEARCH_HEAP = "512m"
ELASTICSEARCH_READY_TIMEOUT = 180
CLUSTER_SIZES = (1, 3)


class Elasticsearch(Server):
    name = "elasticsearch"
    title = "Elasticsearch"
    env_var = "BSOCIAL_TEST_ELASTICSEARCH"
    default_on = False  # chosen with --engine elasticsearch (or --elasticsearch)
    java = "elasticsearch"

    def running(self) -> bool:
        st = self.st
        if st.get("nodes", 1) > 1:
            return bool(self.running_nodes())
        return (pid_alive(st.get("pid"), st.get("data"))
                and pid_alive(st.get("proxy_pid"), st.get("proxy_conf")))

    def start(self, port: int | None = None, es_nodes: int = 1, **_: Any) -> str:
        """Start the node and its TLS proxy; returns https://127.0.0.1:PORT (user
        `elastic`, password and CA file in credentials()). Data kept across stop/start.
        es_nodes=3: a 3-node cluster (start_cluster); returns the nodes' URLs, comma-separated."""
        if es_nodes not in CLUSTER_SIZES:
            raise ValueError(f"Elasticsearch nodes must be one of {CLUSTER_SIZES}")
        st = self.st
        self._check_size(st, es_nodes)
        if es_nodes > 1:
            return self.start_cluster(es_nodes, port)
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

    # ---- cluster mode (nodes > 1)

    def _check_size(self, st: dict, nodes: int) -> None:
        """A dir holds one kind: a single node (data/) or a cluster (node-N/data/)."""
        had = st.get("nodes", 1) if st else None
        if had is None or had == nodes:
            return
        made = ((self.home / "data").exists() if had == 1 else
                any((self.home / f"node-{i}" / "data").exists() for i in range(1, had + 1)))
        if made:
            raise StackError(f"{self.home.parent} holds a {had}-node Elasticsearch; wipe it "
                             f"(or use another dir) to start {nodes} node(s)")

    def _node_dir(self, i: int) -> Path:
        return self.home / f"node-{i}"

    def _check_node(self, i: int) -> dict:
        st = self.st
        if st.get("nodes", 1) < 2 or not 1 <= i <= st["nodes"]:
            raise ValueError(f"no Elasticsearch node {i} (a cluster's nodes are 1..{st.get('nodes', 1)}; "
                             "start it with nodes=3)")
        return st["node"][str(i)]

    def running_nodes(self) -> list[int]:
        """1-based ids of the cluster's nodes whose JVM and proxy both run."""
        st = self.st
        return [int(i) for i, n in sorted((st.get("node") or {}).items(), key=lambda kv: int(kv[0]))
                if pid_alive(n.get("pid"), n.get("data"))
                and pid_alive(n.get("proxy_pid"), n.get("proxy_conf"))]

    def _cluster_settings(self, st: dict, i: int) -> dict:
        n = st["node"][str(i)]
        base = self._node_dir(i)
        settings = node_settings(f"bsocial-es-{i}", base / "home", Path(n["data"]), base / "logs",
                                 n["http_port"], n["transport_port"])
        names = [f"bsocial-es-{j}" for j in range(1, st["nodes"] + 1)]
        settings.update({
            # a name of this dir's own: a stray node of another stack never joins
            "cluster.name": st["cluster_name"],
            "discovery.type": "multi-node",
            "discovery.seed_hosts": ",".join(f"127.0.0.1:{st['node'][str(j)]['transport_port']}"
                                             for j in range(1, st["nodes"] + 1) if j != i),
            "cluster.initial_master_nodes": ",".join(names),
        })
        return settings

    def _spawn_node(self, cdir: Path, st: dict, i: int) -> subprocess.Popen:
        base = self._node_dir(i)
        n = st["node"][str(i)]
        cmd = node_command(cdir, base, ELASTICSEARCH_HEAP, Path(n["log"]),
                           "org.elasticsearch.deprecation", self._cluster_settings(st, i))
        return spawn(cmd, Path(n["out"]), cwd=base)

    def _spawn_proxy(self, st: dict, i: int):
        n = st["node"][str(i)]
        return start_proxy(self._node_dir(i), self.home / "tls", n["port"], n["http_port"])

    def start_cluster(self, nodes: int = 3, port: int | None = None) -> str:
        """Start the nodes of a `nodes`-node cluster that do not run (all of them the first
        time); `port`: node i's https port is port+i-1. Returns the https URLs, comma-separated."""
        st = self.st
        running = self.running_nodes()
        if st.get("nodes") == nodes and len(running) == nodes:
            return st["url"]
        t0 = time.monotonic()
        cdir = fetch("elasticsearch", quiet=True)
        tls = self.home / "tls"
        make_tls(tls)
        if st.get("nodes") != nodes:
            digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:10]
            st = {"nodes": nodes, "cluster_name": f"bsocial-{digest}", "node": {}}
        st["password"] = make_password(tls, st.get("password"))
        st.update(user=USER, ca_file=str(tls / "ca.crt"))
        for i in range(1, nodes + 1):
            if i in running:
                continue
            base = self._node_dir(i)
            for d in ("home/config", "home/plugins", "home/modules", "data", "logs"):
                (base / d).mkdir(parents=True, exist_ok=True)
            old = st["node"].get(str(i), {})

            def keep(key: str, fallback: int | None = None) -> int:
                p = old.get(key)
                return p if p and port_is_free(p) else (fallback or free_port())
            https = port + i - 1 if port else keep(
                "port", CONVENTIONAL_PORT + i - 1 if self.ports.prefer_conventional
                and port_is_free(CONVENTIONAL_PORT + i - 1) else None)
            st["node"][str(i)] = {
                "port": https, "http_port": keep("http_port"),
                "transport_port": keep("transport_port"),
                "url": f"https://127.0.0.1:{https}", "data": str(base / "data"),
                "proxy_conf": str(base / "nginx.conf"),
                "log": str(base / "logs" / "elasticsearch.log"),
                "out": str(base / "elasticsearch.out")}
            st["node"][str(i)]["http_url"] = f"http://127.0.0.1:{st['node'][str(i)]['http_port']}"
        st["url"] = ",".join(st["node"][str(i)]["url"] for i in range(1, nodes + 1))
        started = [i for i in range(1, nodes + 1) if i not in running]
        spawned = {i: self._spawn_node(cdir, st, i) for i in started}
        for i, proc in spawned.items():
            st["node"][str(i)]["pid"] = proc.pid
        self.save(st)
        try:
            self._wait_cluster(st, nodes, ELASTICSEARCH_READY_TIMEOUT, spawned)
            proxies = {}
            for i in started:
                proxies[i] = self._spawn_proxy(st, i)
                st["node"][str(i)]["proxy_pid"] = proxies[i].pid
                self.save(st)
            for i in started:
                wait_proxy(st["node"][str(i)]["url"], proxies[i], self._node_dir(i),
                           tls / "ca.crt", st["password"])
        except BaseException:
            terminate([p for i in started for p in (st["node"][str(i)].get("pid"),
                                                    st["node"][str(i)].get("proxy_pid")) if p],
                      timeout=10)
            raise
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self.save(st)
        return st["url"]

    def _wait_cluster(self, st: dict, nodes: int, timeout: float,
                      spawned: dict[int, subprocess.Popen]) -> None:
        """Until every node answers and the cluster has `nodes` nodes and health yellow.
        A node spawned here is checked through its Popen (exact: its exit status), not
        through /proc: right after exec a process's command line can read empty for a
        moment (the kernel sets it up after the exec is reported), which the marker check
        of pid_alive took for a dead node (a CI setup error, 2026-12-06)."""
        deadline = time.monotonic() + timeout
        pending = set(range(1, nodes + 1))

        def exited(i: int) -> bool:
            if i in spawned:
                return spawned[i].poll() is not None
            n = st["node"][str(i)]
            return not pid_alive(n.get("pid"), n.get("data"))
        while pending:
            for i in sorted(pending):
                n = st["node"][str(i)]
                if exited(i):
                    raise StackError(f"elasticsearch node {i} exited:\n{tail(Path(n['out']))}\n"
                                     f"{tail(Path(n['log']))}")
                try:
                    with urllib.request.urlopen(
                            f"{n['http_url']}/_cluster/health?wait_for_nodes={nodes}"
                            "&wait_for_status=yellow&timeout=2s", timeout=10) as r:
                        h = json.loads(r.read())
                    if h.get("number_of_nodes") == nodes and h.get("status") in ("yellow", "green"):
                        pending.discard(i)
                except (urllib.error.URLError, OSError, ValueError):
                    pass
            if pending and time.monotonic() > deadline:
                raise StackError(f"elasticsearch cluster not formed after {timeout}s (nodes "
                                 f"{sorted(pending)} not ready):\n"
                                 f"{tail(Path(st['node'][str(min(pending))]['log']))}")
            if pending:
                time.sleep(0.5)

    def stop_node(self, i: int, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM node i's JVM and its proxy (1-based), SIGKILL after timeout."""
        n = self._check_node(i)
        terminate([p for p, m in ((n.get("proxy_pid"), n.get("proxy_conf")), (n.get("pid"), n.get("data")))
                   if pid_alive(p, m)], timeout=timeout)

    def kill_node(self, i: int) -> None:
        """SIGKILL node i's JVM (its nginx stays and answers 502, as a TLS front whose node
        died does)."""
        n = self._check_node(i)
        if pid_alive(n.get("pid"), n.get("data")):
            terminate([n["pid"]], sig=signal.SIGKILL)

    def restart(self) -> str:
        """Stop and start again: the same ports, data, CA and password (a cluster: every node)."""
        st = self.st
        if st.get("nodes", 1) > 1:
            self.stop()
            return self.start_cluster(st["nodes"])
        return super().restart()

    def restart_node(self, i: int) -> None:
        """(Re)start node i with its data, ports and proxy; returns once it has joined."""
        self.stop_node(i)
        self.start_cluster(self.st["nodes"])

    def master(self) -> int | None:
        """The id of the elected master node (asked of a running node), or None."""
        st = self.st
        for i in self.running_nodes():
            try:
                with urllib.request.urlopen(f"{st['node'][str(i)]['http_url']}/_cat/master?h=node",
                                            timeout=10) as r:
                    name = r.read().decode().strip()
                return int(name.rsplit("-", 1)[1])
            except (urllib.error.URLError, OSError, ValueError, IndexError):
                continue
        return None

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
        entries = list((st.get("node") or {}).values()) if st.get("nodes", 1) > 1 else [st]
        pids = [p for n in entries for p, marker in ((n.get("proxy_pid"), n.get("proxy_conf")),
                                                     (n.get("pid"), n.get("data")))
                if pid_alive(p, marker)]
        terminate(pids, timeout=timeout)

    def status(self) -> dict[str, Any]:
        st = self.st
        if st.get("nodes", 1) > 1:
            out = self.recorded("nodes", "user", "password", "ca_file", "startup_seconds")
            out["running_nodes"] = self.running_nodes()
            out["node"] = {i: {k: n.get(k) for k in ("url", "http_url", "transport_port", "pid",
                                                        "proxy_pid", "log")}
                           for i, n in st["node"].items()}
            return out
        return self.recorded("port", "http_url", "transport_port", "user", "password", "ca_file",
                             "startup_seconds", "log")

    def describe(self) -> str:
        st = self.st
        if st.get("nodes", 1) > 1:
            return (f"{self.title:<11} {st['nodes']} nodes {self.endpoint()}  (ready in "
                    f"{st.get('startup_seconds')}s, running {self.running_nodes()}, logs "
                    f"{self.home}/node-N/logs)\n  user {st.get('user')}, password "
                    f"{st.get('password')}, CA {st.get('ca_file')}")
        return (super().describe() + f"\n  user {st.get('user')}, password {st.get('password')}, "
                f"CA {st.get('ca_file')}  (plain HTTP, no auth: {st.get('http_url')})")

