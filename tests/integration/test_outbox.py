"""Transactional outbox rows (shared/design/events.md): one exact envelope per action."""

from __future__ import annotations

import json

from bsocial_testkit.api import hexid
from bsocial_testkit.database import NOW, OutboxAction
from bsocial_testkit.http import Client


class Action(OutboxAction):
    """An outbox action whose single row is checked against the events contract."""

    def check(self, topic: str, etype: str, key: str, data: dict) -> dict:
        row = self.only_row()
        assert int(row["id"]) > self.before
        assert row["topic"] == topic, row
        assert row["event_type"] == etype, row
        assert row["event_key"] == key, row
        assert isinstance(row["created_at"], int), row
        self.within(row["created_at"], "outbox.created_at")
        assert row["sent_at"] is None or isinstance(row["sent_at"], int), row
        payload = row["payload"]
        assert isinstance(payload, str), row
        env = self.check_envelope(payload, etype, data)
        assert row["event_id"] == env["id"], (row["event_id"], env["id"])
        low = payload.lower()
        for word in ("password", "hash", "token", "$argon2"):
            assert word not in low, f"{word!r} in outbox payload: {payload}"
        for s in self.client.server.secrets:
            assert s not in payload, "a password or token in an outbox payload"
        return env

    def none(self) -> None:
        rows = self.rows()
        assert rows == [], f"a failed action wrote outbox rows: {rows}"


def test_user_registered(client: Client):
    with Action(client) as act:
        r, f = client.register_raw(username=f"Reg_{hexid(4)}", first_name=" Régine ",
                                   last_name="Outbox", email=f"REG_{hexid(4)}@Example.com")
    assert r.status == 201, r
    u = r.json["user"]
    assert u["email"] == f["email"].lower()
    env = act.check("bsocial.users", "user.registered", u["id"], {
        "user_id": u["id"], "username": u["username"], "email": u["email"],
        "first_name": "Régine", "last_name": "Outbox", "registered_at": u["created_at"]})
    assert env["data"]["username"] == f["username"].lower()


def test_user_logged_in_and_out(client: Client):
    u = client.register(email=f"Mixed_{hexid(4)}@Example.org")
    with Action(client) as act:
        r = client.login_raw(u.email, u.password)
    assert r.status == 200, r
    token = r.json["token"]
    act.check("bsocial.users", "user.logged_in", u.id, {
        "user_id": u.id, "username": u.username, "email": u.email.lower(),
        "logged_in_at": NOW})
    with Action(client) as act:
        r = client.login_raw(u.username.upper(), u.password)
    assert r.status == 200
    act.check("bsocial.users", "user.logged_in", u.id, {
        "user_id": u.id, "username": u.username, "email": u.email.lower(),
        "logged_in_at": NOW})
    with Action(client) as act:
        assert client.delete("/api/v1/sessions/current", token=token).status == 204
    act.check("bsocial.users", "user.logged_out", u.id, {
        "user_id": u.id, "username": u.username, "logged_out_at": NOW})


def test_follow_created_and_deleted(client: Client):
    a = client.new_user()
    b = client.register()
    with Action(client) as act:
        assert client.follow(a, b.username.upper()).status == 204
    act.check("bsocial.follows", "follow.created", a.id, {
        "follower_id": a.id, "follower_username": a.username, "followee_id": b.id,
        "followee_username": b.username, "at": NOW})
    with Action(client) as act:
        assert client.follow(a, b).status == 204  # idempotent: an event is optional
    # Following again changes nothing, so it emits nothing (issue 9: an exact count).
    assert len(act.rows()) == 0, act.rows()
    with Action(client) as act:
        assert client.unfollow(a, b).status == 204
    act.check("bsocial.follows", "follow.deleted", a.id, {
        "follower_id": a.id, "follower_username": a.username, "followee_id": b.id,
        "followee_username": b.username, "at": NOW})
    with Action(client) as act:
        assert client.unfollow(a, b).status == 204
    assert len(act.rows()) == 0, act.rows()


def test_post_created(client: Client):
    a = client.new_user(email=f"Poster_{hexid(4)}@Example.NET")
    with Action(client) as act:
        p = client.create_post(a, "  an outbox post with ünïcode ✓  ")
    act.check("bsocial.posts", "post.created", p["id"], {
        "post_id": p["id"], "user_id": a.id, "username": a.username, "email": a.email.lower(),
        "content": "an outbox post with ünïcode ✓", "created_at": p["created_at"]})


