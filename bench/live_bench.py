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
spread over 127.0.x.y source addresses (the per-address cap stays out of the way).

    python3 bench/live_bench.py --bin build/release/bsocial [--followers 10000] [--posts 3]

Numbers only; nothing here asserts on timing.
"""
from __future__ import annotations

import argparse
import asyncio
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
import threading
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


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--followers", type=int, default=10000)
    ap.add_argument("--posts", type=int, default=3)
    ap.add_argument("--open-concurrency", type=int, default=200)
    args = ap.parse_args()
    binary = Path(args.bin).resolve()
    if not binary.exists():
        raise SystemExit(f"no binary at {binary}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.followers + 1000:
        raise SystemExit(f"RLIMIT_NOFILE {hard} is too small for {args.followers} sockets")

    from websockets.asyncio.client import connect as aconnect

    work = Path(tempfile.mkdtemp(prefix="bsocial-live-bench-"))
    secret = secrets.token_hex(32)
    srv = ServerProcess(workdir=work, data_dir=work / "data", jwt_secret=secret,
                        env_overrides={**feed_env(), "BSOCIAL_LOG_LEVEL": "warn"},
                        extra_args=serve_args() + ["--posts-per-minute", "0"],
                        binary=binary).start()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
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

        arrivals: dict[str, list[float]] = {}
        lock = threading.Lock()
        conns = []

        async def hold(ws):
            try:
                async for msg in ws:
                    t = time.monotonic()
                    f = json.loads(msg)
                    if f.get("type") == "post.created":
                        with lock:
                            arrivals.setdefault(f["post"]["id"], []).append(t)
            except Exception:  # noqa: BLE001
                pass

        async def open_all():
            gate = asyncio.Semaphore(args.open_concurrency)

            async def one(k):
                src = f"127.0.{1 + k // 25600}.{2 + (k // 100) % 250}"
                async with gate:
                    ws = await aconnect(f"ws://127.0.0.1:{port}/api/v1/notifications/stream",
                                        additional_headers={"Authorization": f"Bearer {tokens[k]}"},
                                        compression=None, ping_interval=None, open_timeout=120,
                                        local_addr=(src, 0))
                conns.append(ws)
                asyncio.ensure_future(hold(ws))

            res = await asyncio.gather(*(one(k) for k in range(len(tokens))), return_exceptions=True)
            return [r for r in res if isinstance(r, Exception)]

        t0 = time.monotonic()
        errors = asyncio.run_coroutine_threadsafe(open_all(), loop).result()
        print(f"{len(conns)} follower sockets open in {time.monotonic() - t0:.1f}s "
              f"({len(errors)} failed{': ' + repr(errors[0])[:120] if errors else ''}); "
              f"binary {binary}")
        time.sleep(1)
        for i in range(args.posts):
            sql0 = metric(port, "bsocial_live_sql_statements_total")
            frames0 = metric(port, "bsocial_live_frames_total")
            t_req = time.monotonic()
            p = call(port, "POST", "/api/v1/posts", {"content": f"live bench {i}"},
                     token=author["token"])["post"]
            t_201 = time.monotonic()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    got = len(arrivals.get(p["id"], []))
                if got >= len(conns):
                    break
                time.sleep(0.01)
            time.sleep(0.5)  # late duplicates, if any
            with lock:
                times = list(arrivals.get(p["id"], []))
            sql = metric(port, "bsocial_live_sql_statements_total") - sql0
            server_ms = metric(port, "bsocial_live_last_push_milliseconds")
            frames = metric(port, "bsocial_live_frames_total") - frames0
            ms = [(t - t_201) * 1000 for t in times]
            print(f"post {i + 1}: {len(times)}/{len(conns)} sockets got post.created "
                  f"(dup {max(0, len(times) - len(conns))}), SQL statements {sql:.0f}, frames "
                  f"{frames:.0f}, server-side push {server_ms:.1f} ms; POST took {(t_201 - t_req) * 1000:.1f} ms; from the 201: first "
                  f"{min(ms):.1f} ms, p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
                  f"LAST {max(ms):.1f} ms" if ms else f"post {i + 1}: no socket got it")

        async def close_all():
            await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=120)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        srv.stop(check=False, timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
