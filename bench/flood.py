#!/usr/bin/env python3
"""Issue 24 acceptance (item 3): a reader's feed while others flood (prints figures, asserts
nothing on timing).

One `bsocial serve` on SQLite (a temp dir), --users users inserted straight into the
database (people search has something to range over), a reader who follows 10 authors
with 50 posts each, and --notifications undelivered notifications of the ack flooder
(inserted directly: no Kafka needed). Then, for --seconds each:

1. baseline: the reader alone fetches its feed in a loop (one keep-alive connection);
2. flood: meanwhile one client opens 16 notification WebSockets and sends ack frames of
   its real notification ids as fast as it can, reconnecting whenever the server closes a
   socket; another runs people searches as fast as it can on 4 connections (q=zzzz, an
   empty range, and prefixes of real names).

Printed: the reader's feed p50/p90/p99/max in both phases; the ack flooder's frames sent,
sockets closed with 1008 and reconnects; the server's ack counters (/metrics: frames
handled and the write transactions they cost); the searcher's answers by status. Runs
twice by default: with the server's default limits and with the flood limits turned off
(--ws-frames-per-second 0 --searches-per-minute 0), which shows what the batching and the
index range alone do. The flooders run in processes of their own (the GIL stays out of
the reader's timing).

    python3 bench/flood.py --bin build/release/bsocial [--seconds 15] [--users 100000]
        [--modes default,off] [--notifications 500]

Needs the `websockets` package.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
PASSWORD = "flood-bench-" + "x" * 8


class Http:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body=None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data and data[:1] in b"{[" else data)


def must(result, want: int):
    status, body = result
    if status != want:
        raise SystemExit(f"expected {want}, got {status}: {body}")
    return body


def make_user(port: int, name: str) -> dict:
    h = Http(port)
    must(h.request("POST", "/api/v1/users", {
        "first_name": "Flood", "last_name": "Bench", "username": name,
        "email": f"{name}@example.com", "password": PASSWORD,
        "password_confirmation": PASSWORD}), 201)
    body = must(h.request("POST", "/api/v1/sessions", {"login": name, "password": PASSWORD}), 200)
    return {"name": name, "token": body["token"], "id": body["user"]["id"]}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(ms: list[float]) -> str:
    return (f"{len(ms)} requests, p50 {pct(ms, 50):.2f} ms, p90 {pct(ms, 90):.2f} ms, "
            f"p99 {pct(ms, 99):.2f} ms, max {max(ms) if ms else float('nan'):.2f} ms")


# --------------------------------------------------------------------------- flooders

def ack_flooder(port: int, token: str, ids: list[int], seconds: float, out) -> None:
    """16 sockets sending ack frames of `ids` as fast as they can; reconnects on close."""
    from websockets.asyncio.client import connect as aconnect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    stats = {"frames": 0, "closed_1008": 0, "closed_other": 0, "reconnects": 0,
             "refused": 0}
    frames = [json.dumps({"type": "ack", "id": str(i)}) for i in ids]

    async def one(k: int, deadline: float) -> None:
        n = k
        while time.monotonic() < deadline:
            try:
                async with aconnect(f"ws://127.0.0.1:{port}/api/v1/notifications/stream",
                                    additional_headers={"Authorization": f"Bearer {token}"},
                                    compression=None, max_size=2 ** 24) as ws:
                    async def drain():
                        async for _ in ws:
                            pass
                    reader = asyncio.create_task(drain())
                    try:
                        while time.monotonic() < deadline:
                            for _ in range(64):
                                await ws.send(frames[n % len(frames)])
                                n += 1
                                stats["frames"] += 1
                            await asyncio.sleep(0)
                    except ConnectionClosed:
                        pass
                    reader.cancel()
                    rcvd = ws.protocol.close_rcvd
                    if rcvd is not None and rcvd.code == 1008:
                        stats["closed_1008"] += 1
                    elif time.monotonic() < deadline:
                        stats["closed_other"] += 1
            except InvalidStatus:
                stats["refused"] += 1
                await asyncio.sleep(0.05)
            except (OSError, ConnectionClosed):
                await asyncio.sleep(0.05)
            if time.monotonic() < deadline:
                stats["reconnects"] += 1

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(one(k, deadline) for k in range(16)))

    try:
        asyncio.run(main())
    finally:
        out.put(stats)


def search_flooder(port: int, token: str, prefixes: list[str], seconds: float, out) -> None:
    """4 connections running people searches back to back."""
    counts: dict[int, int] = {}
    answered_ms: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(k: int) -> None:
        h = Http(port)
        n = k
        while time.monotonic() < deadline:
            q = prefixes[n % len(prefixes)]
            n += 1
            t0 = time.perf_counter()
            status, _ = h.request("GET", f"/api/v1/users?q={q}&limit=20", token=token)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                counts[status] = counts.get(status, 0) + 1
                if status == 200:
                    answered_ms.append(dt)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({"counts": counts, "answered_ms": answered_ms})


# --------------------------------------------------------------------------- the run

def metric(port: int, name: str) -> float:
    status, body = Http(port).request("GET", "/metrics")
    for line in (body.decode() if isinstance(body, bytes) else "").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def read_feed(port: int, token: str, seconds: float) -> list[float]:
    h = Http(port)
    ms = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        status, _ = h.request("GET", "/api/v1/feed?limit=20", token=token)
        ms.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise SystemExit(f"the reader's feed answered {status}")
    return ms


def run(args, mode: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="bsocial-flood-"))
    data = work / "data"
    subprocess.run([args.bin, "migrate", "--data-dir", str(data)], check=True,
                   capture_output=True)
    db_path = data / "bsocial.db"
    con = sqlite3.connect(db_path)
    con.executemany(
        "INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)"
        " VALUES (?, ?, 'Seed', 'User', 'x', 0)",
        ((f"user_{i:07d}", f"user_{i:07d}@example.com") for i in range(args.users)))
    con.commit()
    con.close()

    cmd = [args.bin, "serve", "--port", "0", "--data-dir", str(data), "--log-level", "warn",
           "--registrations-per-minute", "0"]
    if mode == "off":
        cmd += ["--ws-frames-per-second", "0", "--searches-per-minute", "0"]
    log = open(work / "serve.log", "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    port = 0
    for line in proc.stdout:
        m = LISTEN_RE.search(line)
        if m:
            port = int(m.group(1))
            break
    if not port:
        raise SystemExit(f"serve did not start: {(work / 'serve.log').read_text()[-2000:]}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        tag = secrets.token_hex(3)
        reader = make_user(port, f"reader_{tag}")
        flooder = make_user(port, f"acker_{tag}")
        searcher = make_user(port, f"searcher_{tag}")
        authors = [make_user(port, f"author_{tag}_{k}") for k in range(10)]
        h = Http(port)
        for a in authors:
            must(h.request("PUT", f"/api/v1/users/me/following/{a['name']}",
                           token=reader["token"]), 204)
            for i in range(50):
                must(h.request("POST", "/api/v1/posts", {"content": f"post {i} by {a['name']}"},
                               token=a["token"]), 201)
        con = sqlite3.connect(db_path, timeout=30)
        now = int(time.time() * 1000)
        con.executemany(
            "INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username,"
            " excerpt, created_at) VALUES (?, ?, 1, ?, ?, 'flood', ?)",
            ((int(flooder["id"]), 10_000_000 + i, int(authors[0]["id"]), authors[0]["name"],
              now) for i in range(args.notifications)))
        con.commit()
        ids = [r[0] for r in con.execute("SELECT id FROM notifications WHERE user_id = ?",
                                         (int(flooder["id"]),))]
        con.close()

        read_feed(port, reader["token"], 2)  # warm-up
        baseline = read_feed(port, reader["token"], args.seconds)

        ctx = multiprocessing.get_context("spawn")
        q_ack, q_search = ctx.Queue(), ctx.Queue()
        prefixes = ["zzzz", "user_0", "user_00", "user_012", "user_0999", "u", "user_05"]
        acks0 = metric(port, "bsocial_notification_acks_total")
        tx0 = metric(port, "bsocial_notification_ack_transactions_total")
        p_ack = ctx.Process(target=ack_flooder,
                            args=(port, flooder["token"], ids, args.seconds + 2, q_ack))
        p_search = ctx.Process(target=search_flooder,
                               args=(port, searcher["token"], prefixes, args.seconds + 2,
                                     q_search))
        p_ack.start()
        p_search.start()
        time.sleep(1)  # the floods are under way
        flooded = read_feed(port, reader["token"], args.seconds)
        acks = q_ack.get(timeout=120)
        searches = q_search.get(timeout=120)
        p_ack.join()
        p_search.join()
        time.sleep(0.5)
        acks_handled = metric(port, "bsocial_notification_acks_total") - acks0
        txs = metric(port, "bsocial_notification_ack_transactions_total") - tx0

        label = ("server defaults" if mode == "default"
                 else "flood limits off (--ws-frames-per-second 0 --searches-per-minute 0)")
        print(f"\n== {label}; {args.users:,} users, {len(ids)} notifications of the acker")
        print(f"  reader's feed alone:        {summary(baseline)}")
        print(f"  reader's feed under floods: {summary(flooded)}")
        secs = args.seconds + 2
        print(f"  ack flooder, 16 sockets:    {acks['frames']:,} frames sent in {secs:.0f} s "
              f"({acks['frames'] / secs:,.0f}/s); closed with 1008: {acks['closed_1008']}, "
              f"otherwise: {acks['closed_other']}; reconnects {acks['reconnects']}, "
              f"refused {acks['refused']}")
        print(f"  server, acks:               {acks_handled:,.0f} ack frames handled in "
              f"{txs:,.0f} write transactions "
              f"({acks_handled / txs if txs else float('nan'):.1f} acks per transaction)")
        counts = ", ".join(f"{k}: {v:,}" for k, v in sorted(searches["counts"].items()))
        print(f"  search flooder, 4 conns:    {sum(searches['counts'].values()):,} searches "
              f"({counts}); answered ones: p50 {pct(searches['answered_ms'], 50):.2f} ms, "
              f"p99 {pct(searches['answered_ms'], 99):.2f} ms")
        sys.stdout.flush()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--notifications", type=int, default=500)
    ap.add_argument("--modes", default="default,off",
                    help="default (the server's limits), off (flood limits turned off)")
    args = ap.parse_args()
    for mode in args.modes.split(","):
        run(args, mode.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
