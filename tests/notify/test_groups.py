"""Notifications grouped by post (issue 27): GET /api/v1/notifications/groups,
GET /api/v1/notifications/unread, POST /api/v1/notifications/read, and the post's excerpt
in every notification. Order, counts, names, unread/read, paging; reading is not
delivering (the claim still returns exactly the undelivered ones)."""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import quote

from bsocial_testkit.api import TS_RE, assert_error, ts_to_ms
from bsocial_testkit.database import psql
from bsocial_testkit.http import Client
from bsocial_testkit.notify import claim, comment, history, wait_history
from bsocial_testkit.pytest_plugin import DEFAULT_SERVER_ENV
from bsocial_testkit.server import ServerProcess

GROUPS_PATH = "/api/v1/notifications/groups"
UNREAD_PATH = "/api/v1/notifications/unread"
READ_PATH = "/api/v1/notifications/read"
GROUP_KEYS = {"post_id", "post_excerpt", "count", "unread", "actor_count", "actors", "latest_at"}

# 16 words of 5 letters + spaces: 95 code points on two lines.
LONG_POST = "alpha bravo charl delta echos\nfoxtr golfs hotel india julie kilos lima_ " \
            "mikes novem oscar papas"


def groups(client, user, limit: int = 100) -> list[dict]:
    items = client.list_all(GROUPS_PATH, user.token, limit=limit)
    for g in items:
        assert set(g) == GROUP_KEYS, g
        assert isinstance(g["count"], int) and isinstance(g["unread"], int), g
        assert TS_RE.match(g["latest_at"]), g
        assert 1 <= len(g["actors"]) <= 3, g
    return items


def unread(client, user) -> dict:
    r = client.get(UNREAD_PATH, token=user.token)
    assert r.status == 200, r
    assert set(r.json) == {"groups", "notifications"}, r
    return r.json


def mark(client, user, body) -> dict:
    r = client.post(READ_PATH, body, token=user.token)
    assert r.status == 200, r
    assert set(r.json) == {"marked", "unread"}, r
    return r.json


