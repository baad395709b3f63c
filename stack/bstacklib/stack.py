"""Stack: the servers of one directory, sharing its state file and port policy."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable

from .common import STOP_TIMEOUT, PortPolicy, StackError
from .java import fetch
from .elasticsearch import Elasticsearch
from .kafka import Kafka
from .opensearch import OpenSearch
from .postgres import Postgres, pg_bin
from .server import Server
from .state import StateFile

DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".stack"

# Every server class, in the order endpoints, status and the CLI list them.
SERVERS: tuple[type[Server], ...] = (Kafka, OpenSearch, Elasticsearch, Postgres)


def _run_all(jobs: dict[str, Callable[[], Any]]) -> dict[str, BaseException]:
    """Runs the jobs in parallel threads; returns the errors by job name."""
    errors: dict[str, BaseException] = {}

    def run(name: str, f: Callable[[], Any]) -> None:
        try:
            f()
        except BaseException as e:  # noqa: BLE001
            errors[name] = e
    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


class Stack:
    """Local servers under one directory. Every method is safe to call again;
    start_* return the endpoint of an already running server."""

    def __init__(self, dir: str | os.PathLike | None = None):
        self.dir = Path(dir or DEFAULT_DIR).expanduser().resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "stack.json"
        self._state = StateFile(self.state_path)
        self._ports = PortPolicy()
        self.servers: dict[str, Server] = {
            cls.name: cls(self.dir, self._state, self._ports) for cls in SERVERS}
        self.kafka: Kafka = self.servers["kafka"]  # type: ignore[assignment]
        self.opensearch: OpenSearch = self.servers["opensearch"]  # type: ignore[assignment]
        self.postgres: Postgres = self.servers["postgres"]  # type: ignore[assignment]
        self.elasticsearch: Elasticsearch = self.servers["elasticsearch"]  # type: ignore[assignment]

    @property
    def state(self) -> dict[str, Any]:
        return self._state.data

    @property
    def prefer_conventional_ports(self) -> bool:
        """Conventional ports (9092, 9200, 5432) when free; the CLI sets this."""
        return self._ports.prefer_conventional

    @prefer_conventional_ports.setter
    def prefer_conventional_ports(self, value: bool) -> None:
        self._ports.prefer_conventional = value

    @property
    def startup_seconds(self) -> dict[str, float]:
        """Seconds from spawn to ready of the last start of each server."""
        return self._state.startup_seconds()

    # ---- PostgreSQL
    _pg_bin = staticmethod(pg_bin)

    def postgres_running(self) -> bool:
        return self.postgres.running()

    def start_postgres(self, port: int | None = None) -> str:
        return self.postgres.start(port=port)

    def create_database(self, name: str) -> str:
        return self.postgres.create_database(name)

    def drop_database(self, name: str) -> None:
        self.postgres.drop_database(name)

    def stop_postgres(self) -> None:
        self.postgres.stop()

    # ---- Kafka
    def kafka_running(self) -> list[int]:
        """1-based ids of the brokers that run now."""
        return self.kafka.running_brokers()

    def start_kafka(self, brokers: int = 1, port: int | None = None,
                    security: str = "plaintext") -> str:
        """security: plaintext, or sasl_ssl (TLS + SCRAM users + ACLs; kafka.credentials())."""
        return self.kafka.start(brokers=brokers, port=port, security=security)

    def stop_kafka_broker(self, i: int, timeout: float = STOP_TIMEOUT) -> None:
        self.kafka.stop_broker(i, timeout=timeout)

    def kill_kafka_broker(self, i: int) -> None:
        self.kafka.kill_broker(i)

    def restart_kafka_broker(self, i: int, wait: bool = True) -> None:
        self.kafka.restart_broker(i, wait=wait)

    def stop_kafka(self, timeout: float = STOP_TIMEOUT) -> None:
        self.kafka.stop(timeout=timeout)

    # ---- OpenSearch
    def opensearch_running(self) -> bool:
        return self.opensearch.running()

    def start_opensearch(self, port: int | None = None) -> str:
        return self.opensearch.start(port=port)

    def stop_opensearch(self, timeout: float = STOP_TIMEOUT) -> None:
        self.opensearch.stop(timeout=timeout)

    def restart_opensearch(self) -> str:
        return self.opensearch.restart()

    # ---- Elasticsearch (the https endpoint; credentials() for user, password, CA file)
    def start_elasticsearch(self, port: int | None = None, nodes: int = 1) -> str:
        """nodes=3: a 3-node cluster; the nodes' https URLs, comma-separated."""
        return self.elasticsearch.start(port=port, es_nodes=nodes)

    def stop_elasticsearch(self, timeout: float = STOP_TIMEOUT) -> None:
        self.elasticsearch.stop(timeout=timeout)

    def restart_elasticsearch(self) -> str:
        return self.elasticsearch.restart()

    # ---- all
    def endpoints(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dir": str(self.dir)}
        for name, server in self.servers.items():
            if server.running():
                out[name] = server.endpoint()
        return out

    def status(self) -> dict[str, Any]:
        """Per server: endpoint, running, pids, ports, start-up time."""
        res: dict[str, Any] = {"dir": str(self.dir)}
        for name, server in self.servers.items():
            st = server.status()
            if st:
                res[name] = st
        return res

    def stop_all(self) -> None:
        """Stop every server of this dir (in parallel). Data kept."""
        errors = _run_all({n: s.stop for n, s in self.servers.items()})
        if errors:
            raise StackError(f"stop failed: {list(errors.values())}")

    def wipe(self) -> None:
        """stop_all(), then delete every server's data, logs and stack.json."""
        self.stop_all()
        for server in self.servers.values():
            shutil.rmtree(server.home, ignore_errors=True)
        self._state.clear()

    def start(self, kafka: bool = True, opensearch: bool = True, postgres: bool = False,
              brokers: int = 1, kafka_security: str = "plaintext", es_nodes: int = 1,
              **others: bool) -> dict[str, Any]:
        """Start the chosen servers concurrently (a server added to SERVERS is chosen by
        its name: start(elasticsearch=True)); returns endpoints()."""
        chosen = {"kafka": kafka, "opensearch": opensearch, "postgres": postgres, **others}
        unknown = set(chosen) - set(self.servers)
        if unknown:
            raise ValueError(f"no such server: {', '.join(sorted(unknown))}")
        wanted = [s for n, s in self.servers.items() if chosen.get(n)]
        # fetch first, serially: two concurrent mvn runs would share ~/.m2
        for server in wanted:
            if server.java:
                fetch(server.java)
        errors = _run_all({s.name: (lambda s=s: s.start(brokers=brokers, security=kafka_security,
                                                        es_nodes=es_nodes))
                           for s in wanted})
        if errors:
            raise StackError("; ".join(f"{n}: {e}" for n, e in errors.items()))
        return self.endpoints()
