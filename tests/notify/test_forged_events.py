"""The notifier does not trust comment events for who gets notified (issue 9, item 8):
a comment.created written straight to the real `bsocial.comments` topic, naming a victim
as the post's author, is skipped and counted; genuine comments still notify."""

from __future__ import annotations

import json
import random
import subprocess

from bsocial_testkit.kafka import kcat, metric_value
from bsocial_testkit.notify import claim, comment, history, make_scene, wait_history
from bsocial_testkit.waiting import wait_until

TOPIC = "bsocial.comments"


def _forged(comment_id: str, post_id: str, author_id: str, commenter, created_at: str) -> str:
    return json.dumps({
        "id": f"forged-{comment_id}", "type": "comment.created", "version": 1,
        "occurred_at": created_at,
        "data": {"comment_id": comment_id, "post_id": post_id, "post_author_id": author_id,
                 "user_id": commenter.id, "username": commenter.username,
                 "email": commenter.email, "content": "forged", "created_at": created_at},
    })


def _produce(bootstrap: str, key: str, payload: str) -> None:
    # Keyed by the post id like the relay's events: same partition, so order is kept.
    r = subprocess.run([kcat(), "-b", bootstrap, "-P", "-t", TOPIC, "-K", "\t"],
                       input=f"{key}\t{payload}\n", text=True, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]


def _forged_total(deploy) -> float:
    r = deploy.nclient.get("/metrics")
    assert r.status == 200, r
    return metric_value(r.raw.decode(), "bsocial_notifier_forged_total")


def test_forged_comment_events_notify_nobody(deploy):
    c = deploy.client
    s = make_scene(c)  # A's post, B follows A
    victim = c.new_user()
    genuine, _, _ = comment(c, s.b, s.post["id"], "a real comment")
    wait_history(c, s.a, 1, timeout=60)  # consumed before the forgeries are written
    before = _forged_total(deploy)

    created_at = genuine["created_at"]
    missing_id = str(random.randint(10**14, 10**15))
    forged = [
        # a comment that does not exist, "on a post by" the victim
        _forged(missing_id, s.post["id"], victim.id, s.b, created_at),
        # a real comment id with another author than the post's
        _forged(genuine["id"], s.post["id"], victim.id, s.b, created_at),
    ]
    for payload in forged:
        _produce(deploy.kafka.bootstrap, s.post["id"], payload)
    # A genuine comment after them in the same partition: once it is a notification, the
    # forged events before it were consumed.
    later, _, _ = comment(c, s.b, s.post["id"], "another real comment")
    hist = wait_history(c, s.a, 2, timeout=60)
    assert {n["comment_id"] for n in hist} == {genuine["id"], later["id"]}, hist

    assert history(c, victim) == [], "a forged event notified its victim"
    assert claim(c, victim) == []
    wait_until(lambda: _forged_total(deploy) >= before + 2, 30, what="forged_total +2")
    log = deploy.notifier.all_stderr_text()
    assert "event=forged_comment_event_skipped" in log
    assert "forged" not in [n["excerpt"] for n in hist]


def test_a_notification_says_what_the_stored_comment_says(deploy):
    """Issue 24, item 6: the notifier copied the commenter's name, the text and the time from
    the event. Here a comment exists only in the database (written straight to it, so no
    genuine event races ours), and an event names it with the right ids but another
    username, text and time: the notification shows the stored comment. On main it showed
    "mallory", "click evil.example" and 1999."""
    c = deploy.client
    s = make_scene(c)  # A's post, B follows A
    db = deploy.api.db
    content = f"the stored text {random.randint(0, 10**9)}"
    stored_at = 1_790_000_123_456
    db.execute_admin(
        f"INSERT INTO comments (post_id, user_id, content, created_at) VALUES "
        f"({s.post['id']}, {s.b.id}, '{content}', {stored_at});",
        f"INSERT INTO comments (post_id, user_id, content, created_at) VALUES "
        f"({s.post['id']}, {s.b.id}, '{content}', {stored_at});")
    comment_id = db.rows(f"SELECT id FROM comments WHERE content = '{content}'")[0][0]
    tampered = json.dumps({
        "id": f"tampered-{comment_id}", "type": "comment.created", "version": 1,
        "occurred_at": "1999-01-01T00:00:00.000Z",
        "data": {"comment_id": str(comment_id), "post_id": s.post["id"],
                 "post_author_id": s.a.id, "user_id": s.b.id, "username": "mallory",
                 "email": "mallory@example.com", "content": "click evil.example",
                 "created_at": "1999-01-01T00:00:00.000Z"},
    })
    _produce(deploy.kafka.bootstrap, s.post["id"], tampered)
    hist = wait_history(c, s.a, 1, timeout=60)
    n = hist[0]
    assert n["comment_id"] == str(comment_id), hist
    assert n["actor"]["username"] == s.b.username, n
    assert n["excerpt"] == content, n
    assert n["created_at"] == "2026-09-21T14:15:23.456Z", n


def test_a_poison_message_is_parked_and_the_partition_moves_on(deploy):
    """Issue 24, item 6: a message whose notification the database refuses for good (here a
    trigger raises for one excerpt) is retried a few times, then parked (logged, counted,
    recorded in parked_messages) and the comments after it on the same partition are
    notified. On main the batch was retried forever and nothing after it arrived."""
    c = deploy.client
    s = make_scene(c)  # A's post, B follows A
    marker = f"poison{random.randint(0, 10**9)}"
    db = deploy.api.db
    db.execute_admin(
        f"CREATE TRIGGER {marker} BEFORE INSERT ON notifications WHEN NEW.excerpt = '{marker}' "
        f"BEGIN SELECT RAISE(ABORT, 'refused for good'); END;",
        f"CREATE FUNCTION {marker}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN IF NEW.excerpt = '{marker}' THEN RAISE EXCEPTION 'refused for good'; END IF; "
        f"RETURN NEW; END $$; "
        f"CREATE TRIGGER {marker} BEFORE INSERT ON notifications "
        f"FOR EACH ROW EXECUTE FUNCTION {marker}();")
    try:
        try:
            before = metric_value(deploy.nclient.get("/metrics").raw.decode(),
                                  "bsocial_notifier_parked_total")
        except AssertionError:  # a binary without the counter: fail on the behaviour below
            before = 0
        poison, _, _ = comment(c, s.b, s.post["id"], marker)
        after, _, _ = comment(c, s.b, s.post["id"], "after the poison")
        hist = wait_history(c, s.a, 1, timeout=60)
        assert [n["comment_id"] for n in hist] == [after["id"]], hist
        wait_until(lambda: metric_value(deploy.nclient.get("/metrics").raw.decode(),
                                        "bsocial_notifier_parked_total") >= before + 1,
                   30, what="parked_total +1")
        rows = db.rows("SELECT consumer, topic, reason FROM parked_messages")
        assert any(r[1] == TOPIC and "sql_error" in r[2] for r in rows), rows
        log = deploy.notifier.all_stderr_text()
        assert "event=poison_message_parked" in log
        assert marker not in log, "the parked message's content reached the log"
    finally:
        db.execute_admin(f"DROP TRIGGER {marker};",
                         f"DROP TRIGGER {marker} ON notifications; DROP FUNCTION {marker}();")
