#!/usr/bin/env python3
"""A/B of `make bench`'s mixed 60/30/10 scenario: binaries alternated, each on a fresh copy of
the seeded database; req/s, p99 and CPU µs per request of `serve` and of the PostgreSQL
backends (the steadier figure on a shared machine). From the repository root:

    python3 bench/mixed_ab.py --bins OLD/bsocial NEW/bsocial --rounds 2 [--perf /tmp/mixed.perf]
        [--db sqlite]          the SQLite default instead (serve's CPU is the whole cost)
        [--breakdown]          PostgreSQL CPU per backend (by statement), the fan-out's per post
    python3 bench/mixed_ab.py --bins OLD/bsocial NEW/bsocial --drain 12000
                               the fan-out alone: N queued posts drained, time and CPU per post

Default dataset: 2,000 users, 100,000 posts, 10,000 comments (docs/performance.md).
"""
from __future__ import annotations
import argparse, random, subprocess, sys, tempfile, time, shutil
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.postgres import Postgres
from benchlib.scenarios import login_all, mixed_requests, regular_users, bench_client, MIXED_USERS
from benchlib.seed_cache import copy_sqlite, dataset_params, ensure_sqlite_seed
from benchlib.server import serve_args, start_server
from benchlib.wrk import run_wrk, write_requests
import importlib.util, os, threading
from collections import defaultdict
spec = importlib.util.spec_from_file_location("fp", Path(__file__).resolve().parent / "feed_profile.py")
fp = importlib.util.module_from_spec(spec); spec.loader.exec_module(fp)

ap = argparse.ArgumentParser()
ap.add_argument("--bins", nargs="+", required=True)
ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--seconds", type=int, default=10)
ap.add_argument("--warm", type=int, default=4)
ap.add_argument("--perf", default="")
ap.add_argument("--drain", type=int, default=0, metavar="N",
                help="instead of the mixed run: N posts queued by SQL (regular authors) before "
                     "serve starts, then the time and the CPU (serve, PostgreSQL) per post "
                     "until the fan-out worker has drained them: the fan-out's cost alone")
ap.add_argument("--routes", action="store_true",
                help="also print, per route, the share of the timed requests over 5, 10, 25, 50 "
                     "and 100 ms (serve's own latency histogram) and what PostgreSQL's active "
                     "backends waited on (pg_stat_activity sampled every 100 ms): where the p99 is")
ap.add_argument("--breakdown", action="store_true",
                help="also print the CPU per request of each PostgreSQL backend (by the statement "
                     "it ran last: the fan-out's, the bus's, ...) and the fan-out's per post")
for k, v in (("posts", 100000), ("comments", 10000), ("follows", 100), ("seed", 42), ("days", 30),
             ("shape_users", 20), ("heavy_follows", 1000), ("users", 2000)):
    ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
ap.add_argument("--star-share", type=float, default=0.5)
args = ap.parse_args()
TICK = os.sysconf("SC_CLK_TCK")


def _ticks(stat: Path) -> tuple[str, int, float]:
    head, rest = stat.read_text().rsplit(")", 1)
    f = rest.split()
    return head.split("(", 1)[1], int(f[1]), (int(f[11]) + int(f[12])) / TICK


def titled_cpu(pg, db: str) -> tuple[float, float, float]:
    """CPU seconds of the cluster's processes now: the backends connected to `db` (the
    process title names it), autovacuum's, and the rest (walwriter, checkpointer, ...)."""
    data = pg.psql("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
    master = int((Path(data) / "postmaster.pid").read_text().split()[0])
    mine = vacuum = rest = 0.0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                _, ppid, cpu = _ticks(d / "stat")
                title = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if ppid != master:
                continue
            if f" {db} " in title:
                mine += cpu
            elif "autovacuum" in title:
                vacuum += cpu
            else:
                rest += cpu
    return mine, vacuum, rest


def backend_cpu(pg) -> dict[int, float]:
    data = pg.psql("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
    master = int((Path(data) / "postmaster.pid").read_text().split()[0])
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                _, ppid, cpu = _ticks(d / "stat")
            except OSError:
                continue
            if ppid == master:
                out[int(d.name)] = cpu
    return out


def backend_kinds(pg, db: str) -> dict[int, str]:
    rows = pg.psql("SELECT pid, COALESCE(backend_type, '') || ': ' || "
                   "regexp_replace(left(query, 70), '\\s+', ' ', 'g') FROM pg_stat_activity", db)
    out = {}
    for line in rows.splitlines():
        pid, _, what = line.partition("|")
        if pid.strip().isdigit():
            out[int(pid)] = what.strip()
    return out


FANOUT_STATEMENTS = ("WITH q AS (SELECT * FROM unnest", "DELETE FROM timeline_fanout",
                     "SELECT COUNT(pg_advisory_xact_lock", "WITH edge AS")


def fanout_posts(port: int) -> float:
    mt = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True).stdout
    for line in mt.splitlines():
        if line.startswith("bsocial_timeline_fanout_posts_total "):
            return float(line.split()[1])
    return 0.0


def route_buckets(port: int) -> dict[str, dict[str, float]]:
    """serve's bsocial_http_request_duration_seconds buckets, by route."""
    mt = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/metrics"], capture_output=True,
                        text=True).stdout
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for line in mt.splitlines():
        if line.startswith("bsocial_http_request_duration_seconds_bucket{"):
            labels, _, value = line.rpartition(" ")
            route = labels.split('route="', 1)[1].split('"', 1)[0]
            le = labels.split('le="', 1)[1].split('"', 1)[0]
            out[route][le] = float(value)
    return out


