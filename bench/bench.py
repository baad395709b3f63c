#!/usr/bin/env python3
"""`make bench` and `make bench-scale`: the feed, the mixed workload and post creation on a
seeded network, measured with wrk, written to docs/benchmarks.md.

    python3 bench/bench.py --bin build/release/bsocial              # make bench
    python3 bench/bench.py --bin build/release/bsocial --scale      # make bench-scale
    python3 bench/bench.py --render                                 # docs from docs/benchmarks.json

One run:
1. Seeds the network with `bsocial seed` once per parameter set into
   .bench-cache/<db-kind>-<hash>/ (SQLite file; for PostgreSQL the database
   bench_seed_<hash> in the cluster kept under .bench-cache/postgres/). The hash covers the
   parameters, the feed settings from the environment and the sources that decide what a
   seed writes (migrations, src/bsocial/seed/), so a schema change seeds again.
2. Works on a fresh copy (the benchmark writes posts): SQLite files copied into a temp dir;
   PostgreSQL `CREATE DATABASE run_... TEMPLATE bench_seed_<hash>`. Both removed at the end.
3. Starts the release server on it (relay off; the last row restarts it with the relay on
   and a 1-broker Kafka, as `make run` serves), logs in the users the scenarios need
   (100 regular users spread over all user_* ids, 20 of each shape), pages 49 times through
   each shape user's feed for the page-50 cursor, writes one request file per scenario
   ("METHOD<TAB>TOKEN<TAB>PATH[<TAB>BODY]" per line) and runs wrk with
   bench/wrk/requests.lua on it: a warm-up, then the measured run.
4. Prints the table; any non-2xx response or socket error fails the run (exit 1). Writes
   docs/benchmarks.json (raw results), docs/benchmarks.md and the PNG plots.

Numbers only: nothing here asserts on timing; the acceptance targets of issue 8 are
printed next to the numbers. The parts, one job a module, are in bench/benchlib/
(seed cache, PostgreSQL, server, scenarios, wrk, report, plots).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import random
import shlex
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib.common import CACHE, FEED_ENV, REPO, feed_env, git_commit, log, machine
from benchlib.plots import ensure_matplotlib
from benchlib.nginx import StaticNginx
from benchlib.postgres import Postgres
from benchlib.report import load_results, print_run, render, scale_table
from benchlib.scenarios import (DEEP_PAGE, MIXED_USERS, PAGE_LIMIT, PASSWORD, SHAPES, annotate,
                                bench_client, deep_cursors, feed_path, login_all, mixed_requests,
                                regular_users, shape_users)
from benchlib.seed_cache import copy_sqlite, dataset_params, ensure_sqlite_seed
from benchlib.server import log_lines, serve_args, start_server
from benchlib.wrk import measure, write_requests


def run_once(args, kind: str, p: dict[str, Any], full: bool) -> dict:
    """Seed (cached), copy, serve, measure. full=False: only /healthz and the feed."""
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    run_dir = Path(tempfile.mkdtemp(prefix="bsocial-bench-"))
    pg = None
    run_db = None
    server = None
    ceiling = None
    kafka_stack = None
    record: dict[str, Any] = {"db": kind, "params": p, "full": full,
                              "shape_connections": args.shape_connections}
    try:
        if kind == "sqlite":
            seed_dir, seed_meta = ensure_sqlite_seed(args.bin, p)
            t0 = time.monotonic()
            copy_sqlite(seed_dir, run_dir)
            log(f"copied the seeded SQLite files to {run_dir} in {time.monotonic() - t0:.1f} s")
            db_url = None
        else:
            pg = Postgres()
            template, seed_meta = pg.ensure_seed(args.bin, p)
            run_db = pg.copy(template)
            db_url = pg.url(run_db)
        record["seed"] = {k: seed_meta.get(k) for k in
                          ("seconds", "cached", "cache", "output", "created", "vacuum_seconds")}
        server = start_server(args.bin, run_dir, serve_args(args.db_pool, args.io_threads),
                              db_url=db_url)
        port = server.port
        record["server"] = {"db_pool": args.db_pool, "io_threads": args.io_threads,
                            "env": feed_env(),
                            "command": " ".join(server.command()[1:]).replace(str(run_dir),
                                                                             "RUN_DIR")}
        log(f"server on port {port}")

        regular = regular_users(p["users"], MIXED_USERS)
        by_shape = {s: shape_users(s, p["users"], p["shape_users"]) for s in SHAPES}
        names = sorted(set(regular) | {n for s in SHAPES for n in by_shape[s]})
        # A user logs in, then loads the feed at once (the web app does): timed right after
        # each login's answer, before anyone else logs in.
        record["cold_start"], tokens = login_then_first_page(port, regular[:50])
        log("first page right after the login, server just started on a fresh database copy "
            "(PostgreSQL's buffers cold too), vs again (warm), median: "
            f"{record['cold_start']['cold_p50_ms']:.2f} vs "
            f"{record['cold_start']['warm_p50_ms']:.2f} ms ({record['cold_start']['ratio']:.2f}x)")
        t0 = time.monotonic()
        tokens.update(login_all(port, [n for n in names if n not in tokens]))
        log(f"{len(tokens)} logins in {time.monotonic() - t0:.1f} s")

        # page-50 cursors; shorter feeds borrow a typical user's (the same point in time)
        t0 = time.monotonic()
        deep: dict[str, list[tuple[str | None, int]]] = {}
        for s in SHAPES:
            deep[s] = deep_cursors(port, [tokens[n] for n in by_shape[s]])
        log(f"page-{DEEP_PAGE} cursors in {time.monotonic() - t0:.1f} s")
        typical_deep = [c for c, _ in deep["typical"] if c]
        record["feed_pages"] = {s: {"users": len(by_shape[s]),
                                    f"with_page_{DEEP_PAGE}": sum(1 for c, _ in deep[s] if c),
                                    "min_pages": min((n for _, n in deep[s]), default=0),
                                    "max_pages": max((n for _, n in deep[s]), default=0)}
                                for s in SHAPES}

        h = bench_client(port)
        files = run_dir / "requests"
        files.mkdir()
        scenarios: list[dict] = []

        def add(name, group, connections, lines, **extra):
            scenarios.append({"name": name, "group": group, "connections": connections,
                              "users": len({ln[1] for ln in lines if ln[1]}),
                              "file": write_requests(files / f"{len(scenarios):02d}.txt", lines),
                              **extra})

        if not args.no_nginx:
            ceiling = StaticNginx(run_dir / "nginx").start()
            log(f"nginx (the ceiling) on port {ceiling.port}")
            add("nginx static /healthz", "nginx", 32, [("GET", "", "/healthz", "")] * 100,
                port=ceiling.port)
        add("GET /healthz", "healthz", 32, [("GET", "", "/healthz", "")] * 100)
        add("feed typical, first page", "feed_throughput", 32,
            [("GET", tokens[n], feed_path(), "") for n in regular], shape="typical", page=1)
        for s in SHAPES:
            add(f"feed {s}, first page", "shape", args.shape_connections,
                [("GET", tokens[n], feed_path(), "") for n in by_shape[s]], shape=s, page=1)
            lines, borrowed = [], 0
            for i, (n, (cursor, _)) in enumerate(zip(by_shape[s], deep[s])):
                if not cursor and typical_deep:
                    cursor = typical_deep[i % len(typical_deep)]
                    borrowed += 1
                if cursor:
                    lines.append(("GET", tokens[n], feed_path(cursor), ""))
            if lines:
                add(f"feed {s}, page {DEEP_PAGE}", "shape", args.shape_connections, lines,
                    shape=s, page=DEEP_PAGE, borrowed_cursors=borrowed)
        if full:
            rng = random.Random(p["seed"])
            mixed = mixed_requests(h, regular, tokens, rng)
            add("mixed 60/30/10", "mixed", 16, mixed)
            posts = [("POST", tokens[n], "/api/v1/posts",
                      json.dumps({"content": f"benchmark post {k} by {n}"}))
                     for k in range(10) for n in regular]
            rng.shuffle(posts)
            add("POST /api/v1/posts", "posts", 16, posts)
        h.close()

        if args.only:
            # /healthz and nginx: the percentages' bases
            wanted = {"healthz", "nginx", *args.only.split(",")}
            scenarios = [sc for sc in scenarios if sc["group"] in wanted]
        results = []
        for sc in scenarios:
            if not server.running():
                raise SystemExit(f"the server exited ({server.proc.poll()}); log:\n"
                                 + "\n".join(log_lines(server)[-30:]))
            res = measure(sc.get("port", port), sc, args)
            results.append(res)
            log(f"{res['name']:<28} c{res['connections']:<3} {res['rps']:>10.1f} req/s  "
                f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  errors {res['errors']}"
                + (f" {res['status']}" if res["status"] else ""))
        record["scenarios"] = results
        record["server_memory"] = server_memory(server, port)
        log(f"server memory after the scenarios: {record['server_memory']}")
        # A restart of serve alone (the database keeps running, its cache warm from the
        # scenarios): the cold start a deployment sees, then the caches' memory, measured
        # from that empty start to every logged-in user's timeline read to its full depth.
        # The restart a deployment does is not in the middle of a burst: the posting rows'
        # fan-out backlog (PostgreSQL) is drained first, else a user not warmed pays for
        # walking it (docs/feed.md, the queue arm).
        backlog_wait = wait_for_fanout(port)
        server.stop(check=False, timeout=30)
        server.start()
        port = server.port
        record["restart"] = restart_cold_start(port, p, names, [tokens[n] for n in regular[:50]])
        rs = record["restart"]
        rs["fanout_drained_before"] = backlog_wait
        log(f"before the restart: fan-out backlog {backlog_wait['backlog']:.0f} posts, drained in "
            f"{backlog_wait['seconds']} s")
        log(f"restart of serve (database warm): warming {rs['warm_users']:.0f} users' sessions "
            f"and {rs['warm_timelines']:.0f} first pages took {rs['warm_seconds']:.2f} s "
            f"(a /healthz meanwhile {rs['healthz_ms']:.1f} ms); first page of a warmed user "
            f"{rs['belief_wait_s']} s after that vs again, median: {rs['cold_p50_ms']:.2f} vs "
            f"{rs['warm_p50_ms']:.2f} ms ({rs['ratio']:.2f}x); of a user not warmed (logged in "
            f"after the restart): {rs['unwarmed']['cold_p50_ms']:.2f} vs "
            f"{rs['unwarmed']['warm_p50_ms']:.2f} ms ({rs['unwarmed']['ratio']:.2f}x)")
        # The caches' memory from empty: restarted once more without the start's warming.
        server.stop(check=False, timeout=30)
        server.env_overrides["BSOCIAL_FEED_WARM_USERS"] = "0"
        server.start()
        server.env_overrides.pop("BSOCIAL_FEED_WARM_USERS", None)
        port = server.port
        rss_empty = rss_mib(server)
        t0 = time.monotonic()
        record["cache_memory"] = {"rss_empty_mib": rss_empty,
                                  **fill_caches(server, port, [tokens[n] for n in names])}
        log(f"caches filled in {time.monotonic() - t0:.1f} s: {record['cache_memory']}")
        posts_sc = next((sc for sc in scenarios if sc["group"] == "posts"), None)
        if posts_sc and not args.no_kafka:
            kafka_stack = start_kafka(run_dir)
            res = posts_with_relay(args, server, kafka_stack, posts_sc)
            results.append(res)
            log(f"{res['name']:<28} c{res['connections']:<3} {res['rps']:>10.1f} req/s  "
                f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  errors {res['errors']}"
                f"  outbox backlog at the end {res['outbox_backlog_at_end']:.0f}, empty "
                f"{res['outbox_drained_s']} s later")
        annotate(record)
    finally:
        if ceiling:
            ceiling.stop()
        if server:
            rc = server.stop(check=False, timeout=30)
            record["server_exit"] = -9 if rc is None else rc  # None: killed after 30 s
            lines = log_lines(server)
            record["server_log"] = {"lines": len(lines), "sample": lines[:10]}
        if kafka_stack:  # after the server that publishes to it
            kafka_stack.stop_all()
        if pg:
            if run_db:
                pg.drop(run_db)
            pg.stop()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log(f"kept {run_dir}")
    record.update({
        "date": started.isoformat(timespec="seconds"),
        "minutes": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds() / 60, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "duration_s": args.duration, "warmup_s": args.warmup,
        "errors": sum(r["errors"] for r in record.get("scenarios", [])),
    })
    return record


def outbox_backlog(port: int) -> float:
    h = bench_client(port)
    try:
        text = h.get("/metrics").raw.decode()
    finally:
        h.close()
    for line in text.splitlines():
        if line.startswith("bsocial_outbox_backlog "):
            return float(line.split()[1])
    return float("nan")


def start_kafka(run_dir: Path):
    """A 1-broker Kafka (stack/bstack.py) in the run's temp dir; stop_all() when done."""
    from bsocial_testkit.stack import bstack

    stack = bstack.Stack(run_dir / "kafka-stack")
    t0 = time.monotonic()
    stack.bootstrap = stack.start_kafka(brokers=1)
    log(f"kafka {stack.bootstrap} in {time.monotonic() - t0:.1f} s")
    return stack


