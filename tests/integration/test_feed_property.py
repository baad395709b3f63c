"""The feed against a plain reference query, over random graphs (docs/feed.md).

The feed is served from home timelines (fan-out on write, capped, with celebrities and
own posts merged at read time, and older pages read from the posts). This test pages
through every user's feed while the graph changes under it (follows, unfollows, new
posts and deletions of posts between two pages) and compares each page with the obvious
SQL, written here:
my posts and those of everyone I follow now, newest first by (created_at, id).

Small settings make every path run: a timeline of a few entries (trimming, horizons,
backfill beyond the capacity), celebrities from 3 followers, and the walk/merge planner
below the horizon. Both databases (integration_sqlite, integration_postgresql), and on
SQLite both storages: timelines in memory (the default there: built by reads, extended by
deeper pages, forgotten by follows, evicted beyond BSOCIAL_FEED_CACHE_USERS) and in the
database (BSOCIAL_FEED_CACHE_USERS=0, as on PostgreSQL).
"""

from __future__ import annotations

import random

import pytest

from bsocial_testkit.api import q, ts_to_ms
from bsocial_testkit.http import Client
from bsocial_testkit.waiting import wait_until

REFERENCE_SQL = (
    "SELECT id, created_at FROM posts WHERE user_id = {me} OR user_id IN "
    "(SELECT followee_id FROM follows WHERE follower_id = {me}) "
    "ORDER BY created_at DESC, id DESC"
)

# (timeline capacity, celebrity followers, merge max followees, walk max rows)
SETTINGS = {
    "timelines": ("5", "3", "256", "8192"),
    "walk-then-merge": ("4", "1000", "1", "6"),
}


def reference(db, me: int) -> list[tuple[int, int]]:
    return [(int(i), int(at)) for i, at in db.rows(REFERENCE_SQL.format(me=int(me)))]


def metric(client: Client, name: str) -> float:
    for line in client.get("/metrics").raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("storage", ["memory", "database"])