def print_routes(r0, r1) -> None:
    for route, b1 in sorted(r1.items()):
        b0 = r0.get(route, {})
        d = {le: v - b0.get(le, 0.0) for le, v in b1.items()}
        n = d.get("+Inf", 0.0)
        if n <= 0:
            continue
        over = "  ".join(f">{float(le) * 1000:g}ms {100 * (n - d[le]) / n:5.2f}%"
                         for le in ("0.005", "0.01", "0.025", "0.05", "0.1") if le in d)
        print(f"   route {route:<40} {n:8.0f}  {over}", flush=True)


class WaitSampler(threading.Thread):
    """pg_stat_activity's active backends of `db`, sampled every 100 ms: what they wait on."""
    def __init__(self, db: str):
        super().__init__(daemon=True)
        self.db, self.stop, self.seen, self.samples = db, threading.Event(), defaultdict(int), 0

    def run(self) -> None:
        sql = ("SELECT COALESCE(wait_event_type, 'CPU') || ':' || COALESCE(wait_event, '-') || ' | ' || "
               "regexp_replace(left(query, 50), '\\s+', ' ', 'g') FROM pg_stat_activity "
               f"WHERE state = 'active' AND datname = '{self.db}' AND pid <> pg_backend_pid()")
        while not self.stop.is_set():
            for line in pg.psql(sql, self.db).splitlines():
                self.seen[line] += 1
            self.samples += 1
            self.stop.wait(0.1)

    def report(self) -> None:
        print(f"   waits over {self.samples} samples (active backends, count):", flush=True)
        for what, k in sorted(self.seen.items(), key=lambda kv: -kv[1])[:15]:
            print(f"   {k:6d}  {what}", flush=True)


def print_breakdown(n, b0, b1, kinds, fanned, serve_us):
    """The fan-out's backend CPU per post it fanned out in the window, and the CPU per
    request it would cost in a steady state (the worker keeping pace: 0.1 post per
    request), next to everything else's: on a loaded machine the worker falls behind and
    CPU per request alone would flatter the build whose worker did less."""
    by: dict[str, float] = defaultdict(float)
    for pid, cpu in b1.items():
        by[kinds.get(pid, "(other)")] += cpu - b0.get(pid, 0.0)
    for what, v in sorted(by.items(), key=lambda kv: -kv[1]):
        if v > 0:
            print(f"   pg us/req {1e6 * v / n:6.0f}  {what}", flush=True)
    fan = sum(v for what, v in by.items() if any(k in what for k in FANOUT_STATEMENTS))
    rest = sum(by.values()) - fan
    per_post = 1e6 * fan / fanned if fanned else float("nan")
    print(f"   fan-out: {fanned:.0f} posts in the window, backend {per_post:.0f} us/post;"
          f" steady-state estimate: serve {serve_us:.0f} + pg other {1e6 * rest / n:.0f}"
          f" + fan-out {0.1 * per_post:.0f} = {serve_us + 1e6 * rest / n + 0.1 * per_post:.0f} us/req",
          flush=True)
p = dataset_params(args)
SQLITE = args.db == "sqlite"
if SQLITE and (args.drain or args.breakdown or args.routes):
    raise SystemExit("--drain, --breakdown and --routes are PostgreSQL's")
pg = None if SQLITE else Postgres()
template = ensure_sqlite_seed(args.bins[0], p)[0] if SQLITE else pg.ensure_seed(args.bins[0], p)[0]
def queue_posts(db: str, n: int) -> None:
    """N posts, each queued for the fan-out, by regular users (ids spread over them), newer
    than every seeded post; as a burst of POSTs leaves them."""
    pg.psql(f"""
        WITH t AS (SELECT MAX(created_at) AS at FROM posts),
        authors AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users
                    WHERE username LIKE 'user%'),
        a AS (SELECT i, (SELECT id FROM authors WHERE k = (i * 7919) % (SELECT COUNT(*) FROM authors)) AS author
              FROM generate_series(1, {n}) i),
        p AS (INSERT INTO posts (user_id, content, created_at, comment_count)
              SELECT a.author, 'drained post ' || a.i, t.at + a.i, 0 FROM a, t
              RETURNING id, user_id, created_at)
        INSERT INTO timeline_fanout (post_id, author_id, created_at)
        SELECT id, user_id, created_at FROM p""", db)


