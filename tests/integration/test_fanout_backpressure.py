"""The fan-out's bounded backlog (docs/feed.md, "Fan-out"; issue 25): on PostgreSQL with
timelines in the tables, a post request that finds more than BSOCIAL_FEED_FANOUT_MAX_BACKLOG
posts queued fans out a batch of the queue itself before its 201, so posting slows to the
fan-out's pace instead of leaving a backlog behind a burst.

Here the worker is off (BSOCIAL_FEED_FANOUT_WORKER=0) and the bound tiny: only the post
requests fan out. The queue stays within the bound after every post, no post is lost or
refused, the timelines are written, and every feed page equals the reference query.
"""

from __future__ import annotations

import random

import pytest

from bsocial_testkit.api import ts_to_ms
from bsocial_testkit.http import Client

REFERENCE_SQL = (
    "SELECT id, created_at FROM posts WHERE user_id = {me} OR user_id IN "
    "(SELECT followee_id FROM follows WHERE follower_id = {me}) "
    "ORDER BY created_at DESC, id DESC"
)
MAX_BACKLOG = 3
HELP_BATCH = 2


def metric(client: Client, name: str) -> float:
    for line in client.get("/metrics").raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def queued(db) -> int:
    return int(db.rows("SELECT COUNT(*) FROM timeline_fanout")[0][0])


def test_posting_fans_out_the_queue_beyond_the_max_backlog(start_server, db_backend):
    if db_backend.kind != "postgresql":
        pytest.skip("the backpressure is PostgreSQL's (SQLite's writer lock is its own)")
    srv = start_server(env={
        "BSOCIAL_FEED_CACHE_USERS": "0",  # timelines in the tables: the fan-out writes them
        "BSOCIAL_FEED_TIMELINE_CAPACITY": "6",  # trims and horizons run too
        "BSOCIAL_FEED_FANOUT_WORKER": "0",
        "BSOCIAL_FEED_FANOUT_MAX_BACKLOG": str(MAX_BACKLOG),
        "BSOCIAL_FEED_FANOUT_HELP_BATCH": str(HELP_BATCH),
        "BSOCIAL_POSTS_PER_MINUTE": "0",
    })
    client = Client(srv)
    db = srv.db
    rng = random.Random(5)
    users = [client.new_user() for _ in range(6)]
    for a in range(len(users)):
        for b in rng.sample(range(len(users)), 3):
            if a != b:
                client.follow(users[a], users[b])

    created = []
    for i in range(60):
        author = users[rng.randrange(len(users))]
        created.append(int(client.create_post(author, f"burst post {i}")["id"]))
        # The estimate counts ids from the oldest queued post: within the bound plus the
        # post just written and one help batch's worth of slack.
        assert queued(db) <= MAX_BACKLOG + 1, f"after post {i}: {queued(db)} queued"

    # No post lost: every one is in posts and, unless still queued, in its author's
    # timeline and every follower's (or trimmed beyond the capacity: below a horizon).
    assert sorted(int(r[0]) for r in db.rows("SELECT id FROM posts")) == sorted(created)
    fanned = int(db.rows(
        "SELECT COUNT(DISTINCT post_id) FROM home_timeline")[0][0])
    assert fanned > 0
    helped = metric(client, "bsocial_timeline_fanout_helped_posts_total")
    assert helped >= len(created) - MAX_BACKLOG - 1, helped
    assert metric(client, "bsocial_timeline_fanout_help_failures_total") == 0
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline_state")[0][0]) > 0, "never trimmed"

    # Every feed, page by page, equals the reference (queued posts read from the queue,
    # the rest from the timelines the requests wrote, older pages below the horizon).
    for u in users:
        me = int(u.id)
        got = [(int(p["id"]), ts_to_ms(p["created_at"]))
               for p in client.list_all("/api/v1/feed", token=u.token, limit=4)]
        expected = [(int(i), int(at)) for i, at in db.rows(REFERENCE_SQL.format(me=me))]
        assert got == expected, f"feed of {u.username}"


def test_fanout_settings_are_checked(start_server, db_backend):
    """A bad bound is a clear startup error, not a silent default."""
    for name, value in (("BSOCIAL_FEED_FANOUT_MAX_BACKLOG", "-1"),
                        ("BSOCIAL_FEED_FANOUT_HELP_BATCH", "0"),
                        ("BSOCIAL_FEED_FANOUT_WORKER", "2")):
        with pytest.raises(Exception) as failed:
            start_server(env={name: value})
        assert name in str(failed.value), str(failed.value)


def test_a_queued_post_a_follow_already_copied_is_fanned_out_once(start_server, db_backend):
    """The fan-out inserts its rows without ON CONFLICT (cheaper: docs/feed.md, "The
    fan-out's rows"). The one way an entry can already be there: a follow copied the
    followee's post into my timeline while that post was still queued. The batch then fails
    on the primary key and is run again skipping what is there: nothing is lost, nothing
    doubled, nothing parked, and the retry is counted."""
    if db_backend.kind != "postgresql":
        pytest.skip("the set-based fan-out batch is PostgreSQL's")
    srv = start_server(env={
        "BSOCIAL_FEED_CACHE_USERS": "0",  # timelines in the tables
        "BSOCIAL_FEED_FANOUT_WORKER": "0",  # only the post requests fan out (below)
        "BSOCIAL_FEED_FANOUT_MAX_BACKLOG": "1",
        "BSOCIAL_FEED_FANOUT_HELP_BATCH": "16",
        "BSOCIAL_POSTS_PER_MINUTE": "0",
    })
    client = Client(srv)
    db = srv.db
    reader, author, other = (client.new_user() for _ in range(3))
    first = int(client.create_post(author, "queued, then copied by a follow")["id"])
    assert queued(db) == 1
    client.follow(reader, author)  # the follow's backfill copies the queued post
    assert int(db.rows(f"SELECT COUNT(*) FROM home_timeline WHERE user_id = {reader.id}"
                       f" AND post_id = {first}")[0][0]) == 1
    # Posts by someone else until one finds the queue over the bound and fans it out,
    # `first` included.
    for i in range(3):
        client.create_post(other, f"post {i}")
        if queued(db) == 0:
            break
    assert queued(db) == 0
    assert metric(client, "bsocial_timeline_fanout_help_failures_total") == 0
    assert metric(client, "bsocial_timeline_fanout_conflict_retries_total") == 1
    assert int(db.rows("SELECT COUNT(*) FROM timeline_fanout_parked")[0][0]) == 0
    rows = db.rows("SELECT user_id FROM home_timeline WHERE post_id = %d ORDER BY user_id" % first)
    assert sorted(int(r[0]) for r in rows) == sorted([int(reader.id), int(author.id)])
    me = int(reader.id)
    got = [(int(p["id"]), ts_to_ms(p["created_at"]))
           for p in client.list_all("/api/v1/feed", token=reader.token, limit=4)]
    expected = [(int(i), int(at)) for i, at in db.rows(REFERENCE_SQL.format(me=me))]
    assert got == expected
