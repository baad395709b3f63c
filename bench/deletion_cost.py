#!/usr/bin/env python3
"""What deleting a post costs (issue 27, docs/feed.md "Deletion"), by its author's followers.

For each follower count F: F accounts following one author are written straight into the
database (SQL, no Argon2), the author publishes, the fan-out worker (tables) has written the
post into every follower's timeline, then DELETE /api/v1/posts/{id} is timed (client side,
one connection, keep-alive); POST /api/v1/posts of the same author is timed beside it.
Prints medians and p90 in ms. Numbers only.

    BSOCIAL_TEST_DB=postgresql python3 bench/deletion_cost.py [--bin build/release/bsocial]
    python3 bench/deletion_cost.py --storage database     # SQLite, timelines in the tables
    python3 bench/deletion_cost.py                          # SQLite, timelines in memory

Uses the test kit (tests/pylib): a throw-away PostgreSQL from stack/bstack.py, or a temp
SQLite file.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "pylib"))

from bsocial_testkit.database import backend_from_env  # noqa: E402
from bsocial_testkit.http import Client  # noqa: E402
from bsocial_testkit.pytest_plugin import make_server  # noqa: E402
from bsocial_testkit.waiting import wait_until  # noqa: E402


def add_followers(db, author_id: int, first: int, count: int) -> None:
    a, last = author_id, first + count - 1
    cols = "INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)"
    pick = (f" SELECT 'f' || g || '_{a}', 'f' || g || '_{a}@example.com', 'F', 'L', 'x', 1")
    follows = ("INSERT INTO follows (follower_id, followee_id, created_at) SELECT id, "
               f"{a}, 1 FROM users WHERE username LIKE 'f%\\_{a}' ESCAPE '\\'"
               " ON CONFLICT DO NOTHING;")
    pg = f"{cols}{pick} FROM generate_series({first}, {last}) g; {follows}"
    sqlite = (f"{cols} WITH RECURSIVE s(g) AS (SELECT {first} UNION ALL SELECT g + 1 FROM s"
              f" WHERE g < {last}){pick} FROM s; {follows}")
    db.execute_admin(sqlite, pg)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", help="the bsocial binary (default: the debug build)")
    ap.add_argument("--storage", choices=["memory", "database"], default="memory",
                    help="SQLite only: timelines in memory (default) or in the tables")
    ap.add_argument("--followers", default="0,1000,10000")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    if args.bin:
        os.environ["BSOCIAL_BIN"] = str(Path(args.bin).resolve())
    backend = backend_from_env()
    env = {"BSOCIAL_POSTS_PER_MINUTE": "0"}
    if backend.kind == "sqlite" and args.storage == "database":
        env["BSOCIAL_FEED_CACHE_USERS"] = "0"
    label = backend.kind + ("" if backend.kind != "sqlite" else f"/{args.storage}")
    with tempfile.TemporaryDirectory() as tmp:
        srv = make_server(backend, Path(tmp), env)
        try:
            c = Client(srv)
            print(f"{label}: DELETE /api/v1/posts/{{id}} vs POST /api/v1/posts, ms (median / p90),"
                  f" {args.rounds} rounds")
            have = 0
            author = c.new_user()
            for f in [int(x) for x in args.followers.split(",")]:
                if f > have:
                    add_followers(srv.db, int(author.id), have, f - have)
                    have = f
                posts, deletes = [], []
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    p = c.create_post(author, "to be deleted")
                    posts.append((time.perf_counter() - t0) * 1000)
                    wait_until(lambda: int(srv.db.rows(
                        "SELECT COUNT(*) FROM timeline_fanout")[0][0]) == 0, 60, interval=0.01,
                        what="fan-out done")
                    t0 = time.perf_counter()
                    r = c.delete(f"/api/v1/posts/{p['id']}", token=author.token)
                    deletes.append((time.perf_counter() - t0) * 1000)
                    assert r.status == 204, r
                print(f"  {f:>6} followers: DELETE {statistics.median(deletes):6.2f} /"
                      f" {pct(deletes, 0.9):6.2f}   POST {statistics.median(posts):6.2f} /"
                      f" {pct(posts, 0.9):6.2f}")
        finally:
            srv.stop()
            backend.close()


if __name__ == "__main__":
    main()
