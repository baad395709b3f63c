"""pytest harness of the telemetry suite (real Kafka, real Elasticsearch or OpenSearch,
real processes).

Each test module gets its own stack (stack/bstack.py: Kafka + the search engine on free
ports in a tmp dir; BSOCIAL_TEST_ENGINE=elasticsearch (default: 8.x over https with a
password and the stack's CA) or opensearch), its own `bsocial serve` (SQLite, relay on) and its own `bsocial telemetry`, so
topics and indices hold exactly that module's events and ids never collide between
modules (every SQLite database numbers its users and posts from 1).

Environment: BSOCIAL_BIN (default <repo>/build/debug/bsocial).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.paths import REPO
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.stack import Stack
from bsocial_testkit.telemetry import (
    ADMIN, SearchEndpoint, TelemetryProcess, engine_choice, engine_under_test, start_search,
    stop_search)


class TelemetryStack:
    def __init__(self, workdir: Path):
        self.engine = engine_under_test()
        self.stack = Stack(workdir / "stack")
        ep = self.stack.start(kafka=True, **engine_choice(self.engine))
        self.kafka: str = ep["kafka"]
        self.search: SearchEndpoint = start_search(self.stack, self.engine)  # already running

    def stop_search(self) -> None:
        stop_search(self.stack, self.engine)

    def restart_search(self) -> SearchEndpoint:
        again = start_search(self.stack, self.engine)
        assert again == self.search, f"{self.engine} came back as {again}, not {self.search}"
        return again

    def close(self) -> None:
        self.stack.stop_all()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> TelemetryStack:
    s = TelemetryStack(tmp_path_factory.mktemp("telstack"))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def server(stack, tmp_path_factory) -> ServerProcess:
    """`bsocial serve` with the outbox relay on, and the analytics API on the module's search
    engine (the administrator: make_admin); it serves web/dist too when it is built."""
    env = {
        "BSOCIAL_KAFKA_BROKERS": stack.kafka,
        "BSOCIAL_LOGIN_MAX_FAILURES": "1000",
        **stack.search.env(),
        "BSOCIAL_QUERIES_DIR": str(REPO / "queries"),
    }
    if (REPO / "web" / "dist" / "index.html").is_file():
        env["BSOCIAL_STATIC_DIR"] = str(REPO / "web" / "dist")
    srv = ServerProcess(workdir=tmp_path_factory.mktemp("telsrv"), env_overrides=env)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server)


@pytest.fixture(scope="module")
def make_telemetry(stack, tmp_path_factory):
    """make_telemetry(env=None, name=...) -> started TelemetryProcess; stopped at the end."""
    workdir = tmp_path_factory.mktemp("tel")
    started: list[TelemetryProcess] = []

    def _make(env: dict | None = None, name: str = "telemetry") -> TelemetryProcess:
        t = TelemetryProcess(workdir, stack.kafka, stack.search, env, name).start()
        started.append(t)
        return t

    yield _make
    for t in started:
        if t.running():
            rc = t.stop()
            assert rc == 0, f"telemetry exited {rc} after SIGTERM\n{t.stderr_tail()}"
