"""Issue 27: deleting a post or a comment (DELETE /api/v1/posts/{id}, /api/v1/comments/{id}).

The author only (404 for anyone else, an unknown id and a second delete: existence is not
revealed); a deleted post leaves every feed page, profile list and comment list at once
(also from the in-memory timelines and posts of SQLite, and from a second serve replica on
PostgreSQL), and takes its comments and their notifications with it; a deleted comment
lowers its post's count and takes its notification. The feed against the reference query
with deletions between pages: test_feed_property.py."""

from __future__ import annotations

import time

import pytest

from bsocial_testkit.api import assert_error
from bsocial_testkit.http import Client
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.waiting import wait_until


def feed_ids(client: Client, user, limit: int = 2) -> list[str]:
    return [p["id"] for p in client.list_all("/api/v1/feed", token=user.token, limit=limit)]


def profile_ids(client: Client, reader, author) -> list[str]:
    return [p["id"] for p in client.list_all(f"/api/v1/users/{author.username}/posts",
                                             token=reader.token, limit=2)]


def add_notification(db, recipient, comment: dict, post_id: str) -> None:
    """A row as the notifier stores it (it runs in tests/notify, not here)."""
    sql = ("INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username,"
           f" excerpt, created_at) VALUES ({recipient.id}, {comment['id']}, {post_id}, 1, 'x',"
           " 'x', 1);")
    db.execute_admin(sql, sql)


def notify_like_the_notifier(db, recipient, comment_id: str) -> None:
    """As the notifier stores one: only while the comment exists, holding its row on
    PostgreSQL (FOR SHARE), so a deletion either comes first or deletes it afterwards."""
    sql = ("INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username,"
           f" excerpt, created_at) SELECT {recipient.id}, c.id, c.post_id, 1, 'x', 'x', 1"
           f" FROM comments c WHERE c.id = {comment_id}")
    db.execute_admin(sql + ";", sql + " FOR SHARE OF c;")


def count(db, sql: str) -> int:
    return int(db.rows(sql)[0][0])


def test_only_the_author_deletes_a_post_everyone_else_gets_404(client: Client):
    author, fan, stranger = client.new_user(), client.new_user(), client.new_user()
    client.follow(fan, author)
    post = client.create_post(author, "only I may delete this")
    path = f"/api/v1/posts/{post['id']}"
    assert_error(client.delete(path), 401, "unauthorized")
    for other in (fan, stranger):  # one who sees it, one who does not: the same answer
        assert_error(client.delete(path, token=other.token), 404, "not_found")
    assert client.get(path, token=fan.token).status == 200, "still there"
    r = client.delete(path, token=author.token)
    assert r.status == 204 and r.raw == b"", r
    assert_error(client.delete(path, token=author.token), 404, "not_found")  # a second delete
    for who in (author, fan):
        assert_error(client.get(path, token=who.token), 404, "not_found")
        assert_error(client.get(path + "/comments", token=who.token), 404, "not_found")
    assert_error(client.post(path + "/comments", {"content": "late"}, token=fan.token),
                 404, "not_found")


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "99999999999999999999",
                                 "9223372036854775807", "%20"])
def test_a_bad_or_huge_id_is_a_clear_404_never_a_500(client: Client, bad):
    u = client.new_user()
    for path in (f"/api/v1/posts/{bad}", f"/api/v1/comments/{bad}"):
        assert_error(client.delete(path, token=u.token), 404, "not_found")


