#!/usr/bin/env python3
"""Notification benchmark: comment -> WebSocket push latency, idle sockets, claim throughput.

Starts its own 1-broker Kafka (stack/bstack.py, in a temp dir), `bsocial serve` (relay on)
and `bsocial notifier` on the same data, then:

1. push latency: A keeps a WebSocket open on /api/v1/notifications/stream (on the API
   port or the notifier's); B comments on A's post at a steady rate (--rate, comments/s;
   0 = one at a time, waiting for each push). Latency = arrival of the frame at A minus
   the moment B's POST returned 201 (also printed: minus the request start). Every
   frame is acked. Prints p50/p90/p99/max.
2. claim throughput: --claim-notifications notifications spread over --recipients users
   (each with a post that one commenter comments on), waited for until stored; then
   --claim-threads threads drain them with POST /api/v1/notifications/claim (each
   recipient once: claims/s, notifications/s), then keep claiming (now empty) for
   --claim-seconds (claims/s with that many rows in the table).

3. sustained (issue 10): --sustained-rate comments/s for --sustained-seconds, from
   several commenters to --sustained-recipients users, each with a socket open (on the
   API instances, alternately); prints p50/p99 from the 201 to the frame, lost (never
   pushed) and duplicated (pushed twice to one socket). On SQLite: one serve + one
   notifier; on PostgreSQL (--dbs ... postgresql, a PG of stack/ is started): two API
   instances and two notifiers.
4. idle sockets (issue 10, SQLite deployment): --idle-users x --idle-per-user sockets on
   one `bsocial serve` (users inserted straight into SQLite, tokens signed with the
   bench's JWT secret, sockets spread over 127.0.0.x source addresses); prints the serve
   process's RSS growth, its CPU over --idle-seconds (from /proc/PID/stat, % of one core)
   and how long a push to one of those users takes to reach all of their sockets.

    python3 bench/notify_bench.py --bin build/release/bsocial [--dbs sqlite,postgresql]
        [--sections sustained,idle,classic] [--sustained-rate 200] [--sustained-seconds 60]
        [--idle-users 1000] [--idle-per-user 10] [--idle-seconds 20]
        [--comments 1000] [--rate 20] [--socket-on api|notifier] [--claim-notifications 2000]
        [--recipients 20] [--claim-threads 8] [--claim-seconds 5]
    quick run: --sustained-seconds 10 --idle-users 100 --idle-seconds 5 --sections sustained,idle

Needs what stack/ needs (Java 17 and its jar cache), and the `websockets` package.
Numbers only; nothing here asserts on timing.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import hashlib
import hmac
import resource
import sqlite3
import http.client
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect as ws_connect

from bsocial_testkit.http import Client
from bsocial_testkit.jwt import b64url, find_jwt_key, jwt_parts
from bsocial_testkit.server import NotifierProcess, ServerProcess
from bsocial_testkit.stack import Stack

PASSWORD = "bench passphrase 42"


def http_client(port: int) -> Client:
    """One keep-alive connection (reopened on error), no test checks; call() returns the
    JSON body and raises on a non-2xx answer."""
    return Client(port, checks=False, keep_alive=True, timeout=60)


def read_notifications(ws, on_arrival):
    """Reads a socket until it closes: acks each notification and reports
    on_arrival(comment_id, monotonic time of arrival)."""
    try:
        for msg in ws:
            t = time.monotonic()
            f = json.loads(msg)
            if f.get("type") != "notification":
                continue
            n = f["notification"]
            ws.send(json.dumps({"type": "ack", "id": n["id"]}))
            on_arrival(n["comment_id"], t)
    except Exception:  # noqa: BLE001 - the socket closes at the end
        pass


def pct(values, q):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(name, ms):
    return (f"{name}: n={len(ms)} p50={pct(ms, 50):.1f} ms p90={pct(ms, 90):.1f} ms "
            f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms mean={statistics.mean(ms):.1f} ms")


def make_user(port, name):
    h = http_client(port)
    h.call("POST", "/api/v1/users", {
        "first_name": "Bench", "last_name": "User", "username": name,
        "email": f"{name}@example.com", "password": PASSWORD,
        "password_confirmation": PASSWORD})
    tok = h.call("POST", "/api/v1/sessions", {"login": name, "password": PASSWORD})["token"]
    return {"name": name, "token": tok}


def wait_notifications(nport, target, timeout=300):
    """Until the notifier's notifications_total reaches target (bounded)."""
    h = http_client(nport)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h.conn = None
        c = http.client.HTTPConnection("127.0.0.1", nport, timeout=30)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        m = re.search(r"^bsocial_notifier_notifications_total (\S+)$", text, re.M)
        if m and float(m.group(1)) >= target:
            return float(m.group(1))
        time.sleep(0.2)
    raise SystemExit(f"notifications_total did not reach {target} in {timeout}s")


