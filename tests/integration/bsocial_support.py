"""Helpers shared by the black-box integration tests of `bsocial serve`.

Only the Python standard library is used: http.client for HTTP, sqlite3 / psql for
peeking at the database (outbox rows, password hashes), hmac/hashlib for JWTs.
Everything here speaks the contract of shared/design/api.md and
docs/api-conventions.md; nothing knows the server's internals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

LISTEN_RE = re.compile(r"^bsocial serve listening on http://127\.0\.0\.1:(\d+)$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I
)
ID_RE = re.compile(r"^[0-9]+$")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def binary_path() -> Path:
    env = os.environ.get("BSOCIAL_BIN")
    if env:
        return Path(env).expanduser().resolve()  # Popen runs with another cwd
    return REPO / "build" / "debug" / "bsocial"


def ts_to_ms(ts: str) -> int:
    """RFC 3339 UTC with milliseconds -> epoch milliseconds."""
    assert TS_RE.match(ts), f"not an RFC 3339 UTC timestamp with ms: {ts!r}"
    import datetime as _dt

    d = _dt.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=_dt.timezone.utc)
    return int(d.timestamp()) * 1000 + int(ts[20:23])


def now_ms() -> int:
    return int(time.time() * 1000)

def wait_until(pred, timeout: float, interval: float = 0.25, what: str = "condition",
               tolerate: tuple = ()):
    """Bounded wait: returns pred()'s first truthy value, or raises AssertionError after
    `timeout` seconds. Exceptions of the types in `tolerate` (a server restarting) count
    as "not yet"; any other exception propagates."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
        except tolerate as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s (last: {last!r})")
        time.sleep(interval)


def hexid(n: int = 5) -> str:
    """Random lower-case hex; hex can never spell "password", "hash" or "token"."""
    return secrets.token_hex(n)


# --------------------------------------------------------------------------- JWT


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token: str) -> tuple[dict, dict, bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def jwt_encode(header: dict, payload: dict, key: bytes | None) -> str:
    """key None -> empty signature (for alg none)."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if key is None:
        return signing_input + "."
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def jwt_key_candidates(secret_hex: str) -> list[bytes]:
    # The contract does not say whether the 64-hex secret is used as text or as the
    # 32 bytes it encodes; the suite accepts either, decided from a real token.
    return [secret_hex.encode(), bytes.fromhex(secret_hex)]


def find_jwt_key(token: str, secret_hex: str) -> bytes | None:
    h, p, s = token.split(".")
    for key in jwt_key_candidates(secret_hex):
        mac = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
        if hmac.compare_digest(mac, b64url_decode(s)):
            return key
    return None


# --------------------------------------------------------------------------- HTTP


class Resp:
    """(status, headers, body) plus the raw bytes; unpacks as a 3-tuple."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, raw: bytes,
                 method: str, path: str):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.method = method
        self.path = path
        self.json: Any = None
        if raw:
            try:
                self.json = json.loads(raw)
            except ValueError:
                self.json = None

    @property
    def body(self) -> Any:
        return self.json

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def header_all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    def __repr__(self) -> str:
        text = self.raw[:600].decode("utf-8", "replace")
        return f"<{self.method} {self.path[:120]} -> {self.status} {text}>"


_NO_BODY = object()


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def check_error_shape(r: Resp) -> None:
    assert isinstance(r.json, dict), f"error response is not a JSON object: {r!r}"
    assert set(r.json) == {"error"}, f"error body must be {{'error':...}} only: {r!r}"
    err = r.json["error"]
    assert isinstance(err, dict), r
    assert set(err) <= {"code", "message", "fields"}, f"unexpected error keys: {r!r}"
    assert isinstance(err.get("code"), str) and re.match(r"^[a-z][a-z0-9_]*$", err["code"]), r
    assert isinstance(err.get("message"), str) and err["message"], r
    if "fields" in err:
        assert isinstance(err["fields"], dict), r
        for k, v in err["fields"].items():
            assert isinstance(k, str) and isinstance(v, str), r


def assert_error(r: Resp, status: int, code: str, fields: list[str] | tuple = ()) -> dict:
    assert r.status == status, f"expected {status} {code}, got {r!r}"
    check_error_shape(r)
    err = r.json["error"]
    assert err["code"] == code, f"expected code {code}: {r!r}"
    if fields:
        assert "fields" in err, f"expected fields {fields}: {r!r}"
        for f in fields:
            assert f in err["fields"], f"field {f!r} not named in {r!r}"
    return err


