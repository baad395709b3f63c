"""Issue 25, cold start: at start, serve loads the sessions used most recently and their
users' first feed page into its caches, in the background (sessions/feed_warmer.hpp;
BSOCIAL_FEED_WARM_USERS). Checked here, on both databases:

- after a restart, a warmed user's first page is answered without building the timeline
  (the build was the warming's) and equals the reference query;
- the warmed caches stay right: on PostgreSQL a post created on replica B after A warmed is
  on A's warmed feed, a session ended on B is refused by A (warmed, and believed 60 s, so
  only the cluster bus can end it); on SQLite the same through the one serve;
- warming is bounded: BSOCIAL_FEED_WARM_USERS=2 warms the two most recently used sessions'
  users only, 0 none.
"""

from __future__ import annotations

import time

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.waiting import wait_until

REFERENCE_SQL = (
    "SELECT id FROM posts WHERE user_id = {me} OR user_id IN "
    "(SELECT followee_id FROM follows WHERE follower_id = {me}) "
    "ORDER BY created_at DESC, id DESC LIMIT 20"
)


def metric(client: Client, name: str) -> float:
    for line in client.get("/metrics").raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def warmed(client: Client) -> None:
    wait_until(lambda: metric(client, "bsocial_feed_warm_done") == 1, timeout=30,
               what="the start's warming")


def feed_ids(client: Client, token: str) -> list[int]:
    r = client.get("/api/v1/feed?limit=20", token=token)
    assert r.status == 200, r
    return [int(p["id"]) for p in r.json["items"]]


def reference(srv: ServerProcess, user_id) -> list[int]:
    return [int(i) for (i,) in srv.db.rows(REFERENCE_SQL.format(me=int(user_id)))]


def restart(srv: ServerProcess) -> Client:
    srv.stop()
    srv.start()
    return Client(srv)


def network(client: Client, n: int = 4):
    """n users, each following the next; a few posts each; every one logged in."""
    users = [client.new_user() for _ in range(n)]
    for a, b in zip(users, users[1:]):
        assert client.follow(a, b).status in (200, 201, 204)
    for k in range(3):
        for u in users:
            client.create_post(u, f"post {k} by {u.username}")
    return users


def test_warmed_feeds_and_sessions_stay_right(start_server, db_backend, tmp_path):
    env = {"BSOCIAL_SESSION_CACHE_BELIEVE_MS": "60000"}
    a_srv = start_server(env=env)
    a = Client(a_srv)
    users = network(a)
    for u in users:  # their sessions used: the most recent ones
        feed_ids(a, u.token)

    a = restart(a_srv)
    warmed(a)
    assert metric(a, "bsocial_feed_warm_users") == len(users)
    assert metric(a, "bsocial_feed_warm_timelines") == len(users)
    builds = metric(a, "bsocial_feed_cache_builds_total")
    hits = metric(a, "bsocial_session_cache_hits_total")
    for u in users:
        assert feed_ids(a, u.token) == reference(a_srv, u.id)
    # answered from what the warming loaded: no timeline built, every session from memory
    assert metric(a, "bsocial_feed_cache_builds_total") == builds
    assert metric(a, "bsocial_session_cache_hits_total") >= hits + len(users)

    reader, author, leaver = users[0], users[1], users[2]
    if db_backend.kind == "postgresql":
        b_srv = ServerProcess(workdir=tmp_path / "replica-b", db_url=a_srv.db_url,
                              env_overrides=dict(a_srv.env_overrides),
                              jwt_secret=a_srv.jwt_secret, secrets=a_srv.secrets,
                              name="serve-b").start()
    else:
        b_srv = None  # one serve per SQLite file: the same requests through it
    try:
        b = Client(b_srv) if b_srv else a
        post = b.create_post(author, "written after the warming")
        # on A's warmed feed of a follower (the bus's post.created on PostgreSQL)
        wait_until(lambda: int(post["id"]) in feed_ids(a, reader.token), timeout=2,
                   what="B's post on A's warmed feed")
        assert feed_ids(a, reader.token) == reference(a_srv, reader.id)
        assert metric(a, "bsocial_feed_cache_builds_total") == builds

        # a warmed session ended elsewhere is refused at once (believed 60 s otherwise)
        assert a.get("/api/v1/users/me", token=leaver.token).status == 200
        assert b.delete("/api/v1/sessions/current", token=leaver.token).status == 204
        wait_until(lambda: a.get("/api/v1/users/me", token=leaver.token).status == 401,
                   timeout=1, what="the ended warmed session refused on A")
    finally:
        if b_srv:
            b_srv.stop()


