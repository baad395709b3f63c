#!/usr/bin/env python3
"""The feed designs of docs/feed.md, measured side by side on one seeded SQLite network.

Runs each design's SQL for a page of 20 (plus one) for every user shape, first page and
page 50, straight on the database (Python's sqlite3 keeps statements prepared, as the
server's statement cache does), and prints the median time per page in microseconds:

  walk      fan-out on read, the old feed: posts_by_time newest first, keep mine and my
            followees' rows (the query bSocial used before home timelines)
  merge     fan-out on read, bounded: each followee's newest 21 posts from
            posts_by_user_time, merged
  planner   merge for up to 256 followees, else walk
  timeline  fan-out on write: the home_timeline query the server runs now (page 50 of a
            timeline capped at 1,000 entries needs one post from below the horizon: the
            planner's answer is added for it)

Page 50 is reached by the reference ordering (the 980th post of the user's feed), so every
design answers the same question.

    python3 bench/feed_designs.py .bench-cache/sqlite-<hash>/bsocial.db [--repeat 15]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import time

BIG = 2**62
COLS = ("p.id, p.user_id, u.username, u.first_name, u.last_name, p.content, p.created_at,"
        " p.comment_count")

WALK = (f"SELECT {COLS} FROM posts p JOIN users u ON u.id = p.user_id"
        " WHERE (+p.user_id = :me OR +p.user_id IN (SELECT f.followee_id FROM follows f"
        " WHERE f.follower_id = :me)) AND (p.created_at, p.id) < (:at, :id)"
        " ORDER BY p.created_at DESC, p.id DESC LIMIT :n")
MERGE = (f"SELECT {COLS} FROM (SELECT id, created_at FROM ("
         " SELECT q.id, q.created_at FROM follows f JOIN posts q ON q.id IN ("
         "  SELECT r.id FROM posts r WHERE r.user_id = f.followee_id"
         "  AND (r.created_at, r.id) < (:at, :id) ORDER BY r.created_at DESC, r.id DESC LIMIT :n)"
         " WHERE f.follower_id = :me"
         " UNION ALL SELECT id, created_at FROM (SELECT r.id, r.created_at FROM posts r"
         "  WHERE r.user_id = :me AND (r.created_at, r.id) < (:at, :id)"
         "  ORDER BY r.created_at DESC, r.id DESC LIMIT :n) a)"
         " c ORDER BY created_at DESC, id DESC LIMIT :n) s"
         " JOIN posts p ON p.id = s.id JOIN users u ON u.id = p.user_id"
         " ORDER BY s.created_at DESC, s.id DESC")
HORIZON = ("(COALESCE((SELECT horizon_created_at FROM home_timeline_state WHERE user_id = :me),"
           " -1), COALESCE((SELECT horizon_post_id FROM home_timeline_state"
           " WHERE user_id = :me), -1))")
TIMELINE = (f"SELECT {COLS} FROM (SELECT id, created_at FROM ("
            " SELECT id, created_at FROM (SELECT t.post_id AS id, t.created_at"
            "  FROM home_timeline t WHERE t.user_id = :me AND (t.created_at, t.post_id) < (:at, :id)"
            f"  AND (t.created_at, t.post_id) > {HORIZON}"
            "  ORDER BY t.created_at DESC, t.post_id DESC LIMIT :n) a0"
            " UNION SELECT r.id, r.created_at FROM celebrities c JOIN posts r ON r.id IN ("
            "  SELECT r2.id FROM posts r2 WHERE r2.user_id = c.user_id"
            f"  AND (r2.created_at, r2.id) < (:at, :id) AND (r2.created_at, r2.id) > {HORIZON}"
            "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT :n)"
            " WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :me"
            "  AND f.followee_id = c.user_id))"
            " c ORDER BY created_at DESC, id DESC LIMIT :n) s"
            " JOIN posts p ON p.id = s.id JOIN users u ON u.id = p.user_id"
            " ORDER BY s.created_at DESC, s.id DESC")
SHAPES = ["user_000000", "sparse_00", "new_00", "heavy_00", "fan_00"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--walk-limit-ms", type=float, default=3000,
                    help="skip further runs of a design once one page took this long")
    args = ap.parse_args()
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    con.execute("PRAGMA cache_size = -65536")

    def run(sql: str, me: int, at: int, pid: int, n: int = 21) -> list:
        return con.execute(sql, {"me": me, "at": at, "id": pid, "n": n}).fetchall()

    def timed(fn) -> tuple[float, list]:
        times, rows = [], []
        for i in range(args.repeat):
            t = time.perf_counter()
            rows = fn()
            times.append((time.perf_counter() - t) * 1e6)
            if times[-1] > args.walk_limit_ms * 1000:
                break
        return statistics.median(times), rows

    def merge_or_walk(me: int, at: int, pid: int, n: int = 21) -> list:
        followees = con.execute("SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE follower_id = ?"
                                " LIMIT 257)", (me,)).fetchone()[0]
        return run(MERGE if followees <= 256 else WALK, me, at, pid, n)

    def timeline(me: int, at: int, pid: int) -> list:
        rows = run(TIMELINE, me, at, pid)
        if len(rows) < 21:
            h = con.execute("SELECT horizon_created_at, horizon_post_id FROM home_timeline_state"
                            " WHERE user_id = ?", (me,)).fetchone()
            if h:
                below = (rows[-1][6], rows[-1][0]) if rows else (at, pid)
                if (h[0], h[1]) < below:
                    below = (h[0], h[1] + 1)
                rows += merge_or_walk(me, below[0], below[1], 21 - len(rows))
        return rows

    print(f"{'shape':12} {'page':>4} {'walk us':>10} {'merge us':>10} {'planner us':>11}"
          f" {'timeline us':>12}")
    for name in SHAPES:
        me = con.execute("SELECT id FROM users WHERE username = ?", (name,)).fetchone()[0]
        ref = con.execute(
            "SELECT created_at, id FROM posts WHERE user_id = :me OR user_id IN (SELECT"
            " followee_id FROM follows WHERE follower_id = :me)"
            " ORDER BY created_at DESC, id DESC LIMIT 980", {"me": me}).fetchall()
        for page, (at, pid) in [(1, (BIG, BIG)), (50, ref[-1] if len(ref) == 980 else (BIG, BIG))]:
            cells = []
            answers = []
            for fn in (lambda: run(WALK, me, at, pid), lambda: run(MERGE, me, at, pid),
                       lambda: merge_or_walk(me, at, pid), lambda: timeline(me, at, pid)):
                us, rows = timed(fn)
                cells.append(us)
                answers.append([r[0] for r in rows])
            same = all(a == answers[0] for a in answers)
            print(f"{name:12} {page:>4} {cells[0]:>10.0f} {cells[1]:>10.0f} {cells[2]:>11.0f}"
                  f" {cells[3]:>12.0f}" + ("" if same else "   (answers differ!)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
