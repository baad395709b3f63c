"""The server's database seen from a test: read-only peeks (SQLite file or PostgreSQL URL
with psql), the outbox rows one action wrote, and where a test gets its databases
(BSOCIAL_TEST_DB=sqlite|postgresql; BSOCIAL_TEST_PG_URL, or a throw-away PostgreSQL
from stack/bstack.py)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

from .api import ID_RE, TS_RE, UUID_RE, hexid, now_ms, ts_to_ms


def db_kind_from_env() -> str:
    """BSOCIAL_TEST_DB: "sqlite" (default) or "postgresql" (postgres, pg)."""
    kind = os.environ.get("BSOCIAL_TEST_DB", "sqlite").strip().lower()
    if kind in ("postgres", "pg"):
        kind = "postgresql"
    if kind not in ("sqlite", "postgresql"):
        raise ValueError(f"BSOCIAL_TEST_DB must be sqlite or postgresql, not {kind!r}")
    return kind


def psql(url: str, sql: str, timeout: float = 60) -> str:
    return subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True, timeout=timeout).stdout


class Database:
    """Read-only peeks into the server's database (SQLite file or PostgreSQL URL)."""

    def __init__(self, sqlite_path: Path | None = None, pg_url: str | None = None):
        self.sqlite_path = sqlite_path
        self.pg_url = pg_url

    def _sqlite(self, sql: str, args: tuple = ()) -> list[tuple]:
        assert self.sqlite_path is not None
        con = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=10)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def _psql_json(self, sql: str) -> list[dict]:
        out = psql(self.pg_url, sql, timeout=30)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def outbox_max_id(self) -> int:
        if self.pg_url:
            rows = self._psql_json("select json_build_object('m', coalesce(max(id),0)) from outbox")
            return int(rows[0]["m"])
        return int(self._sqlite("select coalesce(max(id),0) from outbox")[0][0])

    def outbox_after(self, after_id: int) -> list[dict]:
        cols = ["id", "event_id", "topic", "event_key", "event_type", "payload",
                "created_at", "sent_at"]
        if self.pg_url:
            sql = (
                "select json_build_object('id',id,'event_id',event_id::text,'topic',topic,"
                "'event_key',event_key,'event_type',event_type,'payload',payload::text,"
                "'created_at',created_at,'sent_at',sent_at) "
                f"from outbox where id > {int(after_id)} order by id"
            )
            return self._psql_json(sql)
        rows = self._sqlite(
            "select id,event_id,topic,event_key,event_type,payload,created_at,sent_at "
            "from outbox where id > ? order by id", (after_id,))
        return [dict(zip(cols, row)) for row in rows]

    def rows(self, sql: str) -> list[tuple]:
        """A read-only query with no parameters on either database (values as text on
        PostgreSQL, as stored on SQLite)."""
        if self.pg_url:
            out = subprocess.run(
                ["psql", self.pg_url, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                 "-c", sql], check=True, capture_output=True, text=True, timeout=30).stdout
            return [tuple(line.split("\t")) for line in out.splitlines() if line]
        return self._sqlite(sql)

    def execute_admin(self, sqlite_sql: str, pg_sql: str) -> None:
        """Run one administrative statement (e.g. a trigger that makes writes fail), with
        write access, in the dialect of the server's database."""
        if self.pg_url:
            subprocess.run(["psql", self.pg_url, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-c", pg_sql], check=True, capture_output=True, text=True,
                           timeout=30)
            return
        con = sqlite3.connect(str(self.sqlite_path), timeout=10)
        try:
            con.executescript(sqlite_sql)
            con.commit()
        finally:
            con.close()

    def password_hash(self, username: str) -> str | None:
        if self.pg_url:
            name = username.replace("'", "''")
            rows = self._psql_json(
                "select json_build_object('h', password_hash) from users "
                f"where username = '{name}'")
            return rows[0]["h"] if rows else None
        rows = self._sqlite("select password_hash from users where username = ?", (username,))
        return rows[0][0] if rows else None


NOW = object()  # in an expected event `data`: "a timestamp taken during the action"


class OutboxAction:
    """Context manager around one HTTP action: remembers the outbox position and the time
    before and after, so a test can find the rows the action wrote and check that their
    timestamps fall inside it."""

    slack_ms = 2000

    def __init__(self, client):
        self.client = client
        self.db = client.server.db

    def __enter__(self):
        self.before = self.db.outbox_max_id()
        self.t0 = now_ms()
        return self

    def __exit__(self, *exc):
        self.t1 = now_ms()
        return False

    def rows(self) -> list[dict]:
        return self.db.outbox_after(self.before)

    def only_row(self) -> dict:
        rows = self.rows()
        assert len(rows) == 1, f"expected exactly one new outbox row, got {len(rows)}: {rows}"
        return rows[0]

    def within(self, ms: int, what: str) -> None:
        assert self.t0 - self.slack_ms <= ms <= self.t1 + self.slack_ms, \
            f"{what}={ms} not within the action ({self.t0}..{self.t1})"

    def check_envelope(self, payload: str, etype: str, data: dict) -> dict:
        """An event of the action against shared/design/events.md: exactly the envelope's
        keys, a UUID id, `etype`, version 1, occurred_at within the action; exactly the
        fields of `data` with its values (NOW: a timestamp within the action; every *_id a
        decimal string). Returns the parsed envelope."""
        env = json.loads(payload)
        assert isinstance(env, dict) and set(env) == {"id", "type", "version", "occurred_at",
                                                      "data"}, f"envelope keys: {env}"
        assert isinstance(env["id"], str) and UUID_RE.match(env["id"]), env["id"]
        assert env["type"] == etype
        assert env["version"] == 1 and type(env["version"]) is int, env["version"]
        assert isinstance(env["occurred_at"], str) and TS_RE.match(env["occurred_at"]), env
        self.within(ts_to_ms(env["occurred_at"]), "occurred_at")
        got = env["data"]
        assert isinstance(got, dict) and set(got) == set(data), \
            f"{etype} data fields {sorted(got)} != {sorted(data)}"
        for k, want in data.items():
            if want is NOW:
                assert isinstance(got[k], str) and TS_RE.match(got[k]), (k, got[k])
                self.within(ts_to_ms(got[k]), k)
            else:
                assert got[k] == want, f"{etype} data.{k} = {got[k]!r}, expected {want!r}"
            if k.endswith("_id"):
                assert isinstance(got[k], str) and ID_RE.match(got[k]), (k, got[k])
        return env


# --------------------------------------------------------------------------- backends
# A backend hands out one database per server start: new_database() -> URL or None (SQLite
# in the server's data dir); `kind` is "sqlite" or "postgresql".


class SqliteBackend:
    kind = "sqlite"

    def new_database(self) -> str | None:
        return None  # the server creates <data-dir>/bsocial.db

    def close(self) -> None:
        pass


class ExternalPgBackend:
    """BSOCIAL_TEST_PG_URL: create (and later drop) one database per server start."""

    kind = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.created: list[str] = []

    def new_database(self) -> str:
        name = f"bsocial_it_{hexid(6)}"
        psql(self.url, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + name))

    def close(self) -> None:
        for name in self.created:
            try:
                psql(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # best effort
                print(f"could not drop test database {name}: {e}")


class StackPgBackend:
    """A throw-away PostgreSQL cluster from stack/bstack.py."""

    kind = "postgresql"

    def __init__(self):
        from .stack import Stack

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


def backend_from_env():
    """The backend BSOCIAL_TEST_DB (and BSOCIAL_TEST_PG_URL) ask for."""
    if db_kind_from_env() == "sqlite":
        return SqliteBackend()
    url = os.environ.get("BSOCIAL_TEST_PG_URL")
    return ExternalPgBackend(url) if url else StackPgBackend()