def test_post_created_whose_text_looks_like_the_id_field(client: Client):
    # On PostgreSQL the envelope is written around the id the INSERT gives (one statement:
    # social/sql.hpp, create_post_postgresql_sql), split at its "post_id" field: a post
    # whose text spells that field must not move the split.
    a = client.new_user()
    text = 'quoting {"post_id":"0"} and "post_id":"0" verbatim'
    with Action(client) as act:
        p = client.create_post(a, text)
    env = act.check("bsocial.posts", "post.created", p["id"], {
        "post_id": p["id"], "user_id": a.id, "username": a.username, "email": a.email.lower(),
        "content": text, "created_at": p["created_at"]})
    assert env["data"]["content"] == text


def test_comment_created(client: Client):
    author = client.new_user()
    commenter = client.new_user()
    assert client.follow(commenter, author).status == 204
    p = client.create_post(author, "comment on me")
    with Action(client) as act:
        c = client.create_comment(commenter, p["id"], " a comment ")
    act.check("bsocial.comments", "comment.created", p["id"], {
        "comment_id": c["id"], "post_id": p["id"], "post_author_id": author.id,
        "user_id": commenter.id, "username": commenter.username,
        "email": commenter.email.lower(), "content": "a comment",
        "created_at": c["created_at"]})
    # on one's own post too (the notifier decides not to notify)
    with Action(client) as act:
        c2 = client.create_comment(author, p["id"], "self reply")
    act.check("bsocial.comments", "comment.created", p["id"], {
        "comment_id": c2["id"], "post_id": p["id"], "post_author_id": author.id,
        "user_id": author.id, "username": author.username, "email": author.email.lower(),
        "content": "self reply", "created_at": c2["created_at"]})


def test_failed_actions_add_no_row(client: Client):
    a = client.new_user()
    hidden_author = client.new_user()
    hidden = client.create_post(hidden_author, "not visible to a")
    pw = "pw-" + hexid(8)
    cases = [
        lambda: client.register_raw(username="x")[0],
        lambda: client.register_raw(password="password1")[0],
        lambda: client.register_raw(password=pw, password_confirmation=pw + "!")[0],
        lambda: client.register_raw(username=a.username.upper())[0],
        lambda: client.register_raw(email=a.email.upper())[0],
        lambda: client.post("/api/v1/users", raw=b"{bad json"),
        lambda: client.post("/api/v1/users", raw=b"{}", content_type="text/plain"),
        lambda: client.login_raw(a.username, "wrong-" + hexid(4)),
        lambda: client.login_raw("ghost_" + hexid(4), "wrong-" + hexid(4)),
        lambda: client.post("/api/v1/posts", {"content": "   "}, token=a.token),
        lambda: client.post("/api/v1/posts", {"content": "x" * 1001}, token=a.token),
        lambda: client.post("/api/v1/posts", {"content": "no token"}),
        lambda: client.post("/api/v1/posts", {"content": "bad token"}, token="x.y.z"),
        lambda: client.post("/api/v1/posts", raw=json.dumps({"content": "x" * 70000}).encode(),
                            token=a.token),
        lambda: client.post(f"/api/v1/posts/{hidden['id']}/comments", {"content": "hidden"},
                            token=a.token),
        lambda: client.post("/api/v1/posts/999999999/comments", {"content": "ghost"},
                            token=a.token),
        lambda: client.post(f"/api/v1/posts/{hidden['id']}/comments", {"content": ""},
                            token=hidden_author.token),
        lambda: client.put(f"/api/v1/users/me/following/{a.username}", token=a.token),
        lambda: client.put(f"/api/v1/users/me/following/ghost_{hexid(4)}", token=a.token),
        lambda: client.delete(f"/api/v1/users/me/following/ghost_{hexid(4)}", token=a.token),
        lambda: client.delete("/api/v1/sessions/current", token="x.y.z"),
        lambda: client.delete("/api/v1/sessions/current"),
    ]
    for i, case in enumerate(cases):
        with Action(client) as act:
            r = case()
        assert 400 <= r.status < 500, f"case {i}: {r!r}"
        act.none()


def test_ids_increase_and_event_ids_unique(client: Client):
    start = client.server.db.outbox_max_id()
    a = client.new_user()
    b = client.new_user()
    client.follow(a, b)
    p = client.create_post(b, "x")
    client.create_comment(a, p["id"], "y")
    rows = client.server.db.outbox_after(start)
    assert [r["event_type"] for r in rows] == [
        "user.registered", "user.logged_in", "user.registered", "user.logged_in",
        "follow.created", "post.created", "comment.created"]
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({r["event_id"] for r in rows}) == len(rows)
    created = [r["created_at"] for r in rows]
    assert created == sorted(created)
    all_rows = client.server.db.outbox_after(0)
    assert len({r["event_id"] for r in all_rows}) == len(all_rows), "event ids must be unique"