def push_latency(args, port, nport):
    ws_port = port if args.socket_on == "api" else nport
    a = make_user(port, f"nb_a_{secrets.token_hex(3)}")
    b = make_user(port, f"nb_b_{secrets.token_hex(3)}")
    hb = http_client(port)
    hb.call("PUT", f"/api/v1/users/me/following/{a['name']}", token=b["token"])
    post = http_client(port).call("POST", "/api/v1/posts", {"content": "bench post"},
                              token=a["token"])["post"]

    arrived: dict[str, float] = {}
    arrived_cv = threading.Condition()
    ws = ws_connect(f"ws://127.0.0.1:{ws_port}/api/v1/notifications/stream",
                    additional_headers={"Authorization": f"Bearer {a['token']}"},
                    compression=None)

    def on_arrival(comment_id, t):
        with arrived_cv:
            arrived[comment_id] = t
            arrived_cv.notify_all()

    threading.Thread(target=read_notifications, args=(ws, on_arrival), daemon=True).start()
    # warm-up (first produce opens the relay's connections); not measured
    for i in range(5):
        c = hb.call("POST", f"/api/v1/posts/{post['id']}/comments", {"content": f"warm {i}"},
                       token=b["token"])["comment"]
        with arrived_cv:
            arrived_cv.wait_for(lambda: c["id"] in arrived, timeout=60)

    sent: list[tuple[str, float, float]] = []
    t_begin = time.monotonic()
    for i in range(args.comments):
        if args.rate > 0:
            pause = t_begin + i / args.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        t0 = time.monotonic()
        c = hb.call("POST", f"/api/v1/posts/{post['id']}/comments",
                       {"content": f"bench comment {i}"}, token=b["token"])["comment"]
        t1 = time.monotonic()
        sent.append((c["id"], t0, t1))
        if args.rate == 0:
            with arrived_cv:
                arrived_cv.wait_for(lambda: c["id"] in arrived, timeout=60)
    t_sent = time.monotonic()
    with arrived_cv:
        arrived_cv.wait_for(lambda: all(cid in arrived for cid, _, _ in sent), timeout=120)
    ws.close()
    missing = [cid for cid, _, _ in sent if cid not in arrived]
    from_201 = [(arrived[cid] - t1) * 1000 for cid, _, t1 in sent if cid in arrived]
    from_start = [(arrived[cid] - t0) * 1000 for cid, t0, _ in sent if cid in arrived]
    post_ms = [(t1 - t0) * 1000 for _, t0, t1 in sent]
    rate = f"{args.rate}/s" if args.rate > 0 else "sequential (each waits for its push)"
    print(f"push latency: {len(sent)} comments at {rate} in {t_sent - t_begin:.1f}s, "
          f"socket on the {args.socket_on} port, missing={len(missing)}")
    print("  " + summary("from the comment's 201 to the frame", from_201))
    print("  " + summary("from the request start to the frame", from_start))
    print("  " + summary("comment POST itself", post_ms))


