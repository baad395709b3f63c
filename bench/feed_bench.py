#!/usr/bin/env python3
"""Feed benchmark: seeds a dataset through the HTTP API, then runs wrk on GET /api/v1/feed.

Prints the dataset size, then wrk's requests/s and latency percentiles for the first page
and for a deep page (keyset pagination: a deep page should cost the same as the first).

    python3 bench/feed_bench.py --bin build/release/bsocial [--users 40] [--posts 20000]
                                [--db postgresql://...] [--duration 15] [--connections 32]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import re
import subprocess
import sys
import tempfile
import time

from benchlib.server import start_server
from bsocial_testkit.http import Client

def request(port, method, path, body=None, token=None):
    return Client(port, checks=False).call(method, path, body, token)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--follows", type=int, default=20, help="followees per user")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--db", default="")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()

    data_dir = tempfile.mkdtemp(prefix="bsocial-bench-")
    server = start_server(args.bin, data_dir, [
        "--log-level", "warn",
        "--registrations-per-minute", "0"], db_url=args.db or None)  # all from one address
    try:
        port = server.port

        t0 = time.time()
        password = "bench passphrase 42"
        tokens = []

        def make_user(i):
            name = f"bench_{i:04d}"
            request(port, "POST", "/api/v1/users", {
                "first_name": "Bench", "last_name": str(i), "username": name,
                "email": f"{name}@example.com", "password": password,
                "password_confirmation": password})
            return request(port, "POST", "/api/v1/sessions", {"login": name, "password": password})["token"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(make_user, range(args.users)))
        for i, tok in enumerate(tokens):
            for k in range(1, args.follows + 1):
                request(port, "PUT", f"/api/v1/users/me/following/bench_{(i + k) % args.users:04d}", token=tok)

        def make_post(n):
            request(port, "POST", "/api/v1/posts", {"content": f"post number {n}"}, token=tokens[n % args.users])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(make_post, range(args.posts)))
        seed_s = time.time() - t0
        print(f"dataset: users={args.users} follows_per_user={args.follows} posts={args.posts} "
              f"db={'postgresql' if args.db else 'sqlite'} seeded_in={seed_s:.1f}s")

        # A cursor 50 pages deep (limit 20): the same cost as page 1 is the point of keyset.
        cursor = None
        for _ in range(50):
            page = request(port, "GET", "/api/v1/feed?limit=20" + (f"&cursor={cursor}" if cursor else ""), token=tokens[0])
            cursor = page["next_cursor"]
        targets = [("first page", "/api/v1/feed?limit=20"),
                   ("page 51", f"/api/v1/feed?limit=20&cursor={cursor}")]
        for label, path in targets:
            out = subprocess.run(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
                 "-H", f"Authorization: Bearer {tokens[0]}", f"http://127.0.0.1:{port}{path}"],
                capture_output=True, text=True, check=True).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
            pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"feed {label}: requests/s={rps} p50={pct.get('50')} p90={pct.get('90')} "
                  f"p99={pct.get('99')} non_2xx={non2xx.group(1) if non2xx else 0} "
                  f"connections={args.connections} duration={args.duration}s")
    finally:
        server.stop(check=False, timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
