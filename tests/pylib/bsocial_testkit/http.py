"""The one HTTP client of the test kit and the benches (http.client, standard library).

Client(server)                  a test client: every answer goes through check_response()
                                (no 5xx, the error shape, JSON content type, no secret of
                                the server's in any body or header); domain helpers.
Client(port, checks=False, keep_alive=True)
                                a bench client: one keep-alive connection, no checks;
                                call() returns the JSON body and raises on a non-2xx.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from typing import Any

from .api import User, check_error_shape, hexid, q


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


NO_BODY = object()


def request_headers(token: str | None = None, cookie: str | None = None,
                    headers: dict | None = None) -> dict[str, str]:
    """A Bearer token, a Cookie header, then `headers` over them (HTTP and WebSocket)."""
    hdrs: dict[str, str] = {}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        hdrs["Cookie"] = cookie
    hdrs.update(headers or {})
    return hdrs


@dataclass
class Address:
    """A fixed port, for a Client of a process the kit did not start."""
    port: int
    secrets: set = field(default_factory=set)


class Client:
    def __init__(self, server, source_ip: str | None = None, *, checks: bool = True,
                 keep_alive: bool = False, timeout: float = 30.0):
        # server: anything with .port and .secrets (a kit process: the client follows its
        # port across restarts), or a port number
        self.server = Address(server) if isinstance(server, int) else server
        self.host = "127.0.0.1"
        # another loopback address (127.0.0.x) makes the server see another client address
        self.source_ip = source_ip
        self.checks = checks
        self.keep_alive = keep_alive
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def from_address(self, ip: str) -> "Client":
        return Client(self.server, source_ip=ip, checks=self.checks)

    # -- raw request ---------------------------------------------------------
    def request(self, method: str, path: str, body: Any = NO_BODY, *, token: str | None = None,
                raw: bytes | None = None, content_type: str | None = "application/json",
                headers: dict | None = None, cookie: str | None = None,
                timeout: float | None = None) -> Resp:
        data: bytes | None = None
        if raw is not None:
            data = raw
        elif body is not NO_BODY:
            data = json.dumps(body).encode()
        hdrs: dict[str, str] = {}
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        hdrs.update(request_headers(token, cookie, headers))
        if self.keep_alive:
            r = self._keep_alive_request(method, path, data, hdrs)
        else:
            r = self._one_shot_request(method, path, data, hdrs, timeout or self.timeout)
        if self.checks:
            self.check_response(r)
        return r

    def _open(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            self.host, self.port, timeout=timeout,
            source_address=(self.source_ip, 0) if self.source_ip else None)

    def _one_shot_request(self, method, path, data, hdrs, timeout) -> Resp:
        conn = self._open(timeout)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (e.g. 413) before reading everything
            resp = conn.getresponse()
            return Resp(resp.status, resp.headers, resp.read(), method, path)
        finally:
            conn.close()

    def _keep_alive_request(self, method, path, data, hdrs) -> Resp:
        """One connection, reopened once after an error."""
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._open(self.timeout)
            try:
                self._conn.request(method, path, body=data, headers=hdrs)
                resp = self._conn.getresponse()
                return Resp(resp.status, resp.headers, resp.read(), method, path)
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """The JSON body of a 2xx answer (None when empty); RuntimeError on any other."""
        r = self.request(method, path, NO_BODY if body is None else body, token=token)
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} -> {r.status} {r.raw[:300]!r}")
        return r.json

    def check_response(self, r: Resp) -> None:
        """What every answer of the server must satisfy; subclasses relax it."""
        # "500 never on bad input": no test sends anything else.
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

    def post(self, path: str, body: Any = NO_BODY, token: str | None = None, **kw) -> Resp:
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
        return self.put(f"/api/v1/users/me/following/{q(name)}", token=user.token)

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
