"""Every event type, end to end: HTTP action -> outbox row -> relay -> Kafka topic.

Checks per message (shared/design/events.md): the topic, the key (aggregate id), the
headers event_id / event_type, the exact envelope and data field sets with values from
the HTTP answers, byte-identical payload to the outbox row, no secret; and that the
relay marks the row sent."""

from __future__ import annotations

import json

import pytest

from bsocial_testkit.api import hexid
from bsocial_testkit.database import NOW, OutboxAction
from bsocial_testkit.kafka import TOPICS, TOPIC_OF, read_all, unsent, wait_for_events
from bsocial_testkit.waiting import wait_until

# every event id checked in this module -> topic, for the cross-topic check at the end
SEEN: dict[str, str] = {}


class Action(OutboxAction):
    """An outbox action whose single row is read back from Kafka and checked."""

    def expect(self, kafka, etype: str, key: str, data: dict) -> dict:
        """The one outbox row of the action, read back from Kafka and checked."""
        row = self.only_row()
        topic = TOPIC_OF[etype]
        assert row["topic"] == topic and row["event_type"] == etype, row

        msgs = wait_for_events(kafka.bootstrap, topic, {row["event_id"]}, timeout=60)
        assert msgs, f"{etype} {row['event_id']} did not reach {topic} within 60 s"
        assert len(msgs) == 1, f"{etype} delivered {len(msgs)} times: {msgs}"
        m = msgs[0]
        SEEN[row["event_id"]] = topic

        # key and headers
        assert m.key == key, f"Kafka key {m.key!r}, expected {key!r} for {etype}"
        assert sorted(k for k, _ in m.headers) == ["event_id", "event_type"], m.headers
        assert m.header("event_id") == row["event_id"], (m.headers, row["event_id"])
        assert m.header("event_type") == etype, m.headers

        # envelope
        assert m.payload == row["payload"], "Kafka payload differs from the outbox row"
        env = self.check_envelope(m.payload, etype, data)  # envelope and data
        assert env["id"] == m.header("event_id") == row["event_id"]

        # no secret anywhere in the message
        whole = json.dumps({"key": m.key, "headers": m.headers, "payload": m.payload})
        assert_no_secret_keys(env)
        low = m.payload.lower()
        for word in ("password", "hash", "token", "$argon2"):
            assert word not in low, f"{word!r} in the Kafka message: {m.payload}"
        for s in self.client.server.secrets:
            assert s not in whole and s not in m.payload, \
                f"a password or token ({s[:6]}…) in a Kafka message"

        # the relay marks the row sent (after the ack, so allow a moment)
        def sent():
            r = [x for x in self.db.outbox_after(self.before) if x["id"] == row["id"]]
            return r and r[0]["sent_at"] is not None and r[0]
        done = wait_until(sent, 30, what=f"sent_at of outbox row {row['id']}")
        assert isinstance(done["sent_at"], int) and done["sent_at"] >= row["created_at"], done
        return env


def assert_no_secret_keys(obj, path="$") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            low = k.lower()
            assert not any(w in low for w in ("password", "hash", "token")), \
                f"secret-looking key {path}.{k}"
            assert_no_secret_keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_no_secret_keys(v, f"{path}[{i}]")


@pytest.fixture(scope="module")
def people(client):
    """Two logged-in users (their own events are checked by the tests below)."""
    a = client.new_user()
    b = client.new_user()
    return a, b


def test_user_registered(kafka, client):
    with Action(client) as act:
        r, f = client.register_raw(username=f"Kaf_{hexid(4)}", first_name=" Käthe ",
                                   last_name="Topic", email=f"KT_{hexid(4)}@Example.com")
    assert r.status == 201, r
    u = r.json["user"]
    act.expect(kafka, "user.registered", u["id"], {
        "user_id": u["id"], "username": u["username"], "email": u["email"],
        "first_name": "Käthe", "last_name": "Topic", "registered_at": u["created_at"]})
    assert u["username"] == f["username"].lower() and u["email"] == f["email"].lower()


def test_user_logged_in(kafka, client):
    u = client.register()
    with Action(client) as act:
        r = client.login_raw(u.email.upper(), u.password)
    assert r.status == 200, r
    user = r.json["user"]
    assert user["id"] == u.id
    act.expect(kafka, "user.logged_in", u.id, {
        "user_id": u.id, "username": user["username"], "email": user["email"],
        "logged_in_at": NOW})


def test_user_logged_out(kafka, client):
    u = client.new_user()
    with Action(client) as act:
        assert client.delete("/api/v1/sessions/current", token=u.token).status == 204
    act.expect(kafka, "user.logged_out", u.id, {
        "user_id": u.id, "username": u.username, "logged_out_at": NOW})


def test_user_logged_out_when_another_session_is_ended(kafka, client):
    """Issue 28: ending a session from the list (DELETE /api/v1/sessions/{id}) publishes
    user.logged_out as a logout does; so does each session "log out everywhere else" ends."""
    u = client.new_user()
    second = client.login(u)
    others = [s["id"] for s in client.get("/api/v1/sessions", token=second).json["items"]
              if not s["current"]]
    assert len(others) == 1, others
    with Action(client) as act:
        assert client.delete(f"/api/v1/sessions/{others[0]}", token=second).status == 204
    act.expect(kafka, "user.logged_out", u.id, {
        "user_id": u.id, "username": u.username, "logged_out_at": NOW})
    client.login(u)
    third = u.token
    with Action(client) as act:
        r = client.delete("/api/v1/sessions/others", token=third)
        assert r.status == 200 and r.json == {"revoked": 1}, r
    act.expect(kafka, "user.logged_out", u.id, {
        "user_id": u.id, "username": u.username, "logged_out_at": NOW})


