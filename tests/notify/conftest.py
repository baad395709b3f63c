"""pytest harness for the notification end-to-end tests (issue #4).

ONE deployment per session, against a real Kafka (stack/bstack.py, via the KafkaStack of
tests/kafka/conftest.py) and the real binary:

  api       `bsocial serve` with the outbox relay on (comment.created -> bsocial.comments)
  api2      a second `bsocial serve` on the same data (BSOCIAL_RELAY=false): another
            API instance, for "a socket on another instance gets the push"
  notifier  `bsocial notifier` on the same data and JWT secret (group bsocial-notifier)

Why one deployment and not one per test: the consumer group and topic are fixed, so
every notifier of the session reads every comment event in this Kafka; events of another
database (whose ids restart at 1) would land in the wrong one. Tests therefore make fresh
users and posts and never assume empty tables.

Environment:
  BSOCIAL_BIN       the binary (default: <repo>/build/debug/bsocial)
  BSOCIAL_TEST_DB   sqlite (default) | postgresql (a PostgreSQL of the same stack)
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "integration", REPO / "tests" / "kafka", REPO / "stack"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bsocial_support import Client, ServerProcess  # noqa: E402
from notify_support import NotifierProcess, wait_until  # noqa: E402


def _load_kafka_conftest():
    """tests/kafka/conftest.py under another module name (its KafkaStack and defaults)."""
    name = "bsocial_kafka_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "kafka" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


_kc = _load_kafka_conftest()
KafkaStack = _kc.KafkaStack
DEFAULT_ENV = dict(_kc.DEFAULT_ENV)

_PROCESSES: list = []  # everything that ran, for the report of a failing test


class Deployment:
    def __init__(self, kafka: KafkaStack, workdir: Path):
        self.kafka = kafka
        env = dict(DEFAULT_ENV)
        env["BSOCIAL_KAFKA_BROKERS"] = kafka.bootstrap
        # Several serve processes on one SQLite file keep the home timelines in the
        # database (docs/feed.md); in memory, the first would hold the file alone.
        env["BSOCIAL_FEED_CACHE_USERS"] = "0"
        self.api = ServerProcess(workdir=workdir / "api", db_url=kafka.new_database(),
                                 env_overrides=env)
        self.api.kind = kafka.db_kind
        self.api.start()
        _PROCESSES.append(self.api)
        # second API instance on the same data: same data dir / database and JWT secret
        env2 = dict(env)
        env2["BSOCIAL_RELAY"] = "false"
        self.api2 = ServerProcess(workdir=workdir / "api2", db_url=self.api.db_url,
                                  env_overrides=env2, jwt_secret=self.api.jwt_secret,
                                  secrets=self.api.secrets)
        self.api2.data_dir = self.api.data_dir
        self.api2.kind = kafka.db_kind
        self.api2.start()
        _PROCESSES.append(self.api2)
        self.notifier = NotifierProcess(self.api, {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap})
        self.notifier.start()
        _PROCESSES.append(self.notifier)
        self.client = Client(self.api)
        self.client2 = Client(self.api2)
        self.nclient = Client(self.notifier)  # follows the notifier's port across restarts
        self.wait_notifier_ready()

    @property
    def kind(self) -> str:
        return self.kafka.db_kind

    def wait_notifier_ready(self, timeout: float = 90.0) -> dict:
        """Bounded wait until the notifier's /readyz says 200 with checks.kafka == "ok"."""
        last = {}

        def ready():
            nonlocal last
            r = self.nclient.get("/readyz")
            last = {"status": r.status, "body": r.json}
            return r.status == 200 and isinstance(r.json, dict) and \
                (r.json.get("checks") or {}).get("kafka") == "ok"

        try:
            wait_until(ready, timeout, interval=0.25, what="notifier /readyz kafka ok")
        except AssertionError as e:
            raise AssertionError(f"{e}; last answer {last}") from None
        return last

    def close(self) -> list[str]:
        problems = []
        rc = self.notifier.stop()
        if rc != 0:
            problems.append(f"notifier exited with {rc} after SIGTERM")
        log = self.notifier.all_stderr_text()
        leaked = [s[:8] + "…" for s in self.api.secrets if s in log]
        if "$argon2" in log or leaked:
            problems.append(f"notifier log holds secrets: {leaked}")
        for srv in (self.api2, self.api):
            try:
                srv.stop()
            except AssertionError as e:
                problems.append(str(e)[:500])
        return problems


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    ks = KafkaStack(tmp_path_factory.mktemp("notifystack"))
    try:
        yield ks
    finally:
        ks.close()


@pytest.fixture(scope="session")
def deploy(kafka, tmp_path_factory) -> Deployment:
    d = Deployment(kafka, tmp_path_factory.mktemp("notify"))
    yield d
    problems = d.close()
    assert not problems, problems


@pytest.fixture
def client(deploy) -> Client:
    return deploy.client


# --------------------------------------------------------------------------- reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for p in _PROCESSES:
            name = getattr(p, "name", None) or p.workdir.name
            rep.sections.append((f"{name} stderr ({p.stderr_path})",
                                 p.stderr_tail(40) or "(empty)"))