def test_groups_order_counts_names_read_and_claim(deploy):
    c = deploy.client
    a = c.new_user()
    b, cc, d = c.new_user(), c.new_user(), c.new_user()
    for u in (b, cc, d):
        assert c.follow(u, a).status == 204
    p1 = c.create_post(a, LONG_POST)
    p2 = c.create_post(a, "short one")

    # 3 by B on p1, 1 by C on p2, then D and C on p1, and A's own comment on p1 (no notice).
    for i in range(3):
        comment(c, b, p1["id"], f"b{i}")
    comment(c, cc, p2["id"], "c on p2")
    comment(c, d, p1["id"], "d on p1")
    comment(c, a, p1["id"], "my own")
    last, _, _ = comment(c, cc, p1["id"], "c on p1")
    hist = wait_history(c, a, 6)
    assert len(hist) == 6, hist

    # The notification names its post.
    expected_excerpt = ("alpha bravo charl delta echos foxtr golfs hotel india julie kilos lima_ "
                        "mikes…")
    for n in hist:
        assert n["post_excerpt"] == (expected_excerpt if n["post_id"] == p1["id"] else "short one"), n

    gs = groups(c, a)
    assert [g["post_id"] for g in gs] == [p1["id"], p2["id"]], gs
    g1, g2 = gs
    assert g1["post_excerpt"] == expected_excerpt
    assert (g1["count"], g1["unread"], g1["actor_count"]) == (5, 5, 3), g1
    # newest commenter first, each once
    assert [x["username"] for x in g1["actors"]] == [cc.username, d.username, b.username], g1
    assert [x["id"] for x in g1["actors"]] == [cc.id, d.id, b.id], g1
    assert ts_to_ms(g1["latest_at"]) == ts_to_ms(last["created_at"]), (g1, last)
    assert (g2["post_excerpt"], g2["count"], g2["unread"], g2["actor_count"]) == \
        ("short one", 1, 1, 1), g2
    assert [x["username"] for x in g2["actors"]] == [cc.username]
    assert unread(c, a) == {"groups": 2, "notifications": 6}
    # the commenters have no groups (nobody commented on their posts)
    assert groups(c, b) == [] and unread(c, b) == {"groups": 0, "notifications": 0}

    # Mark one group read: only that group changes, on every instance.
    got = mark(c, a, {"post_id": p2["id"]})
    assert got == {"marked": 1, "unread": {"groups": 1, "notifications": 5}}, got
    assert mark(c, a, {"post_id": p2["id"]})["marked"] == 0  # already read
    for cl in (deploy.client2, deploy.nclient):
        by_post = {g["post_id"]: g for g in groups(cl, a)}
        assert by_post[p2["id"]]["unread"] == 0 and by_post[p2["id"]]["count"] == 1
        assert by_post[p1["id"]]["unread"] == 5
    # Someone else's post, or mine that nobody commented on: nothing to mark.
    assert mark(c, b, {"post_id": p1["id"]})["marked"] == 0
    assert unread(c, a)["groups"] == 1

    # Reading is not delivering: the claim still returns all 6, and only once.
    claimed = claim(c, a)
    assert sorted(n["id"] for n in claimed) == sorted(n["id"] for n in hist), claimed
    assert claim(c, a) == []
    # Delivering is not reading either.
    assert unread(c, a) == {"groups": 1, "notifications": 5}

    # Mark all: everything read; a new comment on p2 makes it unread again and first.
    got = mark(c, a, {"all": True})
    assert got == {"marked": 1, "unread": {"groups": 0, "notifications": 0}}, got
    assert all(g["unread"] == 0 for g in groups(c, a))
    newer, _, _ = comment(c, d, p2["id"], "d on p2")
    wait_history(c, a, 7)
    gs = groups(c, a)
    assert [g["post_id"] for g in gs] == [p2["id"], p1["id"]], gs
    assert (gs[0]["count"], gs[0]["unread"], gs[0]["actor_count"]) == (2, 1, 2), gs[0]
    assert [x["username"] for x in gs[0]["actors"]] == [d.username, cc.username]
    assert unread(c, a) == {"groups": 1, "notifications": 1}
    # The claim returns only what was not delivered yet: the new one.
    assert [n["comment_id"] for n in claim(c, a)] == [newer["id"]]
    assert len(history(c, a)) == 7


def test_groups_paging_and_errors(deploy):
    c = deploy.client
    a, b = c.new_user(), c.new_user()
    assert c.follow(b, a).status == 204
    posts = [c.create_post(a, f"post number {i}") for i in range(5)]
    # comment in an order unlike the posts' order: groups follow the latest comment
    order = [2, 0, 4, 1, 3]
    for i in order:
        comment(c, b, posts[i]["id"], f"on {i}")
        # Groups are ordered by their latest comment's millisecond, then by post id
        # (notification_groups_by_latest): two comments in one millisecond would tie.
        time.sleep(0.005)
    wait_history(c, a, 5)
    expected = [posts[i]["id"] for i in reversed(order)]

    for limit in (1, 2, 3, 100):
        got = [g["post_id"] for g in groups(c, a, limit=limit)]
        assert got == expected, (limit, got)
    r = c.get(f"{GROUPS_PATH}?limit=2", token=a.token)
    assert r.status == 200 and len(r.json["items"]) == 2 and r.json["next_cursor"], r
    assert "rel=\"next\"" in (r.headers.get("link") or r.headers.get("Link") or ""), r.headers
    r2 = c.get(f"{GROUPS_PATH}?limit=2&cursor={quote(r.json['next_cursor'])}", token=a.token)
    assert [g["post_id"] for g in r2.json["items"]] == expected[2:4], r2

    # errors: never a 500
    for cl in (deploy.client, deploy.nclient):
        assert_error(cl.get(GROUPS_PATH), 401, "unauthorized")
        assert_error(cl.get(UNREAD_PATH), 401, "unauthorized")
        assert_error(cl.post(READ_PATH, {"all": True}), 401, "unauthorized")
    r = c.get(f"{GROUPS_PATH}?cursor=garbage!!", token=a.token)
    assert r.status in (400, 422), r
    assert_error(c.get(f"{GROUPS_PATH}?limit=0", token=a.token), 422, "validation_failed")
    for body, field in (({}, "post_id"), ({"post_id": "abc"}, "post_id"), ({"post_id": 5}, "post_id"),
                        ({"all": False}, "all"), ({"all": "yes"}, "all"),
                        ({"all": True, "post_id": posts[0]["id"]}, "all")):
        assert_error(c.post(READ_PATH, body, token=a.token), 422, "validation_failed", [field])
    assert c.post(READ_PATH, [1], token=a.token).status == 422
    # digits that name no post (0, beyond 64 bits): nothing to mark, as the document says
    for pid in ("0", "99999999999999999999999"):
        assert mark(c, a, {"post_id": pid})["marked"] == 0
    assert unread(c, a) == {"groups": 5, "notifications": 5}


