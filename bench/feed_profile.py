#!/usr/bin/env python3
"""What a feed request costs inside `serve`: `perf record -g` of the server while wrk reads
the typical users' first pages (the `make bench` dataset and seed cache), then the share of
each binary (DSO) and the hottest symbols (docs/feed.md).

    python3 bench/feed_profile.py --bin build/release/bsocial [--db postgresql]
        [--logins 50] [--connections 32] [--seconds 8] [--out /tmp/feed.perf.data]

Also prints the server's CPU time per request over the recorded run (utime + stime from
/proc, the steadier figure on a shared machine). Needs perf (linux-perf) and wrk.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib.postgres import Postgres
from benchlib.scenarios import feed_path, login_all, regular_users
from benchlib.seed_cache import copy_sqlite, dataset_params, ensure_sqlite_seed
from benchlib.server import serve_args, start_server
from benchlib.wrk import run_wrk, write_requests


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(pg: Postgres | None) -> float:
    """CPU time of the benchmark cluster's processes (the postmaster's children)."""
    if pg is None:
        return 0.0
    try:
        data = pg.psql("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
        pid = int((Path(data) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, RuntimeError):
        return 0.0
    total = 0.0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    ap.add_argument("--logins", type=int, default=50, help="typical users whose feeds wrk reads")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--out", default="")
    # the dataset of `make bench` (same seed cache key)
    ap.add_argument("--posts", type=int, default=1000000)
    ap.add_argument("--comments", type=int, default=100000)
    ap.add_argument("--follows", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--shape-users", type=int, default=20)
    ap.add_argument("--heavy-follows", type=int, default=5000)
    ap.add_argument("--star-share", type=float, default=0.5)
    ap.add_argument("--users", type=int, default=10000)
    args = ap.parse_args()
    for tool in ("perf", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    p = dataset_params(args)
    run_dir = Path(tempfile.mkdtemp(prefix="bsocial-profile-"))
    pg = run_db = server = None
    try:
        if args.db == "sqlite":
            seed_dir, _ = ensure_sqlite_seed(args.bin, p)
            copy_sqlite(seed_dir, run_dir)
            db_url = None
        else:
            pg = Postgres()
            run_db = pg.copy(pg.ensure_seed(args.bin, p)[0])
            db_url = pg.url(run_db)
        server = start_server(args.bin, run_dir, serve_args(), db_url=db_url)
        names = regular_users(p["users"], args.logins)
        tokens = login_all(server.port, names)
        file = write_requests(run_dir / "feed.txt",
                              [("GET", tokens[n], feed_path(), "") for n in names])
        run_wrk(server.port, file, args.connections, 3)  # warm: every timeline cached
        out = args.out or str(run_dir / "perf.data")
        perf = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", out, "-p",
                                 str(server.proc.pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        cpu0, pg0 = cpu_seconds(server.proc.pid), postgres_cpu_seconds(pg)
        w = run_wrk(server.port, file, args.connections, args.seconds)
        cpu = cpu_seconds(server.proc.pid) - cpu0
        pg_cpu = postgres_cpu_seconds(pg) - pg0
        perf.send_signal(2)
        perf.wait(timeout=60)
        rps = w["requests"] / (w["duration_us"] / 1e6)
        print(f"{args.db}, typical first pages, c{args.connections}: {rps:,.0f} req/s, "
              f"p50 {w['latency_us']['p50'] / 1000:.2f} ms, p99 {w['latency_us']['p99'] / 1000:.2f} ms, "
              f"server CPU {1e6 * cpu / max(w['requests'], 1):.0f} us/request"
              + (f", PostgreSQL CPU {1e6 * pg_cpu / max(w['requests'], 1):.0f} us/request"
                 if pg else ""))
        for sort, n in (("dso", 15), ("dso,sym", 40)):
            r = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", sort,
                                "--stdio", "--percent-limit", "0.5"],
                               capture_output=True, text=True)
            lines = [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")
                     and "%" in ln and not ln.lstrip().startswith(("|", "-", "---"))]
            print(f"\nby {sort}:")
            print("\n".join(lines[:n]))
        if args.out:
            print(f"\nperf data kept in {out}")
    finally:
        if server:
            server.stop(check=False, timeout=30)
        if pg:
            if run_db:
                pg.drop(run_db)
            pg.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
