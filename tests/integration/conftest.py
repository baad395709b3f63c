"""pytest harness: starts `bsocial serve` on SQLite or PostgreSQL and hands out clients.

Environment:
  BSOCIAL_BIN           the binary (default: <repo>/build/debug/bsocial)
  BSOCIAL_TEST_DB       sqlite (default) | postgresql
  BSOCIAL_TEST_PG_URL   use this PostgreSQL server instead of starting one with
                        stack/bstack.py (one fresh database per server start)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bsocial_support import (  # noqa: E402
    REPO,
    Client,
    ServerProcess,
    _RECENTLY_STOPPED,
    _RUNNING,
    hexid,
)

# The module-scoped server must not trip the failed-login limiter while other tests
# try wrong passwords on purpose; rate limiting is tested on function-scoped servers.
DEFAULT_ENV = {
    "BSOCIAL_LOGIN_MAX_FAILURES": "1000",
    "BSOCIAL_LOGIN_WINDOW_SECONDS": "900",
}


# --------------------------------------------------------------------------- databases


class SqliteBackend:
    kind = "sqlite"

    def new_database(self) -> str | None:
        return None  # the server creates <data-dir>/bsocial.db

    def close(self) -> None:
        pass


def _psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True, timeout=60).stdout


class ExternalPgBackend:
    """BSOCIAL_TEST_PG_URL: create (and later drop) one database per server start."""

    kind = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.created: list[str] = []

    def new_database(self) -> str:
        name = f"bsocial_it_{hexid(6)}"
        _psql(self.url, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + name))

    def close(self) -> None:
        for name in self.created:
            try:
                _psql(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # best effort
                print(f"could not drop test database {name}: {e}")


class StackPgBackend:
    """A throw-away PostgreSQL cluster from stack/bstack.py, one per session."""

    kind = "postgresql"

    def __init__(self):
        sys.path.insert(0, str(REPO / "stack"))
        from bstack import Stack  # type: ignore

        # Not under pytest's basetemp: a concurrently starting pytest session (ctest runs
        # the sqlite and postgresql suites side by side) resets /tmp/pytest-of-<user> to
        # 0700, which would lock the postgres OS user out of its data directory.
        self.workdir = Path(tempfile.mkdtemp(prefix="bsocial-it-pg-"))
        self.stack = Stack(self.workdir)
        self.url = self.stack.start_postgres(port=None)

    def new_database(self) -> str:
        return self.stack.create_database(f"bsocial_it_{hexid(6)}")

    def close(self) -> None:
        try:
            self.stack.stop_all()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def db_backend(tmp_path_factory):
    kind = os.environ.get("BSOCIAL_TEST_DB", "sqlite").strip().lower()
    if kind == "sqlite":
        backend = SqliteBackend()
    elif kind in ("postgresql", "postgres", "pg"):
        url = os.environ.get("BSOCIAL_TEST_PG_URL")
        if url:
            backend = ExternalPgBackend(url)
        else:
            backend = StackPgBackend()
    else:
        raise pytest.UsageError(f"BSOCIAL_TEST_DB must be sqlite or postgresql, not {kind!r}")
    yield backend
    backend.close()


# --------------------------------------------------------------------------- servers


def _make_server(backend, workdir: Path, env: dict | None, args: list | None) -> ServerProcess:
    merged = dict(DEFAULT_ENV)
    merged.update(env or {})
    srv = ServerProcess(workdir=workdir, db_url=backend.new_database(), env_overrides=merged,
                        extra_args=list(args or []))
    srv.kind = backend.kind
    return srv.start()


@pytest.fixture(scope="module")
def server(db_backend, tmp_path_factory):
    """One server per test module (fast); torn down with SIGTERM, must exit 0."""
    srv = _make_server(db_backend, tmp_path_factory.mktemp("srv"), None, None)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server)


@pytest.fixture
def start_server(db_backend, tmp_path_factory):
    """Factory for function-scoped servers with special env (rate limits, token TTL...).

    start_server(env={...}, args=[...]) -> ServerProcess (already listening).
    A stopped one can be started again on the same data with srv.start().
    """
    started: list[ServerProcess] = []

    def _start(env: dict | None = None, args: list | None = None) -> ServerProcess:
        srv = _make_server(db_backend, tmp_path_factory.mktemp("fsrv"), env, args)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        if srv.proc is not None:
            srv.stop()


# --------------------------------------------------------------------------- reporting


def pytest_runtest_setup(item):
    _RECENTLY_STOPPED.clear()


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
