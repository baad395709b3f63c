"""The pytest plugin of the test kit (the root conftest.py loads it: `pytest_plugins`).

Fixtures every suite shares; a suite's conftest.py overrides the ones it runs otherwise:

  db_backend     (session) where servers get their database: BSOCIAL_TEST_DB=sqlite
                 (default) | postgresql (BSOCIAL_TEST_PG_URL, or a throw-away PostgreSQL
                 from stack/bstack.py). Kafka suites return their KafkaStack instead.
  server_env     (session) environment every server of the suite gets ({} here; Kafka:
                 the brokers and the relay user's BSOCIAL_KAFKA_* security variables).
  server_secrets (session) strings no server's answer or log may hold, added to each
                 server's `secrets` (empty here; Kafka: the stack's SASL passwords).
  server         (module)  one `bsocial serve`; SIGTERM at the end, must exit 0.
  client         (module)  a checked Client of `server`.
  start_server   factory: start_server(env={...}, args=[...]) -> ServerProcess (listening,
                 fresh data), stopped after the test.
  kafka          (session) a KafkaStack (1 broker; PostgreSQL too when BSOCIAL_TEST_DB
                 asks), stopped at the end.
  start_relay    factory: start_relay(server, env={...}, name=...) -> RelayProcess on the
                 server's data with BSOCIAL_KAFKA_BROKERS and the relay user's security
                 variables (kafka.client_env("relay")) set; killed after the test.

A failing test's report holds the stderr tail of every bsocial process that ran during it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .database import backend_from_env
from .http import Client
from .kafka import KafkaStack
from .process import forget_stopped, report_sections
from .server import RelayProcess, ServerProcess

# The module-scoped server must not trip the failed-login limiter while other tests try
# wrong passwords on purpose; rate limiting is tested on function-scoped servers.
DEFAULT_SERVER_ENV = {
    "BSOCIAL_LOGIN_MAX_FAILURES": "1000",
    "BSOCIAL_LOGIN_WINDOW_SECONDS": "900",
}


def make_server(backend, workdir: Path, env: dict | None = None,
                args: list | None = None, secrets: set | None = None) -> ServerProcess:
    """A started `bsocial serve` on a new database of `backend`, DEFAULT_SERVER_ENV + env;
    `secrets` (copied) are checked absent from its answers and, when it stops, its log."""
    srv = ServerProcess(workdir=workdir, db_url=backend.new_database(),
                        env_overrides={**DEFAULT_SERVER_ENV, **(env or {})},
                        extra_args=list(args or []), secrets=set(secrets or ()))
    srv.kind = backend.kind
    return srv.start()


@pytest.fixture(scope="session")
def db_backend():
    try:
        backend = backend_from_env()
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def server_env() -> dict:
    return {}


@pytest.fixture(scope="session")
def server_secrets() -> set:
    return set()


@pytest.fixture(scope="module")
def server(db_backend, server_env, server_secrets, tmp_path_factory) -> ServerProcess:
    srv = make_server(db_backend, tmp_path_factory.mktemp("srv"), server_env,
                      secrets=server_secrets)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server)


@pytest.fixture
def start_server(db_backend, server_env, server_secrets, tmp_path_factory):
    started: list[ServerProcess] = []

    def _start(env: dict | None = None, args: list | None = None) -> ServerProcess:
        srv = make_server(db_backend, tmp_path_factory.mktemp("fsrv"),
                          {**server_env, **(env or {})}, args, server_secrets)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        if srv.proc is not None:
            srv.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory) -> KafkaStack:
    try:
        ks = KafkaStack(tmp_path_factory.mktemp("kafkastack"))
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    try:
        yield ks
    finally:
        ks.close()


@pytest.fixture
def start_relay(kafka):
    started: list[RelayProcess] = []

    def _start(server: ServerProcess, env: dict | None = None, name: str = "relay"):
        r = RelayProcess(server, {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap,
                                  **kafka.client_env("relay"), **(env or {})}, name).start()
        started.append(r)
        return r

    yield _start
    for r in started:
        r.kill()


def pytest_runtest_setup(item):
    forget_stopped()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        rep.sections.extend(report_sections())
