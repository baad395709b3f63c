"""pytest harness for the Kafka end-to-end tests of the outbox relay.

One real Kafka (stack/bstack.py, 1 broker, free ports, a tmp dir) per session, stopped
at the end. Servers are started per module or per test, each with its own data dir.
The HTTP client and server process come from tests/integration/bsocial_support.py.

Environment:
  BSOCIAL_BIN       the binary (default: <repo>/build/debug/bsocial)
  BSOCIAL_TEST_DB   sqlite (default) | postgresql (a PostgreSQL of the same stack,
                    one fresh database per server)
  BSOCIAL_TEST_KAFKA_SECURITY  plaintext (default) | sasl_ssl: the broker takes TLS + SASL
                    only, with topic ACLs; servers and relays connect as the relay's user,
                    kcat as the admin (and OpenSearch starts too, for test_sasl_ssl.py)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "integration", REPO / "stack"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bsocial_support import (  # noqa: E402
    Client,
    ServerProcess,
    _RECENTLY_STOPPED,
    _RUNNING,
    hexid,
)
import kafka_support  # noqa: E402
from kafka_support import RelayProcess  # noqa: E402

DEFAULT_ENV = {
    "BSOCIAL_LOGIN_MAX_FAILURES": "1000",
    "BSOCIAL_LOGIN_WINDOW_SECONDS": "900",
}

_RELAYS: list[RelayProcess] = []


class KafkaStack:
    """The session's stack: Kafka always, PostgreSQL when BSOCIAL_TEST_DB asks for it."""

    def __init__(self, workdir: Path):
        from bstack import Stack  # type: ignore

        self.stack = Stack(workdir)
        self.db_kind = os.environ.get("BSOCIAL_TEST_DB", "sqlite").strip().lower()
        if self.db_kind in ("postgres", "pg"):
            self.db_kind = "postgresql"
        if self.db_kind not in ("sqlite", "postgresql"):
            raise pytest.UsageError(f"BSOCIAL_TEST_DB must be sqlite or postgresql")
        self.security = os.environ.get("BSOCIAL_TEST_KAFKA_SECURITY", "plaintext").strip().lower()
        if self.security not in ("plaintext", "sasl_ssl"):
            raise pytest.UsageError("BSOCIAL_TEST_KAFKA_SECURITY must be plaintext or sasl_ssl")
        if self.security == "sasl_ssl":
            # OpenSearch alongside (in parallel), for telemetry over SASL_SSL.
            self.stack.start(kafka=True, opensearch=True, postgres=self.db_kind == "postgresql",
                             kafka_security="sasl_ssl")
            self.bootstrap = self.stack.kafka.endpoint()
        else:
            self.bootstrap = self.stack.start_kafka(brokers=1)
            if self.db_kind == "postgresql":
                self.stack.start_postgres()
        # kcat (kafka_support.read_topic...) reads as the admin
        kafka_support.KCAT_ARGS[:] = self.stack.kafka.kcat_args("admin")

    def client_env(self, role: str) -> dict[str, str]:
        """BSOCIAL_KAFKA_* security variables of a process connecting as `role` (relay,
        notifier, telemetry); empty for plaintext."""
        return self.stack.kafka.client_env(role)

    def passwords(self) -> set[str]:
        """Every SASL password of the stack (none may appear in a log)."""
        c = self.stack.kafka.credentials()
        return {v["password"] for v in c.values() if isinstance(v, dict) and "password" in v}

    def stop_kafka(self) -> None:
        self.stack.stop_kafka()

    def start_kafka(self) -> str:
        """Start again (same data, same ports); returns the bootstrap string."""
        again = self.stack.start_kafka(brokers=1, security=self.security)
        assert again == self.bootstrap, f"Kafka came back on {again}, not {self.bootstrap}"
        return again

    def kafka_running(self) -> bool:
        return bool(self.stack.kafka_running())

    def new_database(self) -> str | None:
        if self.db_kind == "sqlite":
            return None
        return self.stack.create_database(f"bsocial_kt_{hexid(6)}")

    def close(self) -> None:
        self.stack.stop_all()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory) -> KafkaStack:
    ks = KafkaStack(tmp_path_factory.mktemp("kafkastack"))
    try:
        yield ks
    finally:
        ks.close()


def _make_server(kafka: KafkaStack, workdir: Path, env: dict | None) -> ServerProcess:
    merged = dict(DEFAULT_ENV)
    merged["BSOCIAL_KAFKA_BROKERS"] = kafka.bootstrap
    merged.update(kafka.client_env("relay"))
    merged.update(env or {})
    srv = ServerProcess(workdir=workdir, db_url=kafka.new_database(), env_overrides=merged)
    srv.secrets.update(kafka.passwords())  # checked absent from its log when it stops
    srv.kind = kafka.db_kind
    return srv.start()


@pytest.fixture(scope="module")
def server(kafka, tmp_path_factory):
    """One `bsocial serve` with the relay on, per module; SIGTERM at the end, exit 0."""
    srv = _make_server(kafka, tmp_path_factory.mktemp("ksrv"), None)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server)


@pytest.fixture
def start_server(kafka, tmp_path_factory):
    """start_server(env={...}) -> ServerProcess (listening), fresh data dir, stopped after."""
    started: list[ServerProcess] = []

    def _start(env: dict | None = None) -> ServerProcess:
        srv = _make_server(kafka, tmp_path_factory.mktemp("kfsrv"), env)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        if srv.proc is not None:
            srv.stop()


@pytest.fixture
def start_relay(kafka):
    """start_relay(server, env={...}, name=...) -> RelayProcess running `bsocial relay`
    on the server's data (BSOCIAL_KAFKA_BROKERS preset). Killed after the test if alive."""
    started: list[RelayProcess] = []

    def _start(server: ServerProcess, env: dict | None = None, name: str = "relay"):
        merged = {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap}
        merged.update(kafka.client_env("relay"))
        merged.update(env or {})
        r = RelayProcess(server, merged, name).start()
        started.append(r)
        _RELAYS.append(r)
        return r

    yield _start
    for r in started:
        r.kill()


# --------------------------------------------------------------------------- reporting


def pytest_runtest_setup(item):
    _RECENTLY_STOPPED.clear()
    _RELAYS.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        seen = []
        for srv in list(_RUNNING) + list(_RECENTLY_STOPPED):
            if srv in seen:
                continue
            seen.append(srv)
            rep.sections.append(
                (f"bsocial stderr ({srv.stderr_path})", srv.stderr_tail(60) or "(empty)"))
        for r in _RELAYS:
            rep.sections.append(
                (f"bsocial relay stderr ({r.stderr_path})", r.stderr_tail(60) or "(empty)"))