def test_every_page_matches_the_reference_while_the_graph_changes(start_server, db_backend,
                                                                  storage, setting, seed):
    if storage == "memory" and db_backend.kind != "sqlite":
        pytest.skip("timelines live in memory on SQLite only (docs/feed.md)")
    capacity, celebrities, merge_max, walk_max = SETTINGS[setting]
    srv = start_server(env={
        "BSOCIAL_FEED_TIMELINE_CAPACITY": capacity,
        "BSOCIAL_FEED_CELEBRITY_FOLLOWERS": celebrities,
        "BSOCIAL_FEED_MERGE_MAX_FOLLOWEES": merge_max,
        "BSOCIAL_FEED_WALK_MAX_ROWS": walk_max,
        # In memory: room for 4 of the 9 users' timelines, so some are evicted.
        "BSOCIAL_FEED_CACHE_USERS": "4" if storage == "memory" else "0",
    })
    client = Client(srv)
    db = srv.db
    rng = random.Random(seed)
    users = [client.new_user() for _ in range(9)]
    following: set[tuple[int, int]] = set()

    def follow(a: int, b: int):
        if a != b:
            client.follow(users[a], users[b])
            following.add((a, b))

    def unfollow(a: int, b: int):
        client.unfollow(users[a], users[b])
        following.discard((a, b))

    def post(a: int):
        client.create_post(users[a], f"post {rng.random():.6f} by {users[a].username}")

    deleted = 0

    def delete_post(a: int):
        """One of a's posts (issue 27), perhaps one still queued for the fan-out."""
        nonlocal deleted
        mine = [int(r[0]) for r in db.rows(
            f"SELECT id FROM posts WHERE user_id = {int(users[a].id)} ORDER BY id")]
        if not mine:
            return
        victim = mine[-1] if rng.random() < 0.5 else rng.choice(mine)  # often the newest
        r = client.delete(f"/api/v1/posts/{victim}", token=users[a].token)
        assert r.status == 204, r
        deleted += 1

    def mutate():
        roll = rng.random()
        a, b = rng.randrange(len(users)), rng.randrange(len(users))
        if roll < 0.40:
            post(a)
        elif roll < 0.65:
            follow(a, b)
        elif roll < 0.80:
            delete_post(a)
        elif following:
            unfollow(*rng.choice(sorted(following)))

    # A first graph and history; user 0 follows most people (a dense reader), user 8 none.
    for a in range(len(users) - 1):
        for b in rng.sample(range(len(users)), rng.randint(1, 5)):
            follow(a, b)
    for b in range(1, 7):
        follow(0, b)
    for i in range(80):
        post(rng.randrange(len(users)))
        if i % 8 == 7:  # right after a post: on PostgreSQL often still in the fan-out queue
            delete_post(rng.randrange(len(users)))

    pages_checked = 0
    for reader in range(len(users)):
        me = int(users[reader].id)
        limit = rng.choice([1, 2, 3, 5, 7])
        cursor = None
        last_key = None  # (created_at, id) of the last item shown
        for _ in range(200):
            path = f"/api/v1/feed?limit={limit}" + (f"&cursor={q(cursor)}" if cursor else "")
            expected = [r for r in reference(db, me) if last_key is None or (r[1], r[0]) < last_key]
            r = client.get(path, token=users[reader].token)
            assert r.status == 200, r
            got = [(int(p["id"]), ts_to_ms(p["created_at"])) for p in r.json["items"]]
            assert got == expected[:limit], (
                f"{setting} seed {seed}: page of user {reader} after {last_key}: "
                f"got {got}, expected {expected[:limit]}")
            assert (r.json["next_cursor"] is not None) == (len(expected) > limit), (
                f"{setting} seed {seed}: next_cursor of user {reader}: "
                f"{r.json['next_cursor']!r} with {len(expected)} left")
            pages_checked += 1
            if not r.json["next_cursor"]:
                break
            cursor = r.json["next_cursor"]
            last_key = (got[-1][1], got[-1][0])
            # The graph changes between two pages: follows, unfollows, new posts.
            for _ in range(rng.randint(0, 2)):
                mutate()

    assert pages_checked > 60
    assert deleted >= 10, deleted
    # Once the fan-out worker has caught up, every feed still reads as the reference
    # (the posts it moved from its queue into timelines are neither lost nor doubled).
    wait_until(lambda: int(db.rows("SELECT COUNT(*) FROM timeline_fanout")[0][0]) == 0,
               timeout=30, interval=0.05, what="fan-out queue drained")
    for reader in range(len(users)):
        me = int(users[reader].id)
        got = [(int(p["id"]), ts_to_ms(p["created_at"]))
               for p in client.list_all("/api/v1/feed", token=users[reader].token, limit=4)]
        assert got == reference(db, me), f"{setting} seed {seed}: user {reader} after fan-out"
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline t WHERE NOT EXISTS "
                       "(SELECT 1 FROM posts p WHERE p.id = t.post_id)")[0][0]) == 0, \
        "a deleted post left timeline entries"
    if storage == "memory":
        # Every path ran: timelines were built (first reads, after follows and evictions),
        # and none went to the database.
        assert metric(client, "bsocial_feed_cache_builds_total") > len(users)
        assert metric(client, "bsocial_feed_cache_evictions_total") > 0
        assert int(db.rows("SELECT COUNT(*) FROM home_timeline")[0][0]) == 0
        return
    # Every path ran: timelines were written and trimmed (horizons), and with the
    # timeline setting some authors became celebrities.
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline")[0][0]) > 0
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline_state")[0][0]) > 0
    if setting == "timelines":
        assert int(db.rows("SELECT COUNT(*) FROM celebrities")[0][0]) > 0


def test_feed_comment_counts_follow_new_comments(client):
    """A post's comment count in the feed moves with every comment, also once the feed's
    posts are held in memory (SQLite): read, comment, read again, from several readers."""
    author, fan, other = client.new_user(), client.new_user(), client.new_user()
    client.follow(fan, author)
    client.follow(other, author)
    post = client.create_post(author, "count my comments")

    def count_in_feed(user) -> int:
        items = client.get("/api/v1/feed?limit=5", token=user.token).json["items"]
        return next(int(p["comment_count"]) for p in items if p["id"] == post["id"])

    for expected in range(1, 4):
        assert [count_in_feed(u) for u in (author, fan, other)] == [expected - 1] * 3
        client.create_comment(fan if expected % 2 else other, post["id"], f"comment {expected}")
    assert [count_in_feed(u) for u in (author, fan, other)] == [3] * 3