def test_a_deleted_post_leaves_every_feed_and_profile_list_with_its_comments_and_notifications(
        client: Client):
    db = client.server.db
    author, fan, other = client.new_user(), client.new_user(), client.new_user()
    for f in (fan, other):
        client.follow(f, author)
    older = client.create_post(author, "older, kept")
    doomed = client.create_post(author, "doomed")
    newer = client.create_post(author, "newer, kept")
    c1 = client.create_comment(fan, doomed["id"], "on the doomed post")
    c2 = client.create_comment(other, doomed["id"], "me too")
    kept_comment = client.create_comment(fan, older["id"], "on a kept post")
    for c in (c1, c2):
        add_notification(db, author, c, doomed["id"])
    add_notification(db, author, kept_comment, older["id"])
    everyone = [newer["id"], doomed["id"], older["id"]]
    for reader in (author, fan, other):  # read first: feeds and posts cached (SQLite)
        assert feed_ids(client, reader) == everyone
        assert profile_ids(client, reader, author) == everyone

    assert client.delete(f"/api/v1/posts/{doomed['id']}", token=author.token).status == 204
    for reader in (author, fan, other):  # at once, no waiting
        for limit in (1, 2, 5):
            assert feed_ids(client, reader, limit) == [newer["id"], older["id"]], (reader, limit)
        assert profile_ids(client, reader, author) == [newer["id"], older["id"]]
    assert count(db, f"SELECT COUNT(*) FROM comments WHERE post_id = {doomed['id']}") == 0
    assert count(db, f"SELECT COUNT(*) FROM notifications WHERE post_id = {doomed['id']}") == 0
    assert count(db, f"SELECT COUNT(*) FROM notifications WHERE post_id = {older['id']}") == 1
    assert count(db, f"SELECT COUNT(*) FROM home_timeline WHERE post_id = {doomed['id']}") == 0
    assert count(db, f"SELECT COUNT(*) FROM timeline_fanout WHERE post_id = {doomed['id']}") == 0
    # The comment on the deleted post went with it: its author gets 404 deleting it.
    assert_error(client.delete(f"/api/v1/comments/{c1['id']}", token=fan.token), 404, "not_found")
    assert count(db, f"SELECT COUNT(*) FROM comments WHERE id = {kept_comment['id']}") == 1


def test_only_its_author_deletes_a_comment_which_lowers_the_count_everywhere(client: Client):
    db = client.server.db
    author, fan, other = client.new_user(), client.new_user(), client.new_user()
    for f in (fan, other):
        client.follow(f, author)
    post = client.create_post(author, "count my comments")
    mine = client.create_comment(fan, post["id"], "mine")
    theirs = client.create_comment(other, post["id"], "theirs")
    add_notification(db, author, mine, post["id"])
    add_notification(db, author, theirs, post["id"])

    def counts() -> list[int]:
        in_feeds = [next(int(p["comment_count"]) for p in client.get(
            "/api/v1/feed?limit=5", token=u.token).json["items"] if p["id"] == post["id"])
            for u in (author, fan, other)]
        one = client.get(f"/api/v1/posts/{post['id']}", token=fan.token).json["post"]
        return in_feeds + [int(one["comment_count"])]

    assert counts() == [2, 2, 2, 2]  # read first: the post is cached with its count
    path = f"/api/v1/comments/{mine['id']}"
    for who in (author, other):  # the post's author neither: only the comment's
        assert_error(client.delete(path, token=who.token), 404, "not_found")
    assert client.delete(path, token=fan.token).status == 204
    assert counts() == [1, 1, 1, 1]
    listed = client.list_all(f"/api/v1/posts/{post['id']}/comments", token=author.token)
    assert [c["id"] for c in listed] == [theirs["id"]]
    assert count(db, f"SELECT COUNT(*) FROM notifications WHERE comment_id = {mine['id']}") == 0
    assert count(db, f"SELECT COUNT(*) FROM notifications WHERE comment_id = {theirs['id']}") == 1
    assert_error(client.delete(path, token=fan.token), 404, "not_found")  # a second delete
    assert counts() == [1, 1, 1, 1]
    client.create_comment(fan, post["id"], "again")
    assert counts() == [2, 2, 2, 2]


def test_a_delete_on_one_replica_is_gone_from_the_other_within_the_bus_delivery(
        start_server, tmp_path):
    """Two serve processes on one PostgreSQL database: B reads (and caches what it caches),
    A deletes, and B's reads no longer have the post or the comment as soon as the cluster
    bus has told B (docs/feed.md: a replica that did not make a change is behind by the
    bus's delivery, a NOTIFY round trip; each state is waited for, up to 2 s, and the
    slowest wait printed). Nothing of the post comes back afterwards."""
    first = start_server()
    if first.kind != "postgresql":
        pytest.skip("one serve per SQLite file; replicas share PostgreSQL")
    second = ServerProcess(workdir=tmp_path / "replica", db_url=first.db_url,
                           env_overrides=dict(first.env_overrides), jwt_secret=first.jwt_secret)
    second.start()
    slowest = 0.0

    def on_b(what: str, check) -> None:
        nonlocal slowest
        started = time.monotonic()
        wait_until(check, timeout=2, interval=0.005, what=f"B: {what}")
        slowest = max(slowest, time.monotonic() - started)

    try:
        a, b = Client(first), Client(second)
        author, fan = a.new_user(), a.new_user()
        fan.token = b.login(fan)
        a.follow(fan, author)
        kept = a.create_post(author, "kept")
        doomed = a.create_post(author, "doomed")
        c = a.create_comment(fan, kept["id"], "a comment that goes")
        on_b("the follow and both posts", lambda: feed_ids(b, fan) == [doomed["id"], kept["id"]])
        for _ in range(2):  # twice: whatever B caches is warm
            assert feed_ids(b, fan) == [doomed["id"], kept["id"]]
            assert profile_ids(b, fan, author) == [doomed["id"], kept["id"]]
            assert b.get(f"/api/v1/posts/{kept['id']}", token=fan.token).json["post"][
                "comment_count"] == 1
        assert a.delete(f"/api/v1/posts/{doomed['id']}", token=author.token).status == 204
        assert a.delete(f"/api/v1/comments/{c['id']}", token=fan.token).status == 204
        on_b("the post's deletion", lambda: feed_ids(b, fan) == [kept["id"]])
        on_b("the comment's deletion", lambda: [int(p["comment_count"]) for p in b.get(
            "/api/v1/feed?limit=5", token=fan.token).json["items"]] == [0])
        for _ in range(2):  # and it stays so
            assert feed_ids(b, fan) == [kept["id"]]
            assert profile_ids(b, fan, author) == [kept["id"]]
            assert_error(b.get(f"/api/v1/posts/{doomed['id']}", token=fan.token), 404,
                         "not_found")
            assert b.list_all(f"/api/v1/posts/{kept['id']}/comments", token=fan.token) == []
        print(f"replica B agreed with A at most {slowest * 1000:.0f} ms after A's answer")
    finally:
        second.stop()


