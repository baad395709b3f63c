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