# --------------------------------------------------------------------------- migration 11

def _write_sql(srv, statements: list[str]) -> None:
    """Writes to the (stopped) server's database: the SQLite file or PostgreSQL."""
    if srv.db_url:
        psql(srv.db_url, "; ".join(statements))
        return
    con = sqlite3.connect(srv.sqlite_path)
    try:
        for s in statements:
            con.execute(s)
        con.commit()
    finally:
        con.close()


def test_migration_11_summarises_existing_notifications(kafka, tmp_path):
    """A database from before migration 11 (no groups, no post_excerpt) with notifications:
    the migration fills the groups (counts, distinct commenters, the newest commenter; all
    read: the old app had shown them) and each notification's post_excerpt, on both
    databases; a new comment then counts as one unread."""
    srv = ServerProcess(workdir=tmp_path / "api", db_url=kafka.new_database(),
                        env_overrides=dict(DEFAULT_SERVER_ENV))
    srv.kind = kafka.db_kind
    srv.start()
    c = Client(srv)
    a, b, d = c.new_user(), c.new_user(), c.new_user()
    text = "é" * 90 + " the end"
    p = c.create_post(a, text)
    c.create_post(a, "nobody comments on this one")
    srv.stop()
    pid, aid, bid, did = int(p["id"]), int(a.id), int(b.id), int(d.id)
    # Back to the schema before migration 11, then notifications as it stored them.
    rows = [(1001, bid, b.username, 100, 1000), (1002, bid, b.username, 200, None),
            (1003, did, d.username, 300, None)]
    _write_sql(srv, [
        "DROP TABLE notification_groups", "DROP TABLE notification_group_actors",
        "DROP INDEX notifications_by_post",
        "ALTER TABLE notifications DROP COLUMN post_excerpt",
        "DELETE FROM schema_migrations WHERE version = 11",
        *[f"INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username,"
          f" excerpt, created_at, delivered_at) VALUES ({aid}, {cid}, {pid}, {actor}, '{name}',"
          f" 'x', {at}, {'NULL' if delivered is None else delivered})"
          for cid, actor, name, at, delivered in rows],
    ])
    srv.start()
    try:
        gs = groups(c, a)
        assert len(gs) == 1, gs
        g = gs[0]
        assert g["post_id"] == p["id"]
        assert g["post_excerpt"] == "é" * 80 + "…", g
        assert (g["count"], g["unread"], g["actor_count"]) == (3, 0, 2), g
        assert g["actors"] == [{"id": d.id, "username": d.username}], g
        assert ts_to_ms(g["latest_at"]) == 300
        assert unread(c, a) == {"groups": 0, "notifications": 0}
        assert {n["post_excerpt"] for n in history(c, a)} == {"é" * 80 + "…"}
        # the claim still hands out the two undelivered ones: read is not delivered
        assert sorted(n["comment_id"] for n in claim(c, a)) == ["1002", "1003"]
    finally:
        srv.stop()