def test_deletions_racing_comments_and_the_fan_out_never_fail_and_leave_nothing_behind(
        start_server):
    """Threads at once: an author posting and deleting, followers commenting on those posts
    and deleting their comments. Every answer is 201, 204 or 404 (never a 500, a deadlock
    or a foreign-key error: the lock order in docs/feed.md), and afterwards no timeline
    entry, queued post, comment or notification names a deleted post, and every post's
    comment_count is its number of comments."""
    import random
    import threading

    client = Client(start_server(env={"BSOCIAL_POSTS_PER_MINUTE": "0",
                                      "BSOCIAL_COMMENTS_PER_MINUTE": "0"}))
    db = client.server.db
    author = client.new_user()
    fans = [client.new_user() for _ in range(3)]
    for f in fans:
        client.follow(f, author)
    posts: list[str] = []
    lock = threading.Lock()
    statuses: dict[int, int] = {}
    stop = time.monotonic() + 8

    def record(r) -> None:
        with lock:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        assert r.status in (201, 204, 404), r

    def authoring():
        c, rng = Client(client.server), random.Random(1)
        while time.monotonic() < stop:
            r = c.post("/api/v1/posts", {"content": "racing"}, token=author.token)
            record(r)
            with lock:
                posts.append(r.json["post"]["id"])
                victim = rng.choice(posts) if len(posts) > 2 else None
            if victim:
                record(c.delete(f"/api/v1/posts/{victim}", token=author.token))

    def commenting(fan, seed):
        c, rng = Client(client.server), random.Random(seed)
        mine: list[str] = []
        while time.monotonic() < stop:
            with lock:
                target = posts[-1 - rng.randrange(min(len(posts), 3))] if posts else None
            if target is None:
                continue
            r = c.post(f"/api/v1/posts/{target}/comments", {"content": "hi"}, token=fan.token)
            record(r)
            if r.status == 201:
                mine.append(r.json["comment"]["id"])
                notify_like_the_notifier(db, author, r.json["comment"]["id"])
            if mine and rng.random() < 0.4:
                record(c.delete(f"/api/v1/comments/{mine.pop(rng.randrange(len(mine)))}",
                                token=fan.token))

    errors: list[BaseException] = []

    def run(f, *a):
        try:
            f(*a)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(authoring,))] + [
        threading.Thread(target=run, args=(commenting, f, i)) for i, f in enumerate(fans)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert statuses.get(204, 0) > 10 and statuses.get(201, 0) > 20, statuses
    gone = "NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = {col})"
    for table, col in (("home_timeline", "t.post_id"), ("timeline_fanout", "t.post_id"),
                       ("notifications", "t.post_id"), ("comments", "t.post_id")):
        assert count(db, f"SELECT COUNT(*) FROM {table} t WHERE "
                         + gone.format(col=col)) == 0, f"{table} names a deleted post"
    assert count(db, "SELECT COUNT(*) FROM notifications n WHERE NOT EXISTS "
                     "(SELECT 1 FROM comments c WHERE c.id = n.comment_id)") == 0
    assert count(db, "SELECT COUNT(*) FROM posts p WHERE p.comment_count <> "
                     "(SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id)") == 0