def claim_throughput(args, port, nport):
    rcount = args.recipients
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        users = list(pool.map(lambda i: make_user(port, f"nb_r{i}_{secrets.token_hex(3)}"),
                              range(rcount + 1)))
    commenter, recipients = users[0], users[1:]
    hc = http_client(port)
    posts = []
    for r in recipients:
        hc.call("PUT", f"/api/v1/users/me/following/{r['name']}", token=commenter["token"])
        posts.append(http_client(port).call("POST", "/api/v1/posts", {"content": "p"},
                                        token=r["token"])["post"]["id"])
    c = http.client.HTTPConnection("127.0.0.1", nport, timeout=30)
    c.request("GET", "/metrics")
    base = float(re.search(r"^bsocial_notifier_notifications_total (\S+)$",
                           c.getresponse().read().decode(), re.M).group(1))
    c.close()
    n = args.claim_notifications
    t0 = time.monotonic()

    def produce(k):
        h = http_client(port)
        for i in range(k, n, 4):
            h.call("POST", f"/api/v1/posts/{posts[i % rcount]}/comments",
                      {"content": f"claim bench {i}"}, token=commenter["token"])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(produce, range(4)))
    wait_notifications(nport, base + n)
    print(f"claim throughput: {n} notifications for {rcount} users stored in "
          f"{time.monotonic() - t0:.1f}s (comment POSTs + relay + notifier)")

    # drain: each recipient claims once, T threads
    tl = threading.local()

    def claim(tok):
        if not hasattr(tl, "h"):
            tl.h = http_client(port if args.claim_on == "api" else nport)
        return len(tl.h.call("POST", "/api/v1/notifications/claim", token=tok)["items"])

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.claim_threads) as pool:
        got = list(pool.map(claim, [r["token"] for r in recipients]))
    dt = time.monotonic() - t0
    print(f"  drain: {rcount} claims returned {sum(got)} notifications in {dt * 1000:.0f} ms "
          f"({rcount / dt:.0f} claims/s, {sum(got) / dt:.0f} notifications/s, "
          f"{args.claim_threads} threads, on the {args.claim_on} port)")

    # steady: empty claims with the table holding the rows
    stop_at = time.monotonic() + args.claim_seconds
    counts = [0] * args.claim_threads

    def loop(k):
        h = http_client(port if args.claim_on == "api" else nport)
        i = k
        while time.monotonic() < stop_at:
            h.call("POST", "/api/v1/notifications/claim", token=recipients[i % rcount]["token"])
            counts[k] += 1
            i += args.claim_threads

    t0 = time.monotonic()
    ts = [threading.Thread(target=loop, args=(k,)) for k in range(args.claim_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    print(f"  steady: {sum(counts)} empty claims in {dt:.1f}s = {sum(counts) / dt:.0f} claims/s "
          f"({args.claim_threads} threads, keep-alive, table with >= {n} notifications)")


# --------------------------------------------------------------------------- issue 10


def raise_nofile():
    """Lets a process hold 10,000+ sockets: soft RLIMIT_NOFILE up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_ready(nport, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        c = http.client.HTTPConnection("127.0.0.1", nport, timeout=10)
        c.request("GET", "/readyz")
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status == 200 and json.loads(body).get("checks", {}).get("kafka") == "ok":
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"notifier :{nport} not ready: {body[:200]!r}")
        time.sleep(0.25)


def sustained(args, api_ports, label):
    """--sustained-rate comments/s for --sustained-seconds to recipients with a socket
    each (alternating over the API ports); lost / duplicated / latency from the 201."""
    rcount, ccount = args.sustained_recipients, 4
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        users = list(pool.map(lambda i: make_user(api_ports[0], f"ns{i}_{secrets.token_hex(3)}"),
                              range(rcount + ccount)))
    recipients, commenters = users[:rcount], users[rcount:]
    h = http_client(api_ports[0])
    posts = []
    for r in recipients:
        posts.append(h.call("POST", "/api/v1/posts", {"content": "sustained"},
                               token=r["token"])["post"]["id"])
        for c in commenters:
            h.call("PUT", f"/api/v1/users/me/following/{r['name']}", token=c["token"])

    arrivals: dict[str, list[float]] = collections.defaultdict(list)
    lock = threading.Lock()
    sockets = []

    def on_arrival(comment_id, t):
        with lock:
            arrivals[comment_id].append(t)

    for i, r in enumerate(recipients):
        ws = ws_connect(f"ws://127.0.0.1:{api_ports[i % len(api_ports)]}"
                        "/api/v1/notifications/stream",
                        additional_headers={"Authorization": f"Bearer {r['token']}"},
                        compression=None)
        sockets.append(ws)
        threading.Thread(target=read_notifications, args=(ws, on_arrival),
                         daemon=True).start()
    # warm-up: one comment per recipient, not measured
    for i, pid in enumerate(posts):
        http_client(api_ports[0]).call("POST", f"/api/v1/posts/{pid}/comments", {"content": "warm"},
                                   token=commenters[i % ccount]["token"])
    time.sleep(2)

    total = int(args.sustained_rate * args.sustained_seconds)
    sent: list[tuple[str, float]] = []
    threads = 8
    t_begin = time.monotonic() + 0.5

    def produce(k):
        conns = [http_client(p) for p in api_ports]
        out = []
        for i in range(k, total, threads):
            pause = t_begin + i / args.sustained_rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            c = conns[i % len(conns)].call(
                "POST", f"/api/v1/posts/{posts[i % rcount]}/comments",
                {"content": f"sustained {i}"}, token=commenters[i % ccount]["token"])["comment"]
            out.append((c["id"], time.monotonic()))
        return out

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for part in pool.map(produce, range(threads)):
            sent.extend(part)
    t_sent = time.monotonic()
    deadline = t_sent + 30
    while time.monotonic() < deadline:
        with lock:
            if all(cid in arrivals for cid, _ in sent):
                break
        time.sleep(0.1)
    time.sleep(2)  # late duplicates, if any
    for ws in sockets:
        ws.close()
    with lock:
        lost = [cid for cid, _ in sent if cid not in arrivals]
        duplicated = sum(len(arrivals[cid]) - 1 for cid, _ in sent if cid in arrivals)
        lat = [(arrivals[cid][0] - t1) * 1000 for cid, t1 in sent if cid in arrivals]
    achieved = len(sent) / max(1e-9, t_sent - t_begin)
    print(f"sustained push [{label}]: {len(sent)} comments at {args.sustained_rate:g}/s "
          f"for {args.sustained_seconds:g}s (achieved {achieved:.0f}/s), {rcount} recipients "
          f"with a socket each, lost={len(lost)} duplicated={duplicated}")
    if lat:
        print("  " + summary("from the comment's 201 to the frame", lat))


class TokenMinter:
    """Signs tokens for any user id with the bench's JWT secret (the key form, text or
    the hex-decoded bytes, is read off a real token)."""

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


def proc_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def idle_sockets(args, api_proc, port, db_file, secret):
    """--idle-users x --idle-per-user sockets on one serve: RSS growth, idle CPU, and a
    push to one of those users."""
    from websockets.asyncio.client import connect as aconnect

    tag = secrets.token_hex(3)
    commenter = make_user(port, f"ni_c_{tag}")
    minter = TokenMinter(commenter["token"], secret)
    db = sqlite3.connect(db_file, timeout=60)
    now_ms = int(time.time() * 1000)
    db.executemany(
        "INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)"
        " VALUES (?, ?, 'Idle', 'User', 'not-a-hash', ?)",
        [(f"ni_{tag}_{i}", f"ni_{tag}_{i}@example.com", now_ms) for i in range(args.idle_users)])
    db.commit()
    ids = [r[0] for r in db.execute("SELECT id FROM users WHERE username LIKE ? ORDER BY id",
                                    (f"ni_{tag}_%",))]
    db.close()
    tokens = [minter.token(uid) for uid in ids]

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    got: dict[int, list[tuple[float, str]]] = collections.defaultdict(list)
    conns = []
    closed = [0]

    async def hold(ws, user_index):
        try:
            async for msg in ws:
                f = json.loads(msg)
                if f.get("type") == "notification":
                    got[user_index].append((time.monotonic(), f["notification"]["comment_id"]))
        except Exception:  # noqa: BLE001
            pass
        closed[0] += 1

    async def open_all():
        gate = asyncio.Semaphore(args.idle_open_concurrency)

        async def one(k):
            u = k // args.idle_per_user
            # 100 sockets per loopback source address: per-address caps stay out of the way
            src = f"127.0.{1 + k // 25600}.{2 + (k // 100) % 250}"
            async with gate:
                ws = await aconnect(f"ws://127.0.0.1:{port}/api/v1/notifications/stream",
                                    additional_headers={"Authorization": f"Bearer {tokens[u]}"},
                                    compression=None, ping_interval=None, open_timeout=60,
                                    local_addr=(src, 0))
            conns.append(ws)
            asyncio.ensure_future(hold(ws, u))

        results = await asyncio.gather(*(one(k) for k in range(args.idle_users * args.idle_per_user)),
                                       return_exceptions=True)
        return [r for r in results if isinstance(r, Exception)]

    time.sleep(1)
    rss0 = proc_rss_kib(api_proc.pid)
    t0 = time.monotonic()
    errors = asyncio.run_coroutine_threadsafe(open_all(), loop).result()
    opened = time.monotonic() - t0
    time.sleep(2)
    rss1 = proc_rss_kib(api_proc.pid)
    tick = os.sysconf("SC_CLK_TCK")
    c0, w0 = proc_cpu_ticks(api_proc.pid), time.monotonic()
    time.sleep(args.idle_seconds)
    c1, w1 = proc_cpu_ticks(api_proc.pid), time.monotonic()
    rss2 = proc_rss_kib(api_proc.pid)
    cpu = (c1 - c0) / tick / (w1 - w0) * 100
    print(f"idle sockets: {len(conns)} open ({args.idle_users} users x {args.idle_per_user}), "
          f"{len(errors)} failed{' e.g. ' + repr(errors[0])[:120] if errors else ''}, "
          f"opened in {opened:.1f}s; closed by the server while idle: {closed[0]}")
    print(f"  serve RSS {rss0 / 1024:.1f} MiB -> {rss1 / 1024:.1f} MiB with the sockets "
          f"(+{(rss1 - rss0) / 1024:.1f} MiB), {rss2 / 1024:.1f} MiB after {args.idle_seconds:g}s "
          f"idle (+{(rss2 - rss0) / 1024:.1f} MiB)")
    print(f"  serve CPU while idle: {cpu:.2f}% of one core over {w1 - w0:.1f}s "
          f"(/proc/{api_proc.pid}/stat utime+stime)")

    # a push to one of them: user 0's post, commented by the commenter
    h = http_client(port)
    target = 0
    h.call("PUT", f"/api/v1/users/me/following/ni_{tag}_{target}", token=commenter["token"])
    post = h.call("POST", "/api/v1/posts", {"content": "idle target"},
                     token=tokens[target])["post"]["id"]
    t1s = []
    for i in range(3):
        c = h.call("POST", f"/api/v1/posts/{post}/comments", {"content": f"to an idle one {i}"},
                      token=commenter["token"])["comment"]["id"]
        t1 = time.monotonic()
        deadline = t1 + 30
        while time.monotonic() < deadline:
            mine = [t for t, cid in got[target] if cid == c]
            if len(mine) >= args.idle_per_user:
                break
            time.sleep(0.002)
        mine = [t for t, cid in got[target] if cid == c]
        t1s.append((len(mine), (min(mine) - t1) * 1000 if mine else float("nan"),
                    (max(mine) - t1) * 1000 if mine else float("nan")))
        time.sleep(0.5)
    for n, first, last in t1s:
        print(f"  push to a user among them: {n}/{args.idle_per_user} of their sockets got it, "
              f"first after {first:.1f} ms, last after {last:.1f} ms (from the comment's 201)")

    async def close_all():
        await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)

    asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=120)
    loop.call_soon_threadsafe(loop.stop)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--dbs", default="sqlite,postgresql",
                    help="deployments to run, in order: sqlite, postgresql (a PG of stack/)")
    ap.add_argument("--sections", default="sustained,idle,classic",
                    help="sustained (both dbs), idle and classic (SQLite only)")
    ap.add_argument("--sustained-rate", type=float, default=200.0)
    ap.add_argument("--sustained-seconds", type=float, default=60.0)
    ap.add_argument("--sustained-recipients", type=int, default=10)
    ap.add_argument("--idle-users", type=int, default=1000)
    ap.add_argument("--idle-per-user", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--idle-open-concurrency", type=int, default=100,
                    help="handshakes in flight while opening the idle sockets")
    ap.add_argument("--comments", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=20.0, help="comments/s; 0 = sequential")
    ap.add_argument("--socket-on", choices=("api", "notifier"), default="api")
    ap.add_argument("--claim-notifications", type=int, default=2000)
    ap.add_argument("--recipients", type=int, default=20)
    ap.add_argument("--claim-threads", type=int, default=8)
    ap.add_argument("--claim-seconds", type=float, default=5.0)
    ap.add_argument("--claim-on", choices=("api", "notifier"), default="api")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    binary = str(Path(args.bin).resolve())
    if not Path(binary).exists():
        raise SystemExit(f"no binary at {binary}")
    raise_nofile()

    work = Path(tempfile.mkdtemp(prefix="bsocial-notify-bench-"))
    stack = Stack(work / "stack")
    procs = []

    def stop_all():
        for p in procs:
            if p.running():
                p.terminate()
        for p in procs:
            if isinstance(p, ServerProcess):
                p.stop(check=False, timeout=15)
            else:
                p.stop(timeout=15)
        procs.clear()

    try:
        t0 = time.monotonic()
        bootstrap = stack.start_kafka(brokers=1)
        print(f"kafka {bootstrap} up in {time.monotonic() - t0:.1f}s; binary {binary}")
        secret = secrets.token_hex(32)
        # the kit's ServerProcess: no BSOCIAL_* of the shell, registrations per minute 0
        # (all users from one address); the same JWT secret for every process
        env = {"BSOCIAL_KAFKA_BROKERS": bootstrap, "BSOCIAL_LOG_LEVEL": "warn"}
        for kind in args.dbs.split(","):
            data = work / f"data-{kind}"
            data.mkdir()
            db_url = stack.start_postgres() if kind == "postgresql" else None
            instances = 2 if kind == "postgresql" else 1
            # (RLIMIT_NOFILE raised above: the processes inherit it)
            # A few commenters write thousands of comments as fast as the rate asks: no
            # per-user comment limit here (docs/security.md, issue 24 item 3).
            unlimited = ["--comments-per-minute", "0"]
            apis = []
            for i in range(instances):
                apis.append(ServerProcess(
                    workdir=work / f"logs-{kind}", data_dir=data, db_url=db_url,
                    jwt_secret=secret, env_overrides=env, binary=binary, name=f"serve{i}",
                    extra_args=(["--relay", "false"] if i else []) + unlimited).start())
                procs.append(apis[-1])
            notifiers = []
            for i in range(instances):
                notifiers.append(NotifierProcess(apis[0], env, name=f"notifier{i}").start())
                procs.append(notifiers[-1])
            for n in notifiers:
                wait_ready(n.port)
            label = (f"{kind}, {instances} API instance{'s' if instances > 1 else ''} + "
                     f"{instances} notifier{'s' if instances > 1 else ''}")
            print(f"{label}: serve :{', :'.join(str(p.port) for p in apis)}, "
                  f"notifier :{', :'.join(str(n.port) for n in notifiers)}")
            port, nport = apis[0].port, notifiers[0].port
            if "sustained" in sections:
                sustained(args, [p.port for p in apis], label)
            if kind == "sqlite" and "idle" in sections:
                idle_sockets(args, apis[0].proc, port, data / "bsocial.db", secret)
            if kind == "sqlite" and "classic" in sections:
                push_latency(args, port, nport)
                claim_throughput(args, port, nport)
            stop_all()
    finally:
        stop_all()
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