def test_post_created(kafka, client, people):
    a, _ = people
    with Action(client) as act:
        p = client.create_post(a, "  a post for Kafka, ünïcode ✓ \"quoted\"  ")
    act.expect(kafka, "post.created", p["id"], {
        "post_id": p["id"], "user_id": a.id, "username": a.username, "email": a.email,
        "content": "a post for Kafka, ünïcode ✓ \"quoted\"", "created_at": p["created_at"]})


def test_comment_created(kafka, client, people):
    a, b = people
    assert client.follow(b, a).status == 204
    p = client.create_post(a, "comment on me")
    with Action(client) as act:
        c = client.create_comment(b, p["id"], " a comment on Kafka ")
    act.expect(kafka, "comment.created", p["id"], {
        "comment_id": c["id"], "post_id": p["id"], "post_author_id": a.id,
        "user_id": b.id, "username": b.username, "email": b.email,
        "content": "a comment on Kafka", "created_at": c["created_at"]})


def test_comment_deleted(kafka, client, people):
    """Issue 27: comment.deleted on bsocial.comments, keyed by the post like comment.created,
    exactly once, through the outbox (written in the delete's transaction)."""
    a, b = people
    client.follow(b, a)
    p = client.create_post(a, "a comment on me will go")
    c = client.create_comment(b, p["id"], "soon gone")
    with Action(client) as act:
        assert client.delete(f"/api/v1/comments/{c['id']}", token=b.token).status == 204
    act.expect(kafka, "comment.deleted", p["id"], {
        "comment_id": c["id"], "post_id": p["id"], "post_author_id": a.id,
        "user_id": b.id, "username": b.username, "deleted_at": NOW})
    # A refused delete (not the author, or a second time) writes nothing.
    with Action(client) as act:
        assert client.delete(f"/api/v1/comments/{c['id']}", token=b.token).status == 404
    assert act.rows() == []


def test_post_deleted(kafka, client, people):
    """Issue 27: post.deleted on bsocial.posts, keyed by the post, exactly once; its comments
    get no comment.deleted of their own."""
    a, b = people
    client.follow(b, a)
    p = client.create_post(a, "a post that goes")
    client.create_comment(b, p["id"], "with a comment")
    with Action(client) as act:
        assert client.delete(f"/api/v1/posts/{p['id']}", token=b.token).status == 404
    assert act.rows() == [], "a refused delete wrote an event"
    with Action(client) as act:
        assert client.delete(f"/api/v1/posts/{p['id']}", token=a.token).status == 204
    act.expect(kafka, "post.deleted", p["id"], {
        "post_id": p["id"], "user_id": a.id, "username": a.username, "deleted_at": NOW})


def test_follow_created_and_deleted(kafka, client):
    x = client.new_user()
    y = client.register()
    with Action(client) as act:
        assert client.follow(x, y).status == 204
    act.expect(kafka, "follow.created", x.id, {
        "follower_id": x.id, "follower_username": x.username, "followee_id": y.id,
        "followee_username": y.username, "at": NOW})
    with Action(client) as act:
        assert client.unfollow(x, y).status == 204
    act.expect(kafka, "follow.deleted", x.id, {
        "follower_id": x.id, "follower_username": x.username, "followee_id": y.id,
        "followee_username": y.username, "at": NOW})


def test_every_row_sent_once_on_its_topic(kafka, client):
    """All outbox rows of this server: sent_at set, each event id exactly once in Kafka,
    on its own topic only, keyed as its row, with the row's payload."""
    db = client.server.db
    rows = wait_until(lambda: (lambda rs: rs if rs and not unsent(rs) else None)(
        db.outbox_after(0)), 60, what="every outbox row sent")
    assert {r["event_type"] for r in rows} >= set(TOPIC_OF), \
        f"not every event type was produced: {sorted({r['event_type'] for r in rows})}"
    ids = {r["event_id"] for r in rows}
    assert len(ids) == len(rows)
    msgs = [m for m in read_all(kafka.bootstrap) if m.event_id in ids]
    by_id: dict[str, list] = {}
    for m in msgs:
        by_id.setdefault(m.event_id, []).append(m)
    missing = ids - set(by_id)
    assert not missing, f"{len(missing)} outbox events never reached Kafka"
    dups = {k: len(v) for k, v in by_id.items() if len(v) > 1}
    assert not dups, f"events delivered more than once: {dups}"
    for r in rows:
        (m,) = by_id[r["event_id"]]
        assert m.topic == r["topic"] == TOPIC_OF[r["event_type"]], (m.topic, r)
        assert m.key == r["event_key"] and m.payload == r["payload"], (m, r)
        assert isinstance(r["sent_at"], int) and r["sent_at"] >= r["created_at"], r
    assert SEEN and set(SEEN) <= ids
    assert set(TOPICS) == set(TOPIC_OF.values())


def test_readyz_and_metrics_report_the_relay(client):
    r = client.get("/readyz")
    assert r.status == 200, r
    ob = r.json["outbox"]
    assert ob["relay"] == "running" and ob["kafka"] == "ok", ob
    assert ob["backlog"] == 0, ob
    m = client.get("/metrics")
    assert m.status == 200
    from bsocial_testkit.kafka import metric_value
    assert metric_value(m.raw.decode(), "bsocial_outbox_backlog") == 0
    assert metric_value(m.raw.decode(), "bsocial_outbox_published_total") >= 7
