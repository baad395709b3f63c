#!/usr/bin/env python3
"""A/B of `make bench`'s mixed 60/30/10 scenario on PostgreSQL: binaries alternated, each on
a fresh copy of the seeded database; req/s, p99 and CPU µs per request of `serve` and of the
PostgreSQL backends (the steadier figure on a shared machine). From the repository root:

    python3 bench/mixed_ab.py --bins OLD/bsocial NEW/bsocial --rounds 2 [--perf /tmp/mixed.perf]

Default dataset: 2,000 users, 100,000 posts, 10,000 comments (docs/performance.md).
"""
from __future__ import annotations
import argparse, random, subprocess, sys, tempfile, time, shutil
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.postgres import Postgres
from benchlib.scenarios import login_all, mixed_requests, regular_users, bench_client, MIXED_USERS
from benchlib.seed_cache import dataset_params
from benchlib.server import serve_args, start_server
from benchlib.wrk import run_wrk, write_requests
import importlib.util
spec = importlib.util.spec_from_file_location("fp", Path(__file__).resolve().parent / "feed_profile.py")
fp = importlib.util.module_from_spec(spec); spec.loader.exec_module(fp)

ap = argparse.ArgumentParser()
ap.add_argument("--bins", nargs="+", required=True)
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--seconds", type=int, default=10)
ap.add_argument("--warm", type=int, default=4)
ap.add_argument("--perf", default="")
for k, v in (("posts", 100000), ("comments", 10000), ("follows", 100), ("seed", 42), ("days", 30),
             ("shape_users", 20), ("heavy_follows", 1000), ("users", 2000)):
    ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
ap.add_argument("--star-share", type=float, default=0.5)
args = ap.parse_args()
p = dataset_params(args)
pg = Postgres()
template = pg.ensure_seed(args.bins[0], p)[0]
try:
    for rnd in range(args.rounds):
        for bi, binary in enumerate(args.bins):
            run_dir = Path(tempfile.mkdtemp(prefix="pgm-ab-"))
            run_db = pg.copy(template)
            server = start_server(binary, run_dir, serve_args(), db_url=pg.url(run_db))
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
                c0, g0 = fp.cpu_seconds(server.proc.pid), fp.postgres_cpu_seconds(pg)
                w = run_wrk(port, f, 16, args.seconds)
                c1, g1 = fp.cpu_seconds(server.proc.pid), fp.postgres_cpu_seconds(pg)
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
                    print("   " + " ".join(l for l in mt.splitlines() if l.startswith("bsocial_comment_cache") or l.startswith("bsocial_feed_cache_hits")), flush=True)
                except Exception:
                    pass
            finally:
                server.stop(check=False, timeout=30)
                pg.drop(run_db)
                shutil.rmtree(run_dir, ignore_errors=True)
finally:
    pg.stop()
