"""Where the home timelines live on SQLite, and the guard around it (docs/feed.md).

On SQLite the timelines are held in memory by the one serve process of the database file
(BSOCIAL_FEED_CACHE_USERS > 0, the default); with BSOCIAL_FEED_CACHE_USERS=0 they are
kept in the tables, and several serve processes may share the file. A second serve
beside one with timelines in memory must refuse to start, and timelines moved from
memory back to the tables must still give every user exactly their feed.
"""

from __future__ import annotations

import pytest

from bsocial_testkit.api import ts_to_ms
from bsocial_testkit.http import Client
from bsocial_testkit.server import ServerProcess, ServerStartError

REFERENCE_SQL = (
    "SELECT id, created_at FROM posts WHERE user_id = {me} OR user_id IN "
    "(SELECT followee_id FROM follows WHERE follower_id = {me}) "
    "ORDER BY created_at DESC, id DESC"
)


@pytest.fixture(autouse=True)
def sqlite_only(db_backend):
    if db_backend.kind != "sqlite":
        pytest.skip("timelines live in memory on SQLite only")


def beside(srv: ServerProcess, name: str, cache_users: str) -> ServerProcess:
    """Another serve on srv's database (same data directory and JWT secret)."""
    env = dict(srv.env_overrides)
    env["BSOCIAL_FEED_CACHE_USERS"] = cache_users
    other = ServerProcess(workdir=srv.workdir / name, db_url=srv.db_url, env_overrides=env,
                          jwt_secret=srv.jwt_secret, secrets=srv.secrets, data_dir=srv.data_dir)
    return other


def feeds_match_the_reference(client: Client, db, users) -> None:
    for u in users:
        got = [(int(p["id"]), ts_to_ms(p["created_at"]))
               for p in client.list_all("/api/v1/feed", token=u.token, limit=3)]
        want = [(int(i), int(at)) for i, at in db.rows(REFERENCE_SQL.format(me=int(u.id)))]
        assert got == want, f"feed of {u.username}"


def test_a_second_serve_beside_timelines_in_memory_refuses_to_start(start_server):
    first = start_server()  # timelines in memory: the default on SQLite
    for cache_users in ("10000", "0"):
        with pytest.raises(ServerStartError) as refused:
            beside(first, f"second-{cache_users}", cache_users).start()
        assert "BSOCIAL_FEED_CACHE_USERS=0" in str(refused.value)
    assert Client(first).get("/healthz").status == 200  # the first one is unharmed


def test_several_serves_share_a_database_with_timelines_in_the_tables(start_server):
    first = start_server(env={"BSOCIAL_FEED_CACHE_USERS": "0"})
    second = beside(first, "second", "0").start()
    try:
        a, b = Client(first), Client(second)
        alice, bob = a.new_user(), a.new_user()
        a.follow(alice, bob)
        post = b.create_post(bob, "written through the second serve")
        items = a.get("/api/v1/feed", token=alice.token).json["items"]
        assert [p["id"] for p in items] == [post["id"]]
        with pytest.raises(ServerStartError):
            beside(first, "third", "10000").start()  # in memory beside them: refused
    finally:
        second.stop()


def test_timelines_back_in_the_tables_after_memory_give_every_feed(start_server):
    srv = start_server(env={"BSOCIAL_FEED_CACHE_USERS": "0"})
    client, db = Client(srv), srv.db
    users = [client.new_user() for _ in range(5)]
    for i, u in enumerate(users):
        for v in users[i + 1:i + 3]:
            client.follow(u, v)
    for k in range(12):
        client.create_post(users[k % 5], f"before, in the tables {k}")
    feeds_match_the_reference(client, db, users)
    srv.stop()

    # In memory: new posts, follows and unfollows that the tables never see.
    srv.env_overrides["BSOCIAL_FEED_CACHE_USERS"] = "10000"
    srv.start()
    for k in range(12):
        client.create_post(users[(k * 3) % 5], f"while in memory {k}")
    client.follow(users[4], users[0])
    client.unfollow(users[0], users[1])
    feeds_match_the_reference(client, db, users)
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline_stale")[0][0]) == 1
    srv.stop()

    # Back in the tables: repaired at start, every feed whole, and new posts fan out again.
    srv.env_overrides["BSOCIAL_FEED_CACHE_USERS"] = "0"
    srv.start()
    assert int(db.rows("SELECT COUNT(*) FROM home_timeline_stale")[0][0]) == 0
    feeds_match_the_reference(client, db, users)
    client.create_post(users[1], "after, in the tables again")
    client.follow(users[0], users[3])
    feeds_match_the_reference(client, db, users)
