"""The API contract as the suites check it (shared/design/api.md, docs/api-conventions.md):
formats, the error shape, Link headers, test users. Nothing knows the server's internals."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I
)
ID_RE = re.compile(r"^[0-9]+$")


def ts_to_ms(ts: str) -> int:
    """RFC 3339 UTC with milliseconds -> epoch milliseconds."""
    assert TS_RE.match(ts), f"not an RFC 3339 UTC timestamp with ms: {ts!r}"
    d = dt.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp()) * 1000 + int(ts[20:23])


def now_ms() -> int:
    return int(time.time() * 1000)


def hexid(n: int = 5) -> str:
    """Random lower-case hex; hex can never spell "password", "hash" or "token"."""
    return secrets.token_hex(n)


def q(s: str) -> str:
    """One path segment or query value, percent-encoded."""
    return urllib.parse.quote(s, safe="")


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def check_error_shape(r) -> None:
    """`{"error": {"code", "message"[, "fields"]}}` and nothing else."""
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


def assert_error(r, status: int, code: str, fields: list[str] | tuple = ()) -> dict:
    assert r.status == status, f"expected {status} {code}, got {r!r}"
    check_error_shape(r)
    err = r.json["error"]
    assert err["code"] == code, f"expected code {code}: {r!r}"
    if fields:
        assert "fields" in err, f"expected fields {fields}: {r!r}"
        for f in fields:
            assert f in err["fields"], f"field {f!r} not named in {r!r}"
    return err


def parse_next_link(r) -> str | None:
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
