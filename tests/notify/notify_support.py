"""Helpers for the notification end-to-end tests: the `bsocial notifier` process, a
WebSocket client for /api/v1/notifications/stream, and small domain helpers.

Standard library plus `websockets` (13.1, its synchronous client). Everything here
speaks the contract of shared/design/api.md (Notifications) and the notifier's
documented behaviour; nothing knows the server's internals.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from bsocial_support import (
    ID_RE,
    TS_RE,
    Client,
    ServerProcess,
    ServerStartError,
    User,
    binary_path,
    wait_until,
)

NOTIFIER_LISTEN_RE = re.compile(r"^bsocial notifier listening on http://127\.0\.0\.1:(\d+)$")
STREAM_PATH = "/api/v1/notifications/stream"
CLAIM_PATH = "/api/v1/notifications/claim"
HISTORY_PATH = "/api/v1/notifications"
NOTIFICATION_KEYS = {"id", "type", "post_id", "comment_id", "actor", "excerpt", "created_at",
                     "delivered_at"}

START_TIMEOUT = 60.0


# --------------------------------------------------------------------------- notifier process


class NotifierProcess:
    """`bsocial notifier --port 0 --data-dir D [--db URL]` on the data of a ServerProcess
    (same data dir, same database, same JWT secret). Can be killed and started again."""

    def __init__(self, server: ServerProcess, env: dict, name: str = "notifier"):
        self.server = server
        self.env_overrides = dict(env)
        self.name = name
        self.workdir = server.workdir
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0
        self.stdout_lines: list[str] = []
        self.stderr_path = self.workdir / f"{name}-stderr-0.log"
        self._err = None

    @property
    def secrets(self) -> set:
        return self.server.secrets  # Client's leak checks use the same secret set

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
        env["BSOCIAL_JWT_SECRET"] = self.server.jwt_secret
        for k, v in self.env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def start(self) -> "NotifierProcess":
        binary = binary_path()
        if not binary.exists():
            raise ServerStartError(f"bsocial binary not found at {binary}")
        args = [str(binary), "notifier", "--port", "0", "--data-dir", str(self.server.data_dir)]
        if self.server.db_url:
            args += ["--db", self.server.db_url]
        self.stderr_path = self.workdir / f"{self.name}-stderr-{self.starts}.log"
        self.starts += 1
        self._err = open(self.stderr_path, "wb")
        q: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.workdir)
        threading.Thread(target=self._pump, args=(self.proc, q), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        first = None
        while time.monotonic() < deadline:
            try:
                first = q.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            break
        if first is None:
            self.kill()
            raise ServerStartError(f"notifier did not print its listening line; args={args}\n"
                                   f"{self.stderr_tail()}")
        m = NOTIFIER_LISTEN_RE.match(first.rstrip("\r\n"))
        if not m:
            self.kill()
            raise ServerStartError(f"first notifier stdout line is not the listening line: "
                                   f"{first!r}\n{self.stderr_tail()}")
        self.stdout_lines = [first]
        self.port = int(m.group(1))
        return self

    def _pump(self, proc: subprocess.Popen, q: queue.Queue) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            q.put(line)
            if proc is self.proc and self.stdout_lines:
                self.stdout_lines.append(line)
        q.put(None)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (no chance to commit offsets or finish a batch)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_err()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self._close_err()
        return rc

    def _close_err(self) -> None:
        if self._err is not None:
            self._err.close()
            self._err = None

    def all_stderr_text(self) -> str:
        out = []
        for i in range(self.starts):
            p = self.workdir / f"{self.name}-stderr-{i}.log"
            if p.exists():
                out.append(p.read_text("utf-8", "replace"))
        return "".join(out)

    def stderr_tail(self, n: int = 60) -> str:
        try:
            text = self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-n:])


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
        hdrs: dict[str, str] = {}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            hdrs["Cookie"] = cookie
        if headers:
            hdrs.update(headers)
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
