"""`bsocial seed` builds the same database the API would have built (docs/feed.md).

The generator fills the home timelines itself, in memory, for speed. This checks the
result against the rule the API keeps on every write: above its horizon, a user's
timeline holds exactly their own posts and those of the people they follow who are not
celebrities, and
never more than the capacity; then every shape's feed, page by page, against the plain
reference query; then that seeded accounts log in and write like any other.
"""

from __future__ import annotations

import subprocess

from bsocial_testkit.api import q, ts_to_ms
from bsocial_testkit.http import Client
from bsocial_testkit.paths import binary_path

CAPACITY = 30
CELEBRITY = 40

MISSING_SQL = """
SELECT COUNT(*) FROM (
  SELECT f.follower_id, p.id FROM (
    SELECT follower_id, followee_id FROM follows
    WHERE followee_id NOT IN (SELECT user_id FROM celebrities)
    UNION SELECT id, id FROM users) f
  JOIN posts p ON p.user_id = f.followee_id
  LEFT JOIN home_timeline_state s ON s.user_id = f.follower_id
  WHERE (s.user_id IS NULL OR p.created_at > s.horizon_created_at
         OR (p.created_at = s.horizon_created_at AND p.id > s.horizon_post_id))
  EXCEPT SELECT user_id, post_id FROM home_timeline) x
"""
EXTRA_SQL = """
SELECT COUNT(*) FROM (
  SELECT user_id, post_id FROM home_timeline
  EXCEPT
  SELECT f.follower_id, p.id FROM (
    SELECT follower_id, followee_id FROM follows UNION SELECT id, id FROM users) f
  JOIN posts p ON p.user_id = f.followee_id
  LEFT JOIN home_timeline_state s ON s.user_id = f.follower_id
  WHERE s.user_id IS NULL OR p.created_at > s.horizon_created_at
     OR (p.created_at = s.horizon_created_at AND p.id > s.horizon_post_id)) x
"""
REFERENCE_SQL = (
    "SELECT id, created_at FROM posts WHERE user_id = {me} OR user_id IN "
    "(SELECT followee_id FROM follows WHERE follower_id = {me}) "
    "ORDER BY created_at DESC, id DESC"
)


def count(db, sql: str) -> int:
    return int(db.rows(" ".join(sql.split()))[0][0])


def test_seeded_network_is_what_the_api_would_serve(start_server):
    env = {"BSOCIAL_FEED_TIMELINE_CAPACITY": str(CAPACITY),
           "BSOCIAL_FEED_CELEBRITY_FOLLOWERS": str(CELEBRITY)}
    srv = start_server(env=env)
    srv.stop()
    cmd = [str(binary_path()), "seed", "--data-dir", str(srv.data_dir), "--users", "150",
           "--follows", "12", "--posts", "6000", "--comments", "500", "--shape-users", "2",
           "--heavy-follows", "80", "--seed", "7", "--quiet"]
    if srv.db_url:
        cmd += ["--db", srv.db_url]
    out = subprocess.run(cmd, env=srv.env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "6000 posts" in out.stdout, out.stdout
    db = srv.db
    # People search's keys are written by the seed, before serve starts (its
    # backfill would write them at start, slowly on a large network), so it has none to write.
    assert count(db, "SELECT done_up_to FROM search_keys_backfill") == \
        count(db, "SELECT MAX(id) FROM users")
    assert count(db, "SELECT COUNT(*) FROM users u WHERE NOT EXISTS"
                     " (SELECT 1 FROM user_search_keys k WHERE k.user_id = u.id)") == 0
    assert count(db, "SELECT COUNT(*) FROM user_search_keys WHERE search_key = 'seeded'") == \
        count(db, "SELECT COUNT(*) FROM users")

    srv.start()

    # The timeline rule, for every user at once.
    assert count(db, "SELECT COUNT(*) FROM home_timeline") > 1000
    assert count(db, "SELECT COUNT(*) FROM home_timeline_state") > 10, "no timeline was capped"
    assert count(db, "SELECT COUNT(*) FROM celebrities") > 0
    assert count(db, MISSING_SQL) == 0
    assert count(db, EXTRA_SQL) == 0
    assert count(db, "SELECT COUNT(*) FROM (SELECT user_id FROM home_timeline GROUP BY user_id"
                     f" HAVING COUNT(*) > {CAPACITY}) x") == 0
    assert count(db, "SELECT COUNT(*) FROM posts p WHERE comment_count <>"
                     " (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id)") == 0

    # Every shape reads, page by page, what the reference query says.
    client = Client(srv)
    for name in ["user_000000", "user_000001", "sparse_00", "new_00", "heavy_00", "fan_00"]:
        r = client.post("/api/v1/sessions", {"login": name, "password": "seeded password"})
        assert r.status == 200, r
        token = r.json["token"]
        me = int(r.json["user"]["id"])
        expected = [(int(i), int(at)) for i, at in db.rows(REFERENCE_SQL.format(me=me))]
        got, cursor = [], None
        while True:
            path = "/api/v1/feed?limit=20" + (f"&cursor={q(cursor)}" if cursor else "")
            page = client.get(path, token=token)
            assert page.status == 200, page
            got += [(int(p["id"]), ts_to_ms(p["created_at"])) for p in page.json["items"]]
            cursor = page.json["next_cursor"]
            if not cursor:
                break
        assert got == expected, f"{name}: {len(got)} posts read, {len(expected)} expected"

    # Seeded accounts are found by name, ignoring case.
    found = client.get("/api/v1/users?q=HEAVY_00", token=token)
    assert found.status == 200, found
    assert [u["username"] for u in found.json["items"]] == ["heavy_00"]

    # Seeded accounts write like any other: a new post reaches a follower's first page.
    r = client.post("/api/v1/sessions", {"login": "sparse_00", "password": "seeded password"})
    reader = r.json["token"]
    r = client.post("/api/v1/sessions", {"login": "quiet_00_0", "password": "seeded password"})
    author = r.json["token"]
    created = client.post("/api/v1/posts", {"content": "news from a quiet account"}, token=author)
    assert created.status == 201, created
    first = client.get("/api/v1/feed?limit=1", token=reader).json["items"]
    assert [p["id"] for p in first] == [created.json["post"]["id"]]
