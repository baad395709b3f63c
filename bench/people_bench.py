#!/usr/bin/env python3
"""Issue 28: who to follow at 10k users / 1M follows / 1M posts (`bsocial seed` defaults),
on SQLite and PostgreSQL (prints figures, asserts only that no plan scans a table).

For each database: `bsocial seed` (10,000 regular users with 100 followees each on a power
law, 1,000,000 posts, the benchmark shapes new_NN / sparse_NN / heavy_NN with 5,000
followees), then `bsocial serve` (its start fills the people search keys), then, per shape,
GET /api/v1/users/me/suggestions?limit=10 --repeat times: p50/p95, and the reasons of the
first answer. Then EXPLAIN of each statement the suggestions run (social/people.cpp): a
range of an index each, never a table scan.

    python3 bench/people_bench.py --bin build/release/bsocial [--dbs sqlite,postgresql]
        [--repeat 200] [--users 10000] [--posts 1000000]
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
PASSWORD = "seeded password"
SHAPES = ["new_00", "sparse_00", "user_000100", "user_000001", "heavy_00"]
# social/people.cpp's statements, with sample values (ids of seeded users)
STATEMENTS = {
    "my followees": "SELECT followee_id FROM follows WHERE follower_id = {me} ORDER BY followee_id LIMIT 5000",
    "their followees": "SELECT followee_id FROM follows WHERE follower_id = {other} ORDER BY followee_id LIMIT 200",
    "recent authors": "SELECT p.user_id FROM posts p ORDER BY p.created_at DESC, p.id DESC LIMIT 1000",
    "followers up to": "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE followee_id = {other} LIMIT 10000) c",
    "do I follow": "SELECT COUNT(*) FROM follows WHERE follower_id = {me} AND followee_id = {other}",
}


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def request(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def measure(args, data_dir: Path, db_url: str | None) -> None:
    cmd = [args.bin, "serve", "--port", "0", "--data-dir", str(data_dir), "--log-level", "warn",
           "--searches-per-minute", "0"]
    if db_url:
        cmd += ["--db", db_url]
    log = open(data_dir.parent / "serve.log", "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    port = 0
    for line in proc.stdout:
        m = LISTEN_RE.search(line)
        if m:
            port = int(m.group(1))
            break
    if not port:
        raise SystemExit("serve did not start: " + (data_dir.parent / "serve.log").read_text())
    print(f"  serve ready in {time.monotonic() - t0:.1f} s (search keys filled at start)")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for who in SHAPES:
            status, body = request(conn, "POST", "/api/v1/sessions", {"login": who, "password": PASSWORD})
            assert status == 200, (who, status, body)
            token = body["token"]
            ms, first = [], None
            for _ in range(args.repeat):
                t = time.perf_counter()
                status, body = request(conn, "GET", "/api/v1/users/me/suggestions?limit=10", token=token)
                ms.append((time.perf_counter() - t) * 1000)
                assert status == 200, (status, body)
                first = first or body["items"]
            reasons = {}
            for s in first:
                reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
            top = ", ".join(f"{s['username']}({s['followed_by_count']})" for s in first[:3])
            print(f"  GET suggestions as {who:<12} p50 {pct(ms, 50):7.2f} ms  p95 {pct(ms, 95):7.2f} ms"
                  f"  {len(first)} items {reasons}  top: {top}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def seed(args, data: Path, db_url: str | None) -> None:
    cmd = [args.bin, "seed", "--data-dir", str(data), "--quiet", "--users", str(args.users),
           "--posts", str(args.posts), "--comments", "1000"]
    if db_url:
        cmd += ["--db", db_url]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    print(f"  seeded in {time.monotonic() - t0:.1f} s")


def run_sqlite(args, work: Path) -> None:
    data = work / "sqlite" / "data"
    data.mkdir(parents=True)
    print(f"\n== SQLite: {args.users:,} users, {args.posts:,} posts")
    seed(args, data, None)
    con = sqlite3.connect(data / "bsocial.db")
    me = con.execute("SELECT id FROM users WHERE username = 'heavy_00'").fetchone()[0]
    other = con.execute("SELECT id FROM users WHERE username = 'user_000001'").fetchone()[0]
    print(f"  follows: {con.execute('SELECT COUNT(*) FROM follows').fetchone()[0]:,}")
    for name, sql in STATEMENTS.items():
        plan = "; ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + sql.format(me=me, other=other)))
        assert not re.search(r"\bSCAN (p|posts|follows)\b(?! USING)", plan), plan
        print(f"  plan {name:<16} {plan}")
    con.close()
    measure(args, data, None)


def run_postgresql(args, work: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "pylib"))
    from bsocial_testkit.stack import Stack

    stack = Stack(work / "stack")
    try:
        stack.start_postgres(port=None)
        url = stack.create_database("bsocial_people_bench")
        data = work / "pg" / "data"
        data.mkdir(parents=True)
        print(f"\n== PostgreSQL: {args.users:,} users, {args.posts:,} posts")
        seed(args, data, url)

        def psql(sql: str) -> str:
            return subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                  check=True, capture_output=True, text=True).stdout

        psql("VACUUM ANALYZE")
        me = psql("SELECT id FROM users WHERE username = 'heavy_00'").strip()
        other = psql("SELECT id FROM users WHERE username = 'user_000001'").strip()
        print(f"  follows: {int(psql('SELECT COUNT(*) FROM follows')):,}")
        for name, sql in STATEMENTS.items():
            out = psql("EXPLAIN (ANALYZE, COSTS OFF) " + sql.format(me=me, other=other))
            assert "Seq Scan" not in out, out
            plan = "; ".join(ln.strip() for ln in out.splitlines()
                             if "Scan" in ln or "Cond" in ln or "Execution" in ln)
            print(f"  plan {name:<16} {plan}")
        measure(args, data, url)
    finally:
        stack.stop_all()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--posts", type=int, default=1_000_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsocial-people-bench-"))
    for db in args.dbs.split(","):
        {"sqlite": run_sqlite, "postgresql": run_postgresql}[db.strip()](args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
