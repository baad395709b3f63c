#!/usr/bin/env python3
"""Notification benchmark: comment -> WebSocket push latency, and claim throughput.

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

    python3 bench/notify_bench.py --bin build/release/bsocial [--comments 1000] [--rate 20]
        [--socket-on api|notifier] [--claim-notifications 2000] [--recipients 20]
        [--claim-threads 8] [--claim-seconds 5] [--db postgresql://...]

Needs what stack/ needs (Java 17 and its jar cache), and the `websockets` package.
Numbers only; nothing here asserts on timing.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "stack"))

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
PASSWORD = "bench passphrase 42"


class Http:
    """One keep-alive connection (reopened on error)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} -> {r.status} {raw[:200]!r}")
        return json.loads(raw) if raw else None


def start(cmd, env, what):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=env)
    line = p.stdout.readline()
    m = LISTEN_RE.search(line)
    if not m:
        p.kill()
        raise SystemExit(f"{what} did not start: {line!r}")
    return p, int(m.group(1))


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
    h = Http(port)
    h.request("POST", "/api/v1/users", {
        "first_name": "Bench", "last_name": "User", "username": name,
        "email": f"{name}@example.com", "password": PASSWORD,
        "password_confirmation": PASSWORD})
    tok = h.request("POST", "/api/v1/sessions", {"login": name, "password": PASSWORD})["token"]
    return {"name": name, "token": tok}


def wait_notifications(nport, target, timeout=300):
    """Until the notifier's notifications_total reaches target (bounded)."""
    h = Http(nport)
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
    hb = Http(port)
    hb.request("PUT", f"/api/v1/users/me/following/{a['name']}", token=b["token"])
    post = Http(port).request("POST", "/api/v1/posts", {"content": "bench post"},
                              token=a["token"])["post"]

    arrived: dict[str, float] = {}
    arrived_cv = threading.Condition()
    ws = ws_connect(f"ws://127.0.0.1:{ws_port}/api/v1/notifications/stream",
                    additional_headers={"Authorization": f"Bearer {a['token']}"},
                    compression=None)

    def reader():
        try:
            for msg in ws:
                t = time.monotonic()
                f = json.loads(msg)
                if f.get("type") != "notification":
                    continue
                n = f["notification"]
                ws.send(json.dumps({"type": "ack", "id": n["id"]}))
                with arrived_cv:
                    arrived[n["comment_id"]] = t
                    arrived_cv.notify_all()
        except Exception:  # noqa: BLE001 - the socket closes at the end
            pass

    threading.Thread(target=reader, daemon=True).start()
    # warm-up (first produce opens the relay's connections); not measured
    for i in range(5):
        c = hb.request("POST", f"/api/v1/posts/{post['id']}/comments", {"content": f"warm {i}"},
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
        c = hb.request("POST", f"/api/v1/posts/{post['id']}/comments",
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
    hc = Http(port)
    posts = []
    for r in recipients:
        hc.request("PUT", f"/api/v1/users/me/following/{r['name']}", token=commenter["token"])
        posts.append(Http(port).request("POST", "/api/v1/posts", {"content": "p"},
                                        token=r["token"])["post"]["id"])
    c = http.client.HTTPConnection("127.0.0.1", nport, timeout=30)
    c.request("GET", "/metrics")
    base = float(re.search(r"^bsocial_notifier_notifications_total (\S+)$",
                           c.getresponse().read().decode(), re.M).group(1))
    c.close()
    n = args.claim_notifications
    t0 = time.monotonic()

    def produce(k):
        h = Http(port)
        for i in range(k, n, 4):
            h.request("POST", f"/api/v1/posts/{posts[i % rcount]}/comments",
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
            tl.h = Http(port if args.claim_on == "api" else nport)
        return len(tl.h.request("POST", "/api/v1/notifications/claim", token=tok)["items"])

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
        h = Http(port if args.claim_on == "api" else nport)
        i = k
        while time.monotonic() < stop_at:
            h.request("POST", "/api/v1/notifications/claim", token=recipients[i % rcount]["token"])
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--comments", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=20.0, help="comments/s; 0 = sequential")
    ap.add_argument("--socket-on", choices=("api", "notifier"), default="api")
    ap.add_argument("--claim-notifications", type=int, default=2000)
    ap.add_argument("--recipients", type=int, default=20)
    ap.add_argument("--claim-threads", type=int, default=8)
    ap.add_argument("--claim-seconds", type=float, default=5.0)
    ap.add_argument("--claim-on", choices=("api", "notifier"), default="api")
    ap.add_argument("--db", default="", help="postgresql://... (default: SQLite in a temp dir)")
    args = ap.parse_args()
    binary = str(Path(args.bin).resolve())
    if not Path(binary).exists():
        raise SystemExit(f"no binary at {binary}")

    from bstack import Stack  # type: ignore

    work = Path(tempfile.mkdtemp(prefix="bsocial-notify-bench-"))
    stack = Stack(work / "stack")
    procs = []
    try:
        t0 = time.monotonic()
        bootstrap = stack.start_kafka(brokers=1)
        print(f"kafka {bootstrap} up in {time.monotonic() - t0:.1f}s; binary {binary}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
        env.update(BSOCIAL_KAFKA_BROKERS=bootstrap, BSOCIAL_JWT_SECRET=secrets.token_hex(32),
                   BSOCIAL_REGISTRATIONS_PER_MINUTE="0",  # all users from one address
                   BSOCIAL_LOG_LEVEL="warn")
        data = work / "data"
        data.mkdir()
        db = ["--db", args.db] if args.db else []
        api, port = start([binary, "serve", "--port", "0", "--data-dir", str(data), *db], env,
                          "serve")
        procs.append(api)
        notifier, nport = start([binary, "notifier", "--port", "0", "--data-dir", str(data), *db],
                                env, "notifier")
        procs.append(notifier)
        deadline = time.monotonic() + 90
        while True:
            c = http.client.HTTPConnection("127.0.0.1", nport, timeout=10)
            c.request("GET", "/readyz")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200 and json.loads(body).get("checks", {}).get("kafka") == "ok":
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"notifier not ready: {body[:200]!r}")
            time.sleep(0.25)
        print(f"serve :{port}, notifier :{nport}, db {'postgresql' if args.db else 'sqlite'}")
        push_latency(args, port, nport)
        claim_throughput(args, port, nport)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