def drain_round(binary: str) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="pgm-drain-"))
    run_db = pg.copy(template)
    try:
        queue_posts(run_db, args.drain)
        m0, v0, r0 = titled_cpu(pg, run_db)
        t0 = time.monotonic()
        server = start_server(binary, run_dir, serve_args(), db_url=pg.url(run_db))
        try:
            while int(pg.psql("SELECT COUNT(*) FROM timeline_fanout", run_db)) > 0:
                time.sleep(0.05)
            t1 = time.monotonic()
            c1 = fp.cpu_seconds(server.proc.pid)
            m1, v1, r1 = titled_cpu(pg, run_db)
            per = lambda a, b: 1e6 * (a - b) / args.drain
            print(f"drain {binary}: {args.drain} posts in {t1 - t0:.2f} s = {args.drain / (t1 - t0):,.0f} posts/s;"
                  f" per post: serve {1e6 * c1 / args.drain:.0f} us (its start included),"
                  f" PostgreSQL backends of the run {per(m1, m0):.0f} us (autovacuum {per(v1, v0):.0f},"
                  f" other processes {per(r1, r0):.0f}: those alive at the end);"
                  f" load {open('/proc/loadavg').read().split()[0]}", flush=True)
        finally:
            server.stop(check=False, timeout=30)
    finally:
        pg.drop(run_db)
        shutil.rmtree(run_dir, ignore_errors=True)


try:
    for rnd in range(args.rounds if args.drain else 0):
        for binary in args.bins:
            drain_round(binary)
    for rnd in range(0 if args.drain else args.rounds):
        for bi, binary in enumerate(args.bins):
            run_dir = Path(tempfile.mkdtemp(prefix="pgm-ab-"))
            run_db = None if SQLITE else pg.copy(template)
            if SQLITE:
                copy_sqlite(template, run_dir)
            server = start_server(binary, run_dir, serve_args(),
                                  db_url=pg.url(run_db) if run_db else None)
            try:
                port = server.port
                regular = regular_users(p["users"], MIXED_USERS)
                tokens = login_all(port, regular)
                h = bench_client(port)
                mixed = mixed_requests(h, regular, tokens, random.Random(p["seed"]))
                h.close()
                f = write_requests(run_dir / "mixed.txt", mixed)
                run_wrk(port, f, 16, args.warm)
                perf = None
                if args.perf and rnd == args.rounds - 1:
                    out = f"{args.perf}.{bi}"
                    perf = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", out, "-p", str(server.proc.pid)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(0.5)
                if args.breakdown:
                    b0, f0 = backend_cpu(pg), fanout_posts(port)
                if args.routes:
                    r0, sampler = route_buckets(port), WaitSampler(run_db)
                    sampler.start()
                pg_cpu = (lambda: 0.0) if SQLITE else (lambda: fp.postgres_cpu_seconds(pg))
                c0, g0 = fp.cpu_seconds(server.proc.pid), pg_cpu()
                w = run_wrk(port, f, 16, args.seconds)
                c1, g1 = fp.cpu_seconds(server.proc.pid), pg_cpu()
                if args.routes:
                    sampler.stop.set()
                    sampler.join()
                    print_routes(r0, route_buckets(port))
                    sampler.report()
                if args.breakdown:
                    b1, f1 = backend_cpu(pg), fanout_posts(port)
                    kinds = backend_kinds(pg, run_db)
                if perf:
                    perf.send_signal(2); perf.wait(timeout=60)
                n = max(w["requests"], 1)
                rps = w["requests"] / (w["duration_us"] / 1e6)
                print(f"round {rnd} {binary}: {rps:,.0f} req/s p50 {w['latency_us']['p50']/1000:.2f} ms "
                      f"p99 {w['latency_us']['p99']/1000:.2f} ms serve {1e6*(c1-c0)/n:.0f} us/req "
                      f"pg {1e6*(g1-g0)/n:.0f} us/req total {1e6*(c1-c0+g1-g0)/n:.0f} us/req "
                      f"errors {w.get('errors')} load {open('/proc/loadavg').read().split()[0]}", flush=True)
                try:
                    mt = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True).stdout
                    print("   " + " ".join(l for l in mt.splitlines() if l.startswith("bsocial_comment_cache") or l.startswith("bsocial_feed_cache_hits") or l.startswith("bsocial_timeline_fanout_posts") or l.startswith("bsocial_timeline_fanout_backlog") or l.startswith("bsocial_timeline_fanout_batches")), flush=True)
                except Exception:
                    pass
                if args.breakdown:
                    print_breakdown(n, b0, b1, kinds, f1 - f0, 1e6 * (c1 - c0) / n)
            finally:
                server.stop(check=False, timeout=30)
                if run_db:
                    pg.drop(run_db)
                shutil.rmtree(run_dir, ignore_errors=True)
finally:
    if pg:
        pg.stop()
