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

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "integration", REPO / "stack"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bsocial_support import Client, ServerProcess, _RECENTLY_STOPPED, _RUNNING  # noqa: E402
from telemetry_support import (SearchEndpoint, TelemetryProcess, engine_choice,  # noqa: E402
                               engine_under_test, start_search, stop_search)

_TELEMETRY: list[TelemetryProcess] = []


class TelemetryStack:
    def __init__(self, workdir: Path):
        from bstack import Stack  # type: ignore

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


# The administrator of the module's server: sees /api/v1/analytics/*. Registered after the
# start, so BSOCIAL_ADMINS grants it nothing (issue 24, item 1): make_admin does.
ADMIN = "analyst"


def make_admin(srv: ServerProcess, client: Client, user) -> None:
    """`bsocial admin grant` on srv's database, then waits until srv believes it (the roles
    are read again every 2 s)."""
    import subprocess
    from bsocial_support import binary_path, wait_until
    cmd = [str(binary_path()), "admin", "grant", user.username, "--data-dir", str(srv.data_dir)]
    if srv.db_url:
        cmd += ["--db", srv.db_url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=srv.env())
    assert p.returncode == 0 and p.stdout.startswith("granted: "), (p.stdout, p.stderr)
    wait_until(lambda: client.get("/api/v1/users/me", token=user.token).json["is_admin"], 10,
               what=f"{user.username} seen as an administrator")


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
        _TELEMETRY.append(t)
        return t

    yield _make
    for t in started:
        if t.running():
            rc = t.stop()
            assert rc == 0, f"telemetry exited {rc} after SIGTERM\n{t.stderr_tail()}"


def pytest_runtest_setup(item):
    _RECENTLY_STOPPED.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in list(_RUNNING) + list(_RECENTLY_STOPPED):
            rep.sections.append((f"bsocial serve stderr ({srv.stderr_path})",
                                 srv.stderr_tail(40) or "(empty)"))
        for t in _TELEMETRY:
            rep.sections.append((f"bsocial telemetry stderr ({t.stderr_path})",
                                 t.stderr_tail(60) or "(empty)"))