def test_warming_is_bounded_and_can_be_off(start_server):
    srv = start_server(env={"BSOCIAL_FEED_WARM_USERS": "2"})
    c = Client(srv)
    users = network(c, 4)
    for u in users:  # the last two used last
        feed_ids(c, u.token)
        time.sleep(0.01)
    c = restart(srv)
    warmed(c)
    assert metric(c, "bsocial_feed_warm_users") == 2
    assert metric(c, "bsocial_feed_warm_timelines") == 2
    builds = metric(c, "bsocial_feed_cache_builds_total")
    assert builds == 2
    for u in users[2:]:  # warmed
        assert feed_ids(c, u.token) == reference(srv, u.id)
    assert metric(c, "bsocial_feed_cache_builds_total") == builds
    for u in users[:2]:  # not warmed: built by their first read
        assert feed_ids(c, u.token) == reference(srv, u.id)
    assert metric(c, "bsocial_feed_cache_builds_total") == builds + 2

    srv.env_overrides["BSOCIAL_FEED_WARM_USERS"] = "0"
    c = restart(srv)
    warmed(c)
    assert metric(c, "bsocial_feed_warm_users") == 0
    assert metric(c, "bsocial_feed_cache_builds_total") == 0
    assert feed_ids(c, users[3].token) == reference(srv, users[3].id)
    assert metric(c, "bsocial_feed_cache_builds_total") == 1


def test_a_login_builds_the_first_page_before_the_feed_is_read(start_server):
    """Login warming (BSOCIAL_FEED_LOGIN_WARM_QUEUE): a user not warmed at start logs in;
    their first page is built in the background before they read it, so the read builds
    nothing and equals the reference query; a session's first request after a restart
    does the same; 0 turns it off."""
    srv = start_server(env={"BSOCIAL_FEED_WARM_USERS": "0"})  # no start warming
    c = Client(srv)
    users = network(c, 3)
    reader = users[0]
    c = restart(srv)
    assert metric(c, "bsocial_feed_cache_users") == 0
    c.login(reader)
    wait_until(lambda: metric(c, "bsocial_feed_login_warm_built_total") == 1, timeout=5,
               what="the login's first page built in the background")
    assert metric(c, "bsocial_feed_cache_users") == 1
    builds = metric(c, "bsocial_feed_cache_builds_total")
    assert builds == 1
    assert feed_ids(c, reader.token) == reference(srv, reader.id)
    assert metric(c, "bsocial_feed_cache_builds_total") == builds, "the read built nothing"
    assert metric(c, "bsocial_feed_login_warm_dropped_total") == 0

    # a session's first request after a restart (read from SQL) warms its user too
    c = restart(srv)
    assert c.get("/api/v1/users/me", token=users[1].token).status == 200
    wait_until(lambda: metric(c, "bsocial_feed_login_warm_built_total") == 1, timeout=5,
               what="the session's first page built in the background")
    assert feed_ids(c, users[1].token) == reference(srv, users[1].id)
    assert metric(c, "bsocial_feed_cache_builds_total") == 1

    srv.env_overrides["BSOCIAL_FEED_LOGIN_WARM_QUEUE"] = "0"
    c = restart(srv)
    c.login(reader)
    time.sleep(0.3)
    assert metric(c, "bsocial_feed_login_warm_queued_total") == 0
    assert metric(c, "bsocial_feed_cache_builds_total") == 0
    assert feed_ids(c, reader.token) == reference(srv, reader.id)
    assert metric(c, "bsocial_feed_cache_builds_total") == 1
