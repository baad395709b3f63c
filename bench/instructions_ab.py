#!/usr/bin/env python3
"""`serve`'s instructions per request, counted by valgrind's callgrind, for the requests of
`make bench`'s mixed 60/30/10 workload: an A/B of two builds that the machine's load does not
move (req/s on this 2-core machine moves by 10-20% from one minute to the next). From the
repository root (`make bench-instructions OLD=path/to/old/bsocial`):

    python3 bench/instructions_ab.py --bins OLD/bsocial NEW/bsocial [--rounds 2] [--passes 5]
        [--db postgresql]      serve's instructions only: PostgreSQL's backends are not counted

Each build runs on a fresh copy of the seeded network (make bench's: 1M posts, 10,000 users).
A native serve logs the 100 mixed users in and draws the workload (the same requests for every
build); then serve runs under callgrind: one warm pass over the workload (timelines, posts and
sessions cached, as in make bench after its warm-up), then per kind of request the counters are
zeroed, the kind's requests replayed PASSES times, one at a time, and the counters dumped.
Counted: every thread of serve, user space only (the kernel's share of a request is not in it),
including the background threads' work in the window (timers, the WAL checkpointer).
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.postgres import Postgres
from benchlib.scenarios import MIXED_USERS, bench_client, login_all, mixed_requests, regular_users
from benchlib.seed_cache import copy_sqlite, dataset_params, ensure_sqlite_seed
from benchlib.server import serve_args, start_server

KINDS = (("feed first page", lambda m, t: m == "GET" and t.startswith("/api/v1/feed")),
         ("comment list", lambda m, t: m == "GET" and "/comments" in t),
         ("post", lambda m, t: m == "POST"),
         ("mixed 60/30/10", lambda m, t: True))


def callgrind_totals(dump: Path) -> dict[str, int]:
    """The dump's totals by event: Ir; with --simulate also I1mr (instruction cache misses),
    D1mr + D1mw (data), Bcm + Bim (mispredicted branches), ..."""
    events: list[str] = []
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            return dict(zip(events, map(int, line.split()[1:])))
    raise SystemExit(f"no totals in {dump}")


def callgrind(pid: int, command: str) -> None:
    subprocess.run(["callgrind_control", command, str(pid)], check=True, capture_output=True,
                   timeout=120)


def measure(binary: str, template, pg, passes: int) -> dict[str, dict[str, float]]:
    """Per kind of request, callgrind's events (Ir, ...) per request, for one build on a fresh
    copy of the network."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    run_db = pg.copy(template) if pg else None
    if not pg:
        copy_sqlite(template, run_dir)
    db_url = pg.url(run_db) if pg else None
    try:
        server = start_server(binary, run_dir, serve_args(), db_url=db_url)
        try:
            regular = regular_users(args.users, MIXED_USERS)
            tokens = login_all(server.port, regular)
            h = bench_client(server.port)
            workload = mixed_requests(h, regular, tokens, random.Random(args.seed))
            h.close()
        finally:
            server.stop(check=False, timeout=30)
        # The same data dir and JWT secret: the tokens stay valid under callgrind.
        out = run_dir / "callgrind.out"
        wrapper = run_dir / "callgrind-bsocial.sh"
        wrapper.write_text("#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file="
                           f"{out}.%p {SIMULATE}{binary} \"$@\"\n")
        wrapper.chmod(0o755)
        server.binary, server.start_timeout, server.stop_timeout = wrapper, 900, 300
        server.start()
        h = bench_client(server.port)
        try:
            def replay(requests) -> None:
                for method, token, target, body in requests:
                    r = h.request(method, target, raw=body.encode() if body else None, token=token)
                    if r.status >= 300:
                        raise SystemExit(f"{method} {target} -> {r.status} {r.raw[:200]!r}")

            replay(workload)  # warm: as make bench's warm-up leaves the caches
            per_kind = {}
            for name, wanted in KINDS:
                requests = [r for r in workload if wanted(r[0], r[2])]
                callgrind(server.proc.pid, "-z")
                for _ in range(passes):
                    replay(requests)
                callgrind(server.proc.pid, "-d")
                dump = max(run_dir.glob("callgrind.out.*"), key=lambda f: f.stat().st_mtime_ns)
                n = passes * len(requests)
                per_kind[name] = {e: v / n for e, v in callgrind_totals(dump).items()}
                dump.unlink()
            return per_kind
        finally:
            h.close()
            server.stop(check=False, timeout=300)
    finally:
        if run_db:
            pg.drop(run_db)
        shutil.rmtree(run_dir, ignore_errors=True)


ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--bins", nargs="+", required=True)
ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
ap.add_argument("--rounds", type=int, default=2, help="each build this many times, alternated")
ap.add_argument("--passes", type=int, default=5, help="replays of each kind's requests")
ap.add_argument("--simulate", action="store_true",
                help="also callgrind's cache and branch simulation: instruction-cache misses, "
                     "data-cache misses and mispredicted branches per request (what the code's "
                     "layout can change when the instructions do not); about 2x slower")
for k, v in (("users", 10000), ("follows", 100), ("posts", 1000000), ("comments", 100000),
             ("seed", 42), ("days", 30), ("shape_users", 20), ("heavy_follows", 5000)):
    ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
ap.add_argument("--star-share", type=float, default=0.5)
args = ap.parse_args()

if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
    raise SystemExit("valgrind is not installed (make deps, or apt-get install valgrind)")
SIMULATE = "--cache-sim=yes --branch-sim=yes " if args.simulate else ""
# The figures printed: callgrind event(s) summed into each.
FIGURES = {"instructions": ("Ir",)}
if args.simulate:
    FIGURES.update({"I-cache misses": ("I1mr",), "D-cache misses": ("D1mr", "D1mw"),
                    "mispredicted branches": ("Bcm", "Bim")})


def figure(r: dict[str, float], name: str) -> float:
    return sum(r.get(e, 0.0) for e in FIGURES[name])


p = dataset_params(args)
pg = Postgres() if args.db == "postgresql" else None
try:
    template = pg.ensure_seed(args.bins[0], p)[0] if pg else ensure_sqlite_seed(args.bins[0], p)[0]
    results: dict[str, list[dict[str, float]]] = {b: [] for b in args.bins}
    for rnd in range(args.rounds):
        order = args.bins if rnd % 2 == 0 else list(reversed(args.bins))
        for binary in order:
            t0 = time.monotonic()
            r = measure(binary, template, pg, args.passes)
            results[binary].append(r)
            print(f"round {rnd} {binary} ({time.monotonic() - t0:.0f} s): " +
                  ", ".join(f"{k} {figure(v, 'instructions'):,.0f}" for k, v in r.items()) +
                  " instructions/request", flush=True)
    for fig in FIGURES:
        print(f"\n{args.db}, serve's {fig} per request (callgrind; mean of {args.rounds} rounds)")
        print(f"{'request':<18}" + "".join(f"{b[-28:]:>30}" for b in args.bins) +
              ("    change" if len(args.bins) == 2 else ""))
        for name, _ in KINDS:
            means = [sum(figure(r[name], fig) for r in results[b]) / len(results[b])
                     for b in args.bins]
            change = (f"  {100 * (means[1] / means[0] - 1):+7.2f}%"
                      if len(means) == 2 and means[0] else "")
            print(f"{name:<18}" + "".join(f"{m:>30,.0f}" for m in means) + change)
finally:
    if pg:
        pg.stop()