def posts_with_relay(args, server, kafka_stack, posts_sc: dict) -> dict:
    """Post creation as `make run` serves it: the outbox relay on, publishing to Kafka.
    The same server restarted with BSOCIAL_KAFKA_BROKERS (its JWT secret kept: the tokens
    stay valid), the same request file, measured like the other rows; then how long the
    relay took to empty the outbox."""
    server.stop(check=False, timeout=30)
    server.env_overrides["BSOCIAL_KAFKA_BROKERS"] = kafka_stack.bootstrap
    server.start()
    sc = {**posts_sc, "name": "POST /api/v1/posts, relay + Kafka", "group": "posts_kafka"}
    res = measure(server.port, sc, args)
    res["outbox_backlog_at_end"] = outbox_backlog(server.port)
    t0 = time.monotonic()
    while outbox_backlog(server.port) > 0 and time.monotonic() - t0 < 120:
        time.sleep(0.2)
    res["outbox_drained_s"] = round(time.monotonic() - t0, 1)
    return res


def cold_and_warm(port: int, tokens: list[str]) -> dict:
    """Each user's first page right after the server started (nothing of theirs cached),
    then the same page again: medians in ms and their ratio (issue 25: cold <= 3x warm)."""
    h = bench_client(port)

    def timed(token: str) -> float:
        t0 = time.perf_counter()
        h.call("GET", feed_path(), token=token)
        return (time.perf_counter() - t0) * 1000

    cold = sorted(timed(t) for t in tokens)
    warm = sorted(timed(t) for t in tokens)
    h.close()
    c, w = cold[len(cold) // 2], warm[len(warm) // 2]
    return {"users": len(tokens), "cold_p50_ms": round(c, 3), "warm_p50_ms": round(w, 3),
            "ratio": round(c / w, 2) if w else 0.0}


def login_then_first_page(port: int, names: list[str]) -> tuple[dict, dict[str, str]]:
    """Each user logs in, then loads their first page at once, as the web app does after a
    login (the login's background build may still be under way: the page waits for it):
    that page timed, one user at a time, then every user's page again (warm). Medians, the
    ratio (issue 25: within 3x) and the tokens."""
    h = bench_client(port)
    tokens: dict[str, str] = {}
    cold = []
    for n in names:
        tokens[n] = h.call("POST", "/api/v1/sessions", {"login": n, "password": PASSWORD})["token"]
        t0 = time.perf_counter()
        h.call("GET", feed_path(), token=tokens[n])
        cold.append((time.perf_counter() - t0) * 1000)
    h.close()
    warm = cold_and_warm(port, [tokens[n] for n in names])  # both warm by now
    cold.sort()
    c, w = cold[len(cold) // 2], warm["warm_p50_ms"]
    return ({"users": len(names), "cold_p50_ms": round(c, 3), "warm_p50_ms": w,
             "ratio": round(c / w, 2) if w else 0.0, "after_login": True}, tokens)


def metrics_of(port: int, prefix: str) -> dict[str, float]:
    h = bench_client(port)
    try:
        text = h.get("/metrics").raw.decode()
    finally:
        h.close()
    return {ln.split()[0]: float(ln.split()[1]) for ln in text.splitlines()
            if ln.startswith(prefix) and len(ln.split()) == 2}


def wait_for_fanout(port: int, limit_s: float = 300) -> dict:
    """Waits until the fan-out worker's queue is empty (PostgreSQL; SQLite's is always 0):
    the backlog found and how long it took to drain."""
    first = metrics_of(port, "bsocial_timeline_fanout_backlog").get(
        "bsocial_timeline_fanout_backlog", 0.0)
    t0 = time.monotonic()
    while metrics_of(port, "bsocial_timeline_fanout_backlog").get(
            "bsocial_timeline_fanout_backlog", 0.0) > 0 and time.monotonic() - t0 < limit_s:
        time.sleep(0.2)
    return {"backlog": first, "seconds": round(time.monotonic() - t0, 1)}


def restart_cold_start(port: int, p: dict, logged_in: list[str], tokens: list[str]) -> dict:
    """Right after a restart of serve: the start's warming (sessions/feed_warmer.hpp) loads
    the sessions used most recently and their users' first pages in the background. Waits
    for it to end, then for a PostgreSQL replica's belief in a session read from SQL
    (BSOCIAL_SESSION_CACHE_BELIEVE_MS) to run out, as for a user who comes back some
    seconds after the restart (their session is read again, their page from memory), and
    times the first page of `tokens` (warmed: their sessions are among the most recent)
    against the same page again. Then the same for users the start did not warm: 50 regular
    users not logged in before, each logging in now and loading the first page at once (the
    login's background build, BSOCIAL_FEED_LOGIN_WARM_QUEUE, may still be under way).
    The start's warming had nothing of theirs: they had no session."""
    t0 = time.monotonic()
    h = bench_client(port)
    h.get("/healthz")
    healthz_ms = (time.monotonic() - t0) * 1000
    h.close()
    deadline = time.monotonic() + 120
    while metrics_of(port, "bsocial_feed_warm_done").get("bsocial_feed_warm_done", 1) != 1:
        if time.monotonic() > deadline:
            raise SystemExit("the start's warming did not end within 120 s")
        time.sleep(0.05)
    warm = metrics_of(port, "bsocial_feed_warm_")
    belief_wait = int(os.environ.get("BSOCIAL_SESSION_CACHE_BELIEVE_MS", "2000")) / 1000 + 0.5
    time.sleep(belief_wait)
    out = {**cold_and_warm(port, tokens), "belief_wait_s": belief_wait,
           "healthz_ms": round(healthz_ms, 1),
           "warm_users": warm.get("bsocial_feed_warm_users", 0.0),
           "warm_timelines": warm.get("bsocial_feed_warm_timelines", 0.0),
           "warm_seconds": round(warm.get("bsocial_feed_warm_seconds", 0.0), 3)}
    taken = set(logged_in)
    others = [n for n in regular_users(p["users"], 4 * MIXED_USERS) if n not in taken][:50]
    out["unwarmed"], _ = login_then_first_page(port, others)
    login_warm = metrics_of(port, "bsocial_feed_login_warm_")
    out["login_warm"] = {k.removeprefix("bsocial_feed_login_warm_"): v
                         for k, v in login_warm.items()}
    return out


def rss_mib(server) -> float | None:
    """The server's resident memory now (VmRSS), MiB."""
    try:
        for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def fill_caches(server, port: int, tokens: list[str]) -> dict:
    """Reads every token's feed down to the most a cached timeline holds (the capacity and
    an eighth), so the timeline cache holds them all at their fullest and the post cache
    their posts; the server's RSS then, and what the caches hold (issue 25: measured)."""
    capacity = int(os.environ.get("BSOCIAL_FEED_TIMELINE_CAPACITY", "1000"))
    pages = -(-(capacity + capacity // 8) // PAGE_LIMIT) + 1
    ids_seen: set[int] = set()
    lock = threading.Lock()
    local = threading.local()

    def walk(token: str) -> int:
        if not hasattr(local, "http"):
            local.http = bench_client(port)
        cursor, n = None, 0
        for _ in range(pages):
            body = local.http.call("GET", feed_path(cursor), token=token)
            n += 1
            with lock:
                ids_seen.update(int(it["id"]) for it in body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return n

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        requests = sum(pool.map(walk, tokens))
    out = {"users": len(tokens), "requests": requests, "distinct_posts": len(ids_seen),
           **server_memory(server, port)}
    return out


def server_memory(server, port: int) -> dict:
    """The server's resident memory and what its feed caches hold, measured (issue 25)."""
    out: dict[str, Any] = {}
    rss = rss_mib(server)
    if rss is not None:
        out["rss_mib"] = rss
    try:
        h = bench_client(port)
        text = h.get("/metrics").raw.decode()
        h.close()
        for line in text.splitlines():
            if line.startswith(("bsocial_feed_cache_users ", "bsocial_feed_cache_entries ")):
                k, v = line.split()[:2]
                out[k] = float(v)
    except Exception as e:  # noqa: BLE001 - figures only
        out["metrics_error"] = str(e)
    return out


def command_text(scale: bool) -> str:
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    cmd = f"python3 bench/bench.py {argv}".rstrip()
    env = [f"{k}={shlex.quote(os.environ[k])}" for k in ("BENCH_SIZES", "BENCH_PG_SIZES")
           if scale and k in os.environ]
    env += [f"{k}={shlex.quote(os.environ[k])}" for k in FEED_ENV if k in os.environ]
    if env:
        cmd = " ".join(env) + " " + cmd
    if os.environ.get("MAKELEVEL"):
        cmd = f"make {'bench-scale' if scale else 'bench'}: {cmd}"
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "build/release/bsocial"))
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                    help="database of `make bench` (default sqlite)")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--follows", type=int, default=100)
    ap.add_argument("--posts", type=int, default=1000000)
    ap.add_argument("--comments", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--shape-users", type=int, default=20)
    ap.add_argument("--heavy-follows", type=int, default=5000)
    ap.add_argument("--star-share", type=float, default=0.5)
    ap.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each scenario (0: none)")
    ap.add_argument("--shape-connections", type=int, default=4,
                    help="connections of the per-shape feed rows (latency, not queueing)")
    ap.add_argument("--db-pool", type=int, default=4, help="serve --db-pool")
    ap.add_argument("--io-threads", type=int, default=2, help="serve --io-threads")
    ap.add_argument("--no-postgresql", action="store_true",
                    help="make bench: skip the PostgreSQL section (run after SQLite's by default, "
                         "same dataset, every scenario; issue 25)")
    ap.add_argument("--scale", action="store_true",
                    help="make bench-scale: feed latency against dataset size")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "100000,1000000,10000000"),
                    help="--scale: SQLite post counts (env BENCH_SIZES)")
    ap.add_argument("--pg-sizes", default=os.environ.get("BENCH_PG_SIZES", "1000000"),
                    help="--scale: PostgreSQL post counts, every scenario (env BENCH_PG_SIZES; "
                         "empty: none)")
    ap.add_argument("--docs", default=str(REPO / "docs"),
                    help="where benchmarks.{md,json,png} go")
    ap.add_argument("--render", action="store_true", help="only rewrite the docs from the JSON")
    ap.add_argument("--keep-other-scale-runs", action="store_true",
                    help="with --scale: keep the recorded runs of the datasets not run now "
                         "(e.g. --sizes '' --pg-sizes 1000000 re-measures PostgreSQL only)")
    ap.add_argument("--keep", action="store_true", help="keep the run's temp dir")
    ap.add_argument("--no-kafka", action="store_true",
                    help="leave out the post-creation row with the outbox relay and Kafka on "
                         "(the default of `make run`; a 1-broker Kafka from stack/bstack.py)")
    ap.add_argument("--no-nginx", action="store_true",
                    help="leave out the nginx row (the ceiling: a static answer, one worker)")
    ap.add_argument("--only", default="",
                    help="only these scenario groups (comma-separated: feed_throughput, shape, "
                         "mixed, posts; /healthz always runs); results are printed, not "
                         "written to docs/")
    args = ap.parse_args()

    docs = Path(args.docs)
    json_path = docs / "benchmarks.json"
    results = load_results(json_path)
    if args.render:
        render(results, docs)
        return 0
    if not Path(args.bin).exists():
        raise SystemExit(f"{args.bin} not found: cmake --build build/release")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install wrk)")
    ensure_matplotlib()
    CACHE.mkdir(exist_ok=True)
    meta = {"machine": machine(), "commit": git_commit(), "command": command_text(args.scale)}

    if not args.scale:
        record = run_once(args, args.db, dataset_params(args), full=True)
        print_run(record)
        if args.only:  # a partial run: printed, never written over the full figures
            return 1 if record["errors"] > 0 else 0
        results["bench"] = {**meta, "run": record}
        failed = record["errors"] > 0
        # The scale-out configuration people run, measured by default too (issue 25).
        results.pop("bench_postgresql", None)
        if args.db == "sqlite" and not args.no_postgresql:
            log("=== postgresql, the same dataset (--no-postgresql: skip)")
            pg_record = run_once(args, "postgresql", dataset_params(args), full=True)
            print_run(pg_record)
            results["bench_postgresql"] = {**meta, "run": pg_record}
            failed = failed or pg_record["errors"] > 0
    else:
        def sizes(text: str) -> list[int]:
            return [int(x.replace("_", "")) for x in text.replace(" ", "").split(",") if x]

        runs = []
        plan = [("sqlite", n, False) for n in sizes(args.sizes)] + \
               [("postgresql", n, True) for n in sizes(args.pg_sizes)]
        started = dt.datetime.now(dt.timezone.utc)
        for kind, n, full in plan:
            log(f"=== {kind}, {n:,} posts{' (every scenario)' if full else ''}")
            record = run_once(args, kind, dataset_params(args, posts=n, comments=n // 10), full)
            print_run(record)
            runs.append(record)
        if args.keep_other_scale_runs:  # replace only the datasets run now
            ran = {(r["db"], r["params"]["posts"]) for r in runs}
            kept = [r for r in results.get("scale", {}).get("runs", [])
                    if (r["db"], r["params"]["posts"]) not in ran]
            order = {"sqlite": 0, "postgresql": 1}
            runs = sorted(kept + runs, key=lambda r: (order.get(r["db"], 2), r["params"]["posts"]))
        results["scale"] = {**meta, "date": started.isoformat(timespec="seconds"), "runs": runs}
        print()
        print("feed median against dataset size:")
        print(scale_table(results["scale"]).replace("\\*", "*"))
        failed = any(r["errors"] > 0 for r in runs)

    docs.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {json_path}")
    render(results, docs)
    if failed:
        print("\nFAILED: some requests were not 2xx (see the errors column)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
