"""pytest harness for the notification end-to-end tests (issue #4).

ONE deployment per session, against a real Kafka (the test kit's `kafka` fixture,
stack/bstack.py) and the real binary:

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

from pathlib import Path

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.kafka import KafkaStack
from bsocial_testkit.pytest_plugin import DEFAULT_SERVER_ENV
from bsocial_testkit.server import NotifierProcess, ServerProcess
from bsocial_testkit.waiting import wait_until


class Deployment:
    def __init__(self, kafka: KafkaStack, workdir: Path):
        self.kafka = kafka
        env = dict(DEFAULT_SERVER_ENV)
        env["BSOCIAL_KAFKA_BROKERS"] = kafka.bootstrap
        # Several serve processes on one SQLite file keep the home timelines in the
        # database (docs/feed.md); in memory, the first would hold the file alone.
        env["BSOCIAL_FEED_CACHE_USERS"] = "0"
        self.api = ServerProcess(workdir=workdir / "api", db_url=kafka.new_database(),
                                 env_overrides=env)
        self.api.kind = kafka.db_kind
        self.api.start()
        # second API instance on the same data: same data dir / database and JWT secret
        env2 = dict(env)
        env2["BSOCIAL_RELAY"] = "false"
        self.api2 = ServerProcess(workdir=workdir / "api2", db_url=self.api.db_url,
                                  env_overrides=env2, jwt_secret=self.api.jwt_secret,
                                  secrets=self.api.secrets, data_dir=self.api.data_dir)
        self.api2.kind = kafka.db_kind
        self.api2.start()
        self.notifier = NotifierProcess(self.api, {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap})
        self.notifier.start()
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
        try:
            self.api.check_log_secrets(self.notifier.all_stderr_text())
        except AssertionError as e:
            problems.append(f"notifier log: {e}")
        for srv in (self.api2, self.api):
            try:
                srv.stop()
            except AssertionError as e:
                problems.append(str(e)[:500])
        return problems


@pytest.fixture(scope="session")
def deploy(kafka, tmp_path_factory) -> Deployment:
    d = Deployment(kafka, tmp_path_factory.mktemp("notify"))
    yield d
    problems = d.close()
    assert not problems, problems


@pytest.fixture
def client(deploy) -> Client:
    return deploy.client
