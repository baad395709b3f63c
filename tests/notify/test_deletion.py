"""Issue 27: deleted comments and posts notify nobody, whatever order the notifier sees
the events in. A comment.created that reaches the notifier after its comment was deleted
(two relays on PostgreSQL may publish out of order; here written to the real topic with
kcat after the delete) creates nothing and is skipped, never parked as poison; a comment
deleted right after it was written leaves no notification either way; deleting a post
takes the notifications of its comments."""

from __future__ import annotations

import json

from bsocial_testkit.kafka import metric_value
from bsocial_testkit.notify import comment, history, make_scene, wait_history

from test_forged_events import _produce


def _metric(deploy, name: str) -> float:
    r = deploy.nclient.get("/metrics")
    assert r.status == 200, r
    return metric_value(r.raw.decode(), name)


def _parked_rows(deploy) -> int:
    return int(deploy.api.db.rows("SELECT COUNT(*) FROM parked_messages")[0][0])


def test_a_late_comment_created_after_the_deletion_creates_nothing(deploy):
    c = deploy.client
    s = make_scene(c)  # A's post, B follows A
    db = deploy.api.db
    # The comment exists only in the database (no genuine event races ours), is deleted by
    # its author through the API, and only then does its comment.created arrive.
    content = f"deleted before its event {s.b.username}"
    db.execute_admin(
        f"INSERT INTO comments (post_id, user_id, content, created_at) VALUES "
        f"({s.post['id']}, {s.b.id}, '{content}', 1790000000000);",
        f"INSERT INTO comments (post_id, user_id, content, created_at) VALUES "
        f"({s.post['id']}, {s.b.id}, '{content}', 1790000000000);")
    comment_id = str(db.rows(f"SELECT id FROM comments WHERE content = '{content}'")[0][0])
    assert c.delete(f"/api/v1/comments/{comment_id}", token=s.b.token).status == 204
    parked_before = _metric(deploy, "bsocial_notifier_parked_total")
    skipped_before = _metric(deploy, "bsocial_notifier_forged_total")
    parked_rows = _parked_rows(deploy)
    late = json.dumps({
        "id": f"late-{comment_id}", "type": "comment.created", "version": 1,
        "occurred_at": "2026-09-21T14:13:20.000Z",
        "data": {"comment_id": comment_id, "post_id": s.post["id"], "post_author_id": s.a.id,
                 "user_id": s.b.id, "username": s.b.username, "email": s.b.email,
                 "content": content, "created_at": "2026-09-21T14:13:20.000Z"},
    })
    _produce(deploy.kafka.bootstrap, s.post["id"], late)
    # A genuine comment after it on the same partition: once it is a notification, the late
    # event before it was consumed.
    later, _, _ = comment(c, s.b, s.post["id"], "a comment that stays")
    hist = wait_history(c, s.a, 1, timeout=60)
    assert [n["comment_id"] for n in hist] == [later["id"]], hist
    assert _metric(deploy, "bsocial_notifier_parked_total") == parked_before
    assert _parked_rows(deploy) == parked_rows, "the late event was parked as poison"
    # Skipped and counted with the events the database does not confirm (info-level log
    # `event=comment_event_skipped reason=no_such_comment`).
    assert _metric(deploy, "bsocial_notifier_forged_total") == skipped_before + 1


def test_a_comment_deleted_at_once_and_a_deleted_post_leave_no_notification(deploy):
    c = deploy.client
    s = make_scene(c, commenters=2)
    b, other = s.others
    # Deleted right after it was written: its event may be consumed before or after the
    # delete; either way no notification is left.
    gone, _, _ = comment(c, b, s.post["id"], "written and deleted")
    assert c.delete(f"/api/v1/comments/{gone['id']}", token=b.token).status == 204
    # Notified, then deleted: its notification goes with it.
    first, _, _ = comment(c, other, s.post["id"], "notified, then deleted")
    wait_history(c, s.a, 1, timeout=60)
    assert c.delete(f"/api/v1/comments/{first['id']}", token=other.token).status == 204
    assert history(c, s.a) == []
    db = deploy.api.db
    groups = f"SELECT COUNT(*) FROM notification_groups WHERE post_id = {s.post['id']}"
    assert int(db.rows(groups)[0][0]) == 0, "the group of a deleted notification stayed"
    # Comments after them (same partition): consumed in order, so everything before is done.
    kept, _, _ = comment(c, b, s.post["id"], "kept")
    hist = wait_history(c, s.a, 1, timeout=60)
    assert [n["comment_id"] for n in hist] == [kept["id"]], hist
    assert db.rows(f"SELECT total, actor_count FROM notification_groups"
                   f" WHERE post_id = {s.post['id']}") == [(1, 1)] or \
        [tuple(map(int, r)) for r in db.rows(f"SELECT total, actor_count FROM"
                                             f" notification_groups WHERE post_id = {s.post['id']}")] \
        == [(1, 1)]

    # Deleting the post takes the notifications of its comments.
    assert c.delete(f"/api/v1/posts/{s.post['id']}", token=s.a.token).status == 204
    assert history(c, s.a) == []
    assert int(db.rows(groups)[0][0]) == 0
    assert int(db.rows(
        f"SELECT COUNT(*) FROM notifications WHERE post_id = {s.post['id']}")[0][0]) == 0
