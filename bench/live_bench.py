#!/usr/bin/env python3
"""Live-push cost of a new post (issue 27): an author with --followers followers, each
with a WebSocket open on one `bsocial serve` (SQLite, no Kafka), publishes --posts posts.

For each post prints the time from the POST's 201 (the bus publish happens right after
the commit, before the answer) to the first, median, 99th percentile and LAST follower
socket's `post.created` frame, how many sockets got it (and how many twice), and the SQL
statements the live pushes issued for it (the server's `bsocial_live_sql_statements_total`
counter, /metrics): one read of the post and one of the author's follower ids, whatever
the number of followers. The followers are rows inserted straight into the database (and
their tokens signed with the bench's JWT secret, as notify_bench.py does); the sockets are
opened by hand and read by one epoll loop that only stamps arrivals (a WebSocket library
decoding 10,000 frames in Python took ~2.5 s and measured itself), spread over 127.0.x.y
source addresses (the per-address cap stays out of the way). `server-side push`: the
server's own time for that message (`bsocial_live_last_push_milliseconds`).

    python3 bench/live_bench.py --bin build/release/bsocial [--followers 10000] [--posts 3]

Numbers only; nothing here asserts on timing.
"""
from __future__ import annotations

import argparse
import base64
import os
import selectors
import socket
import hashlib
import hmac
import http.client
import json
import re
import resource
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bsocial_testkit.jwt import b64url, find_jwt_key, jwt_parts
from bsocial_testkit.server import ServerProcess

from benchlib.common import feed_env
from benchlib.server import serve_args

PASSWORD = "bench passphrase 42"


def call(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None


def metric(port, name) -> float:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


class TokenMinter:
    """Signs tokens for any user id with the bench's JWT secret (as notify_bench.py)."""

    def __init__(self, real_token: str, secret_hex: str):
        self.key = find_jwt_key(real_token, secret_hex)
        if self.key is None:
            raise SystemExit("cannot tell how the server uses the JWT secret")
        self.header = real_token.split(".")[0]
        self.payload = jwt_parts(real_token)[1]

    def token(self, user_id: int) -> str:
        p = dict(self.payload)
        p["sub"] = str(user_id) if isinstance(self.payload["sub"], str) else user_id
        p["jti"] = secrets.token_hex(16)
        body = f"{self.header}.{b64url(json.dumps(p, separators=(',', ':')).encode())}"
        return body + "." + b64url(hmac.new(self.key, body.encode(), hashlib.sha256).digest())


def handshake(port: int, src: str, token: str) -> socket.socket:
    """A WebSocket opened by hand (RFC 6455 upgrade), from source address `src`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(src, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/v1/notifications/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"handshake closed: {head[:200]!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head[:200]!r}")
    return sock


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--followers", type=int, default=10000)
    ap.add_argument("--posts", type=int, default=3)
    args = ap.parse_args()
    binary = Path(args.bin).resolve()
    if not binary.exists():
        raise SystemExit(f"no binary at {binary}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.followers + 1000:
        raise SystemExit(f"RLIMIT_NOFILE {hard} is too small for {args.followers} sockets")

    work = Path(tempfile.mkdtemp(prefix="bsocial-live-bench-"))
    secret = secrets.token_hex(32)
    srv = ServerProcess(workdir=work, data_dir=work / "data", jwt_secret=secret,
                        env_overrides={**feed_env(), "BSOCIAL_LOG_LEVEL": "warn"},
                        extra_args=serve_args() + ["--posts-per-minute", "0"],
                        binary=binary).start()
    try:
        port = srv.port
        name = f"author_{secrets.token_hex(3)}"
        call(port, "POST", "/api/v1/users", {
            "first_name": "Live", "last_name": "Author", "username": name,
            "email": f"{name}@example.com", "password": PASSWORD,
            "password_confirmation": PASSWORD})
        author = call(port, "POST", "/api/v1/sessions", {"login": name, "password": PASSWORD})
        author_id = int(author["user"]["id"])
        minter = TokenMinter(author["token"], secret)

        db = sqlite3.connect(work / "data" / "bsocial.db", timeout=60)
        now_ms = int(time.time() * 1000)
        tag = secrets.token_hex(3)
        db.executemany(
            "INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)"
            " VALUES (?, ?, 'Live', 'Follower', 'not-a-hash', ?)",
            [(f"lf_{tag}_{i}", f"lf_{tag}_{i}@example.com", now_ms) for i in range(args.followers)])
        ids = [r[0] for r in db.execute("SELECT id FROM users WHERE username LIKE ? ORDER BY id",
                                        (f"lf_{tag}_%",))]
        db.executemany("INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)",
                       [(i, author_id, now_ms) for i in ids])
        db.commit()
        db.close()
        tokens = [minter.token(uid) for uid in ids]

        # Raw sockets and one epoll loop: the client only stamps when each socket's bytes
        # arrive (a Python WebSocket library decoding 10,000 frames would measure itself).
        socks = []
        t0 = time.monotonic()
        for k, tok in enumerate(tokens):
            src = f"127.0.{1 + k // 25600}.{2 + (k // 100) % 250}"
            socks.append(handshake(port, src, tok))
        print(f"{len(socks)} follower sockets open in {time.monotonic() - t0:.1f}s; binary {binary}")
        sel = selectors.EpollSelector()
        for k, sock in enumerate(socks):
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, k)
        time.sleep(1)
        for i in range(args.posts):
            sql0 = metric(port, "bsocial_live_sql_statements_total")
            frames0 = metric(port, "bsocial_live_frames_total")
            bufs: dict[int, bytearray] = {}
            first_byte: dict[int, float] = {}
            t_req = time.monotonic()
            p = call(port, "POST", "/api/v1/posts", {"content": f"live bench {i}"},
                     token=author["token"])["post"]
            t_201 = time.monotonic()
            want = f'"post":{{"id":"{p["id"]}"'.encode()
            done: dict[int, float] = {}
            deadline = time.monotonic() + 60
            while len(done) < len(socks) and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    t = time.monotonic()
                    k = key.data
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    first_byte.setdefault(k, t)
                    b = bufs.setdefault(k, bytearray())
                    b += data
                    if k not in done and want in b:
                        done[k] = t
            # late duplicates, if any
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                for key, _ in sel.select(timeout=0.1):
                    bufs.setdefault(key.data, bytearray()).extend(key.fileobj.recv(65536))
            dups = sum(max(0, bytes(b).count(want) - 1) for b in bufs.values())
            sql = metric(port, "bsocial_live_sql_statements_total") - sql0
            server_ms = metric(port, "bsocial_live_last_push_milliseconds")
            frames = metric(port, "bsocial_live_frames_total") - frames0
            ms = [(t - t_201) * 1000 for t in done.values()]
            print(f"post {i + 1}: {len(done)}/{len(socks)} sockets got post.created "
                  f"(duplicates {dups}), SQL statements {sql:.0f}, frames {frames:.0f}, "
                  f"server-side push {server_ms:.1f} ms; POST took {(t_201 - t_req) * 1000:.1f} ms; "
                  f"from the 201: first {min(ms):.1f} ms, p50 {statistics.median(ms):.1f} ms, "
                  f"p99 {pct(ms, 99):.1f} ms, LAST {max(ms):.1f} ms" if ms
                  else f"post {i + 1}: no socket got it")
        for sock in socks:
            sock.close()
    finally:
        srv.stop(check=False, timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