@dataclass
class User:
    username: str
    email: str
    password: str
    first_name: str
    last_name: str
    id: str = ""
    token: str = ""
    created_at: str = ""
    login_response: Any = None


class Client:
    def __init__(self, server: "ServerProcess", source_ip: str | None = None):
        self.server = server
        self.host = "127.0.0.1"
        # another loopback address (127.0.0.x) makes the server see another client address
        self.source_ip = source_ip

    @property
    def port(self) -> int:
        return self.server.port  # follows a restart of the server

    def from_address(self, ip: str) -> "Client":
        return Client(self.server, source_ip=ip)

    # -- raw request ---------------------------------------------------------
    def request(self, method: str, path: str, body: Any = _NO_BODY, *, token: str | None = None,
                raw: bytes | None = None, content_type: str | None = "application/json",
                headers: dict | None = None, cookie: str | None = None,
                timeout: float = 30.0) -> Resp:
        hdrs: dict[str, str] = {}
        data: bytes | None = None
        if raw is not None:
            data = raw
        elif body is not _NO_BODY:
            data = json.dumps(body).encode()
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            hdrs["Cookie"] = cookie
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout,
            source_address=(self.source_ip, 0) if self.source_ip else None)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (e.g. 413) before reading everything
            resp = conn.getresponse()
            raw_body = resp.read()
            r = Resp(resp.status, resp.headers, raw_body, method, path)
        finally:
            conn.close()
        self._global_checks(r)
        return r

    def _global_checks(self, r: Resp) -> None:
        # "500 never on bad input": no test in this suite sends anything else.
        if not r.path.startswith("/readyz"):
            assert r.status < 500, f"server error: {r!r}"
        if r.status >= 400 and not r.path.startswith("/readyz") and r.method != "HEAD":
            check_error_shape(r)
        if r.status == 204:
            assert r.raw == b"", f"204 with a body: {r!r}"
        elif r.raw and not r.path.startswith("/metrics"):
            ctype = (r.header("Content-Type") or "").lower()
            assert ctype.startswith("application/json"), f"Content-Type {ctype!r}: {r!r}"
        # S16: no password, hash or token in any response, except the login token.
        text = r.raw.decode("utf-8", "replace")
        assert "$argon2" not in text, f"password hash in response: {r!r}"
        is_login = r.method == "POST" and r.path.startswith("/api/v1/sessions") and r.status == 200
        if is_login and isinstance(r.json, dict) and isinstance(r.json.get("token"), str):
            text = text.replace(r.json["token"], "")
        for secret in self.server.secrets:
            assert secret not in text, f"a secret ({secret[:6]}…) appears in response {r!r}"
        for name in r.headers.keys():
            if is_login and name.lower() == "set-cookie":
                continue
            for v in r.headers.get_all(name) or []:
                for secret in self.server.secrets:
                    assert secret not in v, f"a secret appears in header {name}"

    # -- JSON conveniences ---------------------------------------------------
    def get(self, path: str, token: str | None = None, **kw) -> Resp:
        return self.request("GET", path, token=token, **kw)

    def post(self, path: str, body: Any = _NO_BODY, token: str | None = None, **kw) -> Resp:
        return self.request("POST", path, body, token=token, **kw)

    def put(self, path: str, token: str | None = None, **kw) -> Resp:
        return self.request("PUT", path, token=token, **kw)

    def delete(self, path: str, token: str | None = None, **kw) -> Resp:
        return self.request("DELETE", path, token=token, **kw)

    # -- domain helpers ------------------------------------------------------
    def user_fields(self, **overrides) -> dict:
        username = overrides.pop("username", None) or f"u_{hexid(6)}"
        password = overrides.pop("password", None)
        if password is None:
            password = f"pw-{hexid(10)}"
            self.server.secrets.add(password)  # S16: must never show up anywhere
        fields = {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "username": username,
            "email": f"{username.lower()}@example.com",
            "password": password,
            "password_confirmation": password,
        }
        fields.update(overrides)
        return fields

    def register_raw(self, **overrides) -> tuple[Resp, dict]:
        fields = self.user_fields(**overrides)
        return self.post("/api/v1/users", fields), fields

    def register(self, **overrides) -> User:
        r, f = self.register_raw(**overrides)
        assert r.status == 201, f"registration failed: {r!r}"
        u = r.json["user"]
        return User(username=u["username"], email=u.get("email", f["email"]),
                    password=f["password"], first_name=u["first_name"],
                    last_name=u["last_name"], id=u["id"], created_at=u["created_at"])

    def login_raw(self, login: str, password: str, **kw) -> Resp:
        r = self.post("/api/v1/sessions", {"login": login, "password": password}, **kw)
        if r.status == 200 and isinstance(r.json, dict) and isinstance(r.json.get("token"), str):
            self.server.secrets.add(r.json["token"])
        return r

    def login(self, user: User, login: str | None = None) -> str:
        r = self.login_raw(login or user.username, user.password)
        assert r.status == 200, f"login failed: {r!r}"
        user.token = r.json["token"]
        user.login_response = r
        return user.token

    def new_user(self, **overrides) -> User:
        u = self.register(**overrides)
        self.login(u)
        return u

    def follow(self, user: User, other: User | str) -> Resp:
        name = other if isinstance(other, str) else other.username
        r = self.put(f"/api/v1/users/me/following/{q(name)}", token=user.token)
        return r

    def unfollow(self, user: User, other: User | str) -> Resp:
        name = other if isinstance(other, str) else other.username
        return self.delete(f"/api/v1/users/me/following/{q(name)}", token=user.token)

    def create_post(self, user: User, content: str) -> dict:
        r = self.post("/api/v1/posts", {"content": content}, token=user.token)
        assert r.status == 201, f"post failed: {r!r}"
        return r.json["post"]

    def create_comment(self, user: User, post_id: str, content: str) -> dict:
        r = self.post(f"/api/v1/posts/{post_id}/comments", {"content": content}, token=user.token)
        assert r.status == 201, f"comment failed: {r!r}"
        return r.json["comment"]

    def list_all(self, path: str, token: str, limit: int = 100) -> list[dict]:
        """Follow next_cursor until the end; returns all items."""
        items: list[dict] = []
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}"
        for _ in range(1000):
            r = self.get(url, token=token)
            assert r.status == 200, r
            items.extend(r.json["items"])
            cur = r.json["next_cursor"]
            if cur is None:
                return items
            url = f"{path}{sep}limit={limit}&cursor={q(cur)}"
        raise AssertionError("pagination does not end")


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def parse_next_link(r: Resp) -> str | None:
    """The URL in `Link: <...>; rel="next"`, or None when absent."""
    values = r.header_all("Link")
    found = None
    for v in values:
        for part in re.split(r",\s*(?=<)", v):
            m = re.match(r'^\s*<([^>]*)>\s*;\s*rel="?next"?\s*$', part)
            if m:
                assert found is None, f"two rel=next links: {values}"
                found = m.group(1)
    return found


