#!/usr/bin/env python3
"""How soon followers see a new post, and how far the fan-out worker lags (docs/feed.md).

On the seeded network of `make bench` (same cache), with the release server:
  1. steady: one post every 1/RATE s by a random regular user; right after each 201, one of
     the author's followers reads their first feed page until the post is on it;
  2. the same while wrk posts as fast as it can (a burst: the worker falls behind).
Prints, for each phase, the post -> visible-to-a-follower latency (p50, p99, max, posts not
seen within 5 s) and the worker's backlog and lag from /metrics. Numbers only.

    python3 bench/feed_visibility.py --bin build/release/bsocial [--rate 50] [--seconds 20]
                                     [--db postgresql] [--posts 1000000]
                                     [--env BSOCIAL_FEED_FANOUT_MAX_BACKLOG=0 ...]

During the burst /metrics is also sampled every 0.25 s by a thread of its own: the
backlog's peak, how many posts the post requests fanned out themselves (the backpressure
over BSOCIAL_FEED_FANOUT_MAX_BACKLOG, PostgreSQL) and the posts accepted per second.

SQLite (the default) adds a post to the cached timelines before its 201, and so does
PostgreSQL with its timelines in memory (the default; other replicas by the cluster bus);
with BSOCIAL_FEED_POSTGRESQL_TIMELINES=tables (--env) the fan-out worker fills PostgreSQL's
timeline tables after it (asynchronous).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchlib.postgres import Postgres
from benchlib.scenarios import bench_client, login_all, regular_users
from benchlib.seed_cache import copy_sqlite, dataset_params, ensure_sqlite_seed
from benchlib.server import serve_args, start_server
from benchlib.wrk import LUA
from bsocial_testkit.http import Client

# The POST burst has each of 40 users publish ~125 posts/s for 20 s: beyond the per-user
# post limit's default burst (docs/security.md, issue 24 item 3). Its server runs without
# that limit.
UNLIMITED_POSTS = {"BSOCIAL_POSTS_PER_MINUTE": "0"}


def metrics(h: Client) -> dict[str, float]:
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    out = {}
    for name in ("bsocial_timeline_fanout_backlog", "bsocial_timeline_fanout_lag_seconds",
                 "bsocial_timeline_fanout_posts_total",
                 "bsocial_timeline_fanout_helped_posts_total"):
        m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
        out[name] = float(m.group(1)) if m else float("nan")
    return out


def phase(port: int, pairs, tokens, rate: float, seconds: float, label: str) -> None:
    h = bench_client(port)
    latencies, missed, backlog, lag = [], 0, [], []
    stop_at = time.monotonic() + seconds
    rng = random.Random(7)
    while time.monotonic() < stop_at:
        t_next = time.monotonic() + 1.0 / rate
        author, follower = rng.choice(pairs)
        post = h.call("POST", "/api/v1/posts", {"content": "visibility probe"},
                      tokens[author])["post"]
        t0 = time.monotonic()
        seen = False
        while time.monotonic() - t0 < 5.0:
            page = h.call("GET", "/api/v1/feed?limit=20", None, tokens[follower])
            if any(p["id"] == post["id"] for p in page["items"]):
                seen = True
                break
            time.sleep(0.005)
        if seen:
            latencies.append((time.monotonic() - t0) * 1000)
        else:
            missed += 1
        m = metrics(h)
        backlog.append(m["bsocial_timeline_fanout_backlog"])
        lag.append(m["bsocial_timeline_fanout_lag_seconds"])
        time.sleep(max(0.0, t_next - time.monotonic()))
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0
    print(f"{label:34} posts {len(latencies) + missed:5}  visible p50 {p(0.5):6.1f} ms"
          f"  p99 {p(0.99):6.1f} ms  max {max(latencies, default=0):6.1f} ms"
          f"  not seen in 5 s: {missed}  |  fan-out backlog max {max(backlog):.0f}"
          f"  lag max {max(lag):.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--rate", type=float, default=50, help="probe posts per second")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--posts", type=int, default=1000000,
                    help="seeded posts (smaller: a quicker seed, not make bench's network)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for serve (e.g. BSOCIAL_FEED_FANOUT_MAX_BACKLOG=0)")
    args = ap.parse_args()
    extra_env = dict(e.split("=", 1) for e in args.env)
    # The network of `make bench` (bench.py's defaults), so the seed cache is shared.
    bargs = argparse.Namespace(users=10000, follows=100, posts=args.posts,
                               comments=min(100000, args.posts // 10),
                               seed=42, days=30, shape_users=20, heavy_follows=5000,
                               star_share=0.5, db_pool=4, io_threads=2)
    p = dataset_params(bargs)
    run_dir = Path(tempfile.mkdtemp(prefix="bsocial-visibility-"))
    pg, run_db = None, None
    if args.db == "postgresql":
        pg = Postgres()
        template, _ = pg.ensure_seed(args.bin, p)
        run_db = pg.copy(template)
        server = start_server(args.bin, run_dir, serve_args(), db_url=pg.url(run_db),
                              env={**UNLIMITED_POSTS, **extra_env})
    else:
        seed_dir, _ = ensure_sqlite_seed(args.bin, p)
        copy_sqlite(seed_dir, run_dir)
        server = start_server(args.bin, run_dir, serve_args(), env={**UNLIMITED_POSTS, **extra_env})

    def query(sql: str) -> list[tuple[str, ...]]:
        if pg:
            out = pg.psql(sql, db=run_db)
            return [tuple(line.split("|")) for line in out.splitlines() if line]
        con = sqlite3.connect(f"file:{run_dir / 'bsocial.db'}?mode=ro", uri=True)
        try:
            return [tuple(str(v) for v in row) for row in con.execute(sql)]
        finally:
            con.close()

    try:
        port = server.port
        names = regular_users(p["users"], 40)
        tokens = login_all(port, names)
        # (author, follower) pairs among the logged-in users, from the follows table
        quoted = ",".join(f"'{n}'" for n in names)  # generated names: user_NNNNNN
        ids = {name: int(i) for i, name in
               query(f"SELECT id, username FROM users WHERE username IN ({quoted})")}
        by_id = {v: k for k, v in ids.items()}
        pairs = [(by_id[int(a)], by_id[int(f)]) for f, a in query(
            "SELECT follower_id, followee_id FROM follows WHERE follower_id IN (%s)"
            " AND followee_id IN (%s)" % ((",".join(map(str, ids.values())),) * 2))]
        if not pairs:  # fall back: followers outside the logged-in set
            raise SystemExit("no follower pairs among the sampled users")
        print(f"{len(pairs)} author/follower pairs; probe rate {args.rate}/s for {args.seconds} s")
        phase(port, pairs, tokens, args.rate, args.seconds, "steady")
        lua = run_dir / "posts.txt"
        lua.write_text("".join(f"POST\t{tokens[n]}\t/api/v1/posts\t{{\"content\":\"burst\"}}\n"
                               for n in names))
        wrk = subprocess.Popen(["wrk", "-t2", "-c16", f"-d{int(args.seconds) + 2}s", "-s",
                                str(LUA), f"http://127.0.0.1:{port}", "--", str(lua), "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        samples: list[tuple[float, dict[str, float]]] = []
        sampling = threading.Event()

        def sample() -> None:
            h2 = bench_client(port)
            while not sampling.is_set():
                try:
                    samples.append((time.monotonic(), metrics(h2)))
                except OSError:
                    pass
                sampling.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(1)
        phase(port, pairs, tokens, args.rate, args.seconds, "during a POST burst (wrk c16)")
        out, _ = wrk.communicate()
        sampling.set()
        sampler.join()
        if samples:
            peak = max(m["bsocial_timeline_fanout_backlog"] for _, m in samples)
            lag = max(m["bsocial_timeline_fanout_lag_seconds"] for _, m in samples)
            helped = (samples[-1][1]["bsocial_timeline_fanout_helped_posts_total"]
                      - samples[0][1]["bsocial_timeline_fanout_helped_posts_total"])
            fanned = (samples[-1][1]["bsocial_timeline_fanout_posts_total"]
                      - samples[0][1]["bsocial_timeline_fanout_posts_total"])
            span = samples[-1][0] - samples[0][0]
            print(f"during the burst (sampled every 0.25 s): backlog peak {peak:.0f}, lag max"
                  f" {lag:.2f} s; fanned out {fanned:.0f} ({fanned / max(span, 1e-9):.0f}/s),"
                  f" of which by post requests {helped:.0f}")
        line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if line:
            w = json.loads(line[len("BENCH_JSON "):])
            print(f"burst: {w['requests']} posts in {w['duration_us'] / 1e6:.1f} s"
                  f" ({w['requests'] / (w['duration_us'] / 1e6):.0f}/s), p99"
                  f" {w['latency_us']['p99'] / 1000:.1f} ms, non-2xx {w['non2xx']}")
        t0 = time.monotonic()
        h = bench_client(port)
        first = last = None
        while time.monotonic() - t0 < 300:
            try:
                m = metrics(h)
            except OSError:  # a slow answer on a loaded machine: ask again
                continue
            n = m["bsocial_timeline_fanout_backlog"]
            first = n if first is None else first
            last = n
            if n <= 0:
                break
            time.sleep(0.5)
        took = time.monotonic() - t0
        rate = (first - last) / took if first is not None and took > 0 else 0.0
        print(f"backlog {first:.0f} at the burst's end; " +
              (f"drained {took:.1f} s after the burst" if last is not None and last <= 0
               else f"{last:.0f} left after {took:.0f} s") +
              f" ({rate:.0f} posts/s fanned out meanwhile)")
    finally:
        server.stop(check=False, timeout=30)
        if pg:
            pg.drop(run_db)
            pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
