"""Helpers for the notification end-to-end tests (the `bsocial notifier` process is
server.NotifierProcess): a WebSocket client for /api/v1/notifications/stream, and small domain helpers.

Standard library plus `websockets` (13.1, its synchronous client). Everything here
speaks the contract of shared/design/api.md (Notifications) and the notifier's
documented behaviour; nothing knows the server's internals.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from .api import ID_RE, TS_RE, User
from .http import Client, request_headers
from .waiting import wait_until

STREAM_PATH = "/api/v1/notifications/stream"
CLAIM_PATH = "/api/v1/notifications/claim"
HISTORY_PATH = "/api/v1/notifications"
NOTIFICATION_KEYS = {"id", "type", "post_id", "post_excerpt", "comment_id", "actor", "excerpt",
                     "created_at",
                     "delivered_at"}


# --------------------------------------------------------------------------- WebSocket client


class WsRefused(AssertionError):
    """The handshake was answered with an HTTP status other than 101."""

    def __init__(self, status: int, body: bytes):
        super().__init__(f"WebSocket handshake refused with HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


def ws_url(port: int, path: str = STREAM_PATH) -> str:
    return f"ws://127.0.0.1:{port}{path}"


class Stream:
    """One WebSocket on /api/v1/notifications/stream. A reader thread stamps every
    frame with its arrival time (time.monotonic()) and queues it."""

    def __init__(self, port: int, *, token: str | None = None, cookie: str | None = None,
                 origin: str | None = None, path: str = STREAM_PATH,
                 headers: dict | None = None, open_timeout: float = 10.0):
        hdrs = request_headers(token, cookie, headers)
        try:
            self.ws = ws_connect(ws_url(port, path), additional_headers=hdrs or None,
                                 origin=origin, compression=None, open_timeout=open_timeout,
                                 close_timeout=5, max_size=2 ** 22)
        except InvalidStatus as e:
            raise WsRefused(e.response.status_code, e.response.body or b"") from None
        self.frames: queue.Queue = queue.Queue()
        self.all_frames: list[tuple[float, Any]] = []
        self.closed_code: int | None = None
        self.closed_reason: str | None = None
        self.closed_at: float | None = None
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for msg in self.ws:
                t = time.monotonic()
                try:
                    v = json.loads(msg)
                except (TypeError, ValueError):
                    v = {"_unparsable": msg}
                self.all_frames.append((t, v))
                self.frames.put((t, v))
        except ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - reported through the close fields
            self.closed_reason = f"reader error: {e!r}"
        finally:
            rcvd = getattr(self.ws.protocol, "close_rcvd", None)
            if rcvd is not None:
                self.closed_code = rcvd.code
                self.closed_reason = rcvd.reason
            self.closed_at = time.monotonic()
            self._closed.set()

    # -- receiving -----------------------------------------------------------
    def next_frame(self, timeout: float = 30.0) -> tuple[float, dict]:
        try:
            return self.frames.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no WebSocket frame within {timeout:.0f}s "
                                 f"(closed={self._closed.is_set()}, code={self.closed_code})")

    def next_notification(self, timeout: float = 30.0) -> tuple[float, dict]:
        t, f = self.next_frame(timeout)
        assert f.get("type") == "notification", f"expected a notification frame, got {f!r}"
        assert set(f) == {"type", "notification"}, f"unexpected frame keys: {f!r}"
        return t, f["notification"]

    def notifications(self, n: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {n} notification frames in {timeout:.0f}s")
            out.append(self.next_notification(left)[1])
        return out

    def wait_for_comment(self, comment_id: str, timeout: float = 30.0) -> tuple[float, dict]:
        """Reads frames until the notification of comment_id arrives (others are kept
        in `skipped`)."""
        deadline = time.monotonic() + timeout
        self.skipped = getattr(self, "skipped", [])
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no notification for comment {comment_id} in {timeout:.0f}s")
            t, n = self.next_notification(left)
            if n["comment_id"] == comment_id:
                return t, n
            self.skipped.append(n)

    def quiet(self, seconds: float) -> list:
        """Frames that arrive within `seconds` (expected: none)."""
        got = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            try:
                got.append(self.frames.get(timeout=left)[1])
            except queue.Empty:
                return got

    def wait_closed(self, timeout: float) -> bool:
        return self._closed.wait(timeout)

    # -- sending -------------------------------------------------------------
    def send_json(self, v: Any) -> None:
        self.ws.send(json.dumps(v))

    def send_text(self, s: str) -> None:
        self.ws.send(s)

    def ack(self, notification_id: str) -> None:
        self.send_json({"type": "ack", "id": notification_id})

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass
        self._reader.join(timeout=10)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_stream(port: int, **kw) -> Stream:
    return Stream(port, **kw)


def refused_status(port: int, **kw) -> int:
    """The HTTP status of a handshake that must be refused; fails if it opens."""
    try:
        s = Stream(port, **kw)
    except WsRefused as e:
        return e.status
    s.close()
    raise AssertionError(f"WebSocket handshake was accepted ({kw})")


# --------------------------------------------------------------------------- domain helpers


def check_notification(n: dict, *, delivered: bool | None = None) -> None:
    assert isinstance(n, dict) and set(n) == NOTIFICATION_KEYS, f"notification keys: {n!r}"
    assert n["type"] == "comment", n
    for k in ("id", "post_id", "comment_id"):
        assert isinstance(n[k], str) and ID_RE.match(n[k]), f"{k} must be a digit string: {n!r}"
    assert isinstance(n["actor"], dict) and set(n["actor"]) == {"id", "username"}, n
    assert isinstance(n["actor"]["id"], str) and ID_RE.match(n["actor"]["id"]), n
    assert isinstance(n["actor"]["username"], str) and n["actor"]["username"], n
    assert isinstance(n["excerpt"], str), n
    assert isinstance(n["post_excerpt"], str), n
    assert isinstance(n["created_at"], str) and TS_RE.match(n["created_at"]), n
    if n["delivered_at"] is not None:
        assert isinstance(n["delivered_at"], str) and TS_RE.match(n["delivered_at"]), n
    if delivered is True:
        assert n["delivered_at"] is not None, f"expected delivered_at set: {n!r}"
    elif delivered is False:
        assert n["delivered_at"] is None, f"expected delivered_at null: {n!r}"


def claim(client: Client, user: User) -> list[dict]:
    r = client.post(CLAIM_PATH, token=user.token)
    assert r.status == 200, f"claim failed: {r!r}"
    assert isinstance(r.json, dict) and set(r.json) == {"items"}, f"claim body: {r!r}"
    items = r.json["items"]
    assert isinstance(items, list), r
    for n in items:
        check_notification(n)
    return items


def history(client: Client, user: User, limit: int = 100) -> list[dict]:
    """The whole history, newest first, by following next_cursor."""
    items = client.list_all(HISTORY_PATH, user.token, limit=limit)
    for n in items:
        check_notification(n)
    return items



def wait_history(client: Client, user: User, n: int, timeout: float = 60.0) -> list[dict]:
    """Waits (bounded) until the user's history holds at least n notifications."""
    last: list = []

    def enough():
        nonlocal last
        last = history(client, user)
        return len(last) >= n

    try:
        wait_until(enough, timeout, interval=0.2, what=f"{n} notifications in the history")
    except AssertionError as e:
        raise AssertionError(f"{e}: have {len(last)}") from None
    return last


@dataclass
class Scene:
    """A (post author) and B (a follower of A who comments), plus A's post."""
    a: User
    b: User
    post: dict
    others: list = field(default_factory=list)


def make_scene(client: Client, commenters: int = 1) -> Scene:
    a = client.new_user()
    post = client.create_post(a, f"a post by {a.username}")
    others = []
    for _ in range(commenters):
        u = client.new_user()
        r = client.follow(u, a)
        assert r.status == 204, r
        others.append(u)
    return Scene(a=a, b=others[0], post=post, others=others)


def comment(client: Client, user: User, post_id: str, content: str) -> tuple[dict, float, float]:
    """Posts a comment; returns (comment, t_request_start, t_201) in time.monotonic()."""
    t0 = time.monotonic()
    r = client.post(f"/api/v1/posts/{post_id}/comments", {"content": content}, token=user.token)
    t1 = time.monotonic()
    assert r.status == 201, f"comment failed: {r!r}"
    return r.json["comment"], t0, t1