# --------------------------------------------------------------------------- DB access


class Database:
    """Read-only peeks into the server's database (SQLite file or PostgreSQL URL)."""

    def __init__(self, sqlite_path: Path | None = None, pg_url: str | None = None):
        self.sqlite_path = sqlite_path
        self.pg_url = pg_url

    def _sqlite(self, sql: str, args: tuple = ()) -> list[tuple]:
        assert self.sqlite_path is not None
        uri = f"file:{self.sqlite_path}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def _psql_json(self, sql: str) -> list[dict]:
        out = subprocess.run(
            ["psql", self.pg_url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout
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


# --------------------------------------------------------------------------- server process


class ServerStartError(AssertionError):
    pass


@dataclass
class ServerProcess:
    workdir: Path
    db_url: str | None = None  # None -> SQLite in the data dir
    env_overrides: dict = field(default_factory=dict)
    extra_args: list = field(default_factory=list)
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    secrets: set = field(default_factory=set)

    def __post_init__(self):
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.stdout_lines: list[str] = []
        self._stdout_q: queue.Queue = queue.Queue()
        self.starts = 0
        self.stderr_path = self.workdir / "stderr-0.log"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bsocial.db"

    @property
    def db(self) -> Database:
        if self.db_url:
            return Database(pg_url=self.db_url)
        return Database(sqlite_path=self.sqlite_path)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
        env["BSOCIAL_JWT_SECRET"] = self.jwt_secret
        # The suites register many users from 127.0.0.1: no per-address registration limit
        # unless a test sets one (None restores the server's real default).
        env["BSOCIAL_REGISTRATIONS_PER_MINUTE"] = "0"
        for k, v in self.env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def start(self) -> "ServerProcess":
        binary = binary_path()
        if not binary.exists():
            raise ServerStartError(
                f"bsocial binary not found at {binary} (set BSOCIAL_BIN or build build/debug)")
        args = [str(binary), "serve", "--port", "0", "--data-dir", str(self.data_dir)]
        if self.db_url:
            args += ["--db", self.db_url]
        args += list(self.extra_args)
        self.stderr_path = self.workdir / f"stderr-{self.starts}.log"
        self.starts += 1
        self._stderr_file = open(self.stderr_path, "wb")
        self.stdout_lines = []
        self._stdout_q = queue.Queue()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr_file,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.workdir)
        threading.Thread(target=self._pump_stdout, args=(self.proc, self._stdout_q),
                         daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        first = None
        while time.monotonic() < deadline:
            try:
                line = self._stdout_q.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line is None:
                break
            self.stdout_lines.append(line)
            first = line
            break
        if first is None:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            raise ServerStartError(
                f"server did not print its listening line (exit code {rc}); "
                f"args={args}\nstderr:\n{self.stderr_tail()}")
        m = LISTEN_RE.match(first.rstrip("\r\n"))
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise ServerStartError(
                f"first stdout line is not the listening line: {first!r}\n"
                f"stderr:\n{self.stderr_tail()}")
        self.port = int(m.group(1))
        assert self.port > 0
        _RUNNING.append(self)
        return self

    @staticmethod
    def _pump_stdout(proc: subprocess.Popen, out: queue.Queue) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            out.put(raw.decode("utf-8", "replace"))
        out.put(None)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def kill9(self) -> None:
        """SIGKILL (a crash: no shutdown, nothing flushed); start() runs it again on the
        same data dir (or database) and JWT secret, on a new port."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._stderr_file.close()
        if self in _RUNNING:
            _RUNNING.remove(self)
        self.proc = None

    def stop(self, check: bool = True) -> int | None:
        """SIGTERM, wait up to 10 s; with check, assert exit 0, one stdout line, no secret in log."""
        if self.proc is None:
            return None
        proc = self.proc
        rc = proc.poll()
        if rc is None:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = None
        self._stderr_file.close()
        if self in _RUNNING:
            _RUNNING.remove(self)
        _RECENTLY_STOPPED.append(self)
        self.proc = None
        # drain the rest of stdout
        extra = []
        while True:
            try:
                line = self._stdout_q.get(timeout=1.0)
            except queue.Empty:
                break
            if line is None:
                break
            extra.append(line)
        if check:
            assert rc is not None, (
                f"server did not exit within {STOP_TIMEOUT}s of SIGTERM\n{self.stderr_tail()}")
            assert rc == 0, f"server exited with {rc} after SIGTERM\n{self.stderr_tail()}"
            assert not [x for x in extra if x.strip()], (
                f"stdout must hold exactly one line; also got {extra[:5]!r}")
            self.check_log_secrets()
        return rc

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def all_stderr_text(self) -> str:
        return "".join(
            (self.workdir / f"stderr-{i}.log").read_text("utf-8", "replace")
            for i in range(self.starts) if (self.workdir / f"stderr-{i}.log").exists())

    def stderr_tail(self, n: int = 80) -> str:
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def check_log_secrets(self) -> None:
        log = self.all_stderr_text()
        assert "$argon2" not in log, "a password hash appears in the server log"
        leaked = [s[:8] + "…" for s in self.secrets if s in log]
        # the signature part alone is enough to replay-guess nothing, but a whole token
        # or a password must never be there
        assert not leaked, f"server log contains secrets (passwords/tokens): {leaked}"


_RUNNING: list[ServerProcess] = []
_RECENTLY_STOPPED: list[ServerProcess] = []


class OutboxAction:
    """Context manager around one HTTP action: remembers the outbox position and the time
    before and after, so a test can find the rows the action wrote and check that their
    timestamps fall inside it."""

    slack_ms = 2000

    def __init__(self, client: "Client"):
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
