"""Claim and history over HTTP, on every instance: exactly one notification per comment on
someone else's post, none for your own comment, each claimed once, atomic under
concurrency (issue #4)."""

from __future__ import annotations

import http.client
import json
import threading
import time

from bsocial_testkit.api import assert_error, ts_to_ms
from bsocial_testkit.kafka import metric_value
from bsocial_testkit.notify import (
    CLAIM_PATH, HISTORY_PATH, check_notification, claim, comment, history, make_scene,
    wait_history)
from bsocial_testkit.waiting import wait_until


def notifier_metrics(deploy) -> dict[str, float]:
    r = deploy.nclient.get("/metrics")
    assert r.status == 200, r
    text = r.raw.decode()
    return {name: metric_value(text, name) for name in (
        "bsocial_notifier_events_total", "bsocial_notifier_notifications_total",
        "bsocial_notifier_poison_total", "bsocial_notifier_sockets")}


def test_comment_by_other_is_claimed_once_own_comment_never(deploy):
    c = deploy.client
    s = make_scene(c)
    before = notifier_metrics(deploy)

    # A comments on A's own post first, then B on the same post: both events carry the
    # post id as key, so they sit in one partition in this order; once B's notification
    # exists, the notifier has consumed A's own comment too.
    own, _, _ = comment(c, s.a, s.post["id"], "my own remark")
    theirs, _, _ = comment(c, s.b, s.post["id"], "hello from B")
    hist = wait_history(c, s.a, 1, timeout=60)

    wait_until(lambda: notifier_metrics(deploy)["bsocial_notifier_events_total"]
               >= before["bsocial_notifier_events_total"] + 2, 30,
               what="events_total +2 (both comments consumed)")
    after = notifier_metrics(deploy)
    assert after["bsocial_notifier_notifications_total"] >= \
        before["bsocial_notifier_notifications_total"] + 1, (before, after)
    assert after["bsocial_notifier_poison_total"] == before["bsocial_notifier_poison_total"]

    # history (read-only, before any claim): B's comment only, undelivered
    assert [n["comment_id"] for n in hist] == [theirs["id"]], hist
    n = hist[0]
    check_notification(n, delivered=False)
    assert n["post_id"] == s.post["id"]
    assert n["actor"] == {"id": s.b.id, "username": s.b.username}
    assert n["excerpt"] == "hello from B"
    assert n["created_at"] == theirs["created_at"], (n, theirs)

    # the claim returns exactly it; a second claim nothing
    first = claim(c, s.a)
    assert [x["id"] for x in first] == [n["id"]], first
    got = first[0]
    check_notification(got, delivered=True)
    for k in ("id", "type", "post_id", "comment_id", "actor", "excerpt", "created_at"):
        assert got[k] == n[k], (k, got, n)
    assert claim(c, s.a) == []
    # the commenters get nothing: B commented, nobody commented on B's posts
    assert claim(c, s.b) == []
    assert history(c, s.b) == []
    # A's own comment never became a notification
    assert own["id"] not in {x["comment_id"] for x in history(c, s.a)}

    # the history keeps it, now with delivered_at set, on every instance
    for cl in (deploy.client, deploy.client2, deploy.nclient):
        h = history(cl, s.a)
        assert [x["id"] for x in h] == [n["id"]], h
        check_notification(h[0], delivered=True)
        assert h[0]["delivered_at"] == got["delivered_at"], (h[0], got)
        assert ts_to_ms(h[0]["delivered_at"]) >= ts_to_ms(h[0]["created_at"])


def test_claim_on_any_instance_and_exactly_once(deploy):
    c = deploy.client
    s = make_scene(c)
    ids = [comment(c, s.b, s.post["id"], f"c{i}")[0]["id"] for i in range(3)]
    wait_history(c, s.a, 3)
    got = claim(deploy.nclient, s.a)  # on the notifier's port
    assert [n["comment_id"] for n in got] == ids, "claim: oldest first"
    assert claim(deploy.client, s.a) == []
    assert claim(deploy.client2, s.a) == []
    assert claim(deploy.nclient, s.a) == []
    more = comment(c, s.b, s.post["id"], "one more")[0]["id"]
    wait_history(c, s.a, 4)
    assert [n["comment_id"] for n in claim(deploy.client2, s.a)] == [more]


def test_excerpt_is_first_100_code_points(deploy):
    c = deploy.client
    s = make_scene(c)
    exact = "é" * 99 + "🎉"                      # 100 code points: kept whole
    longer = "ü" * 100 + "🎉" + "tail"           # 105: cut after 100, "…" appended
    plain = "x" * 101
    cids = [comment(c, s.b, s.post["id"], t)[0]["id"] for t in (exact, longer, plain)]
    hist = wait_history(c, s.a, 3)
    by_comment = {n["comment_id"]: n for n in hist}
    assert by_comment[cids[0]]["excerpt"] == exact
    assert by_comment[cids[1]]["excerpt"] == "ü" * 100 + "…"
    assert by_comment[cids[2]]["excerpt"] == "x" * 100 + "…"


def test_history_pages_newest_first(deploy):
    c = deploy.client
    s = make_scene(c)
    cids = [comment(c, s.b, s.post["id"], f"n{i}")[0]["id"] for i in range(25)]
    wait_history(c, s.a, 25)
    seen: list[dict] = []
    url = f"{HISTORY_PATH}?limit=10"
    pages = 0
    while True:
        r = deploy.nclient.get(url, token=s.a.token)
        assert r.status == 200, r
        assert set(r.json) == {"items", "next_cursor"}, r
        pages += 1
        assert len(r.json["items"]) <= 10
        seen.extend(r.json["items"])
        if r.json["next_cursor"] is None:
            break
        url = f"{HISTORY_PATH}?limit=10&cursor={r.json['next_cursor']}"
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert [n["comment_id"] for n in seen] == list(reversed(cids))
    ids = [int(n["id"]) for n in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 25
    # history is read-only: everything is still claimable
    assert len(claim(c, s.a)) == 25


def test_notification_routes_need_a_token(deploy):
    for cl in (deploy.client, deploy.nclient):
        assert_error(cl.post(CLAIM_PATH), 401, "unauthorized")
        assert_error(cl.get(HISTORY_PATH), 401, "unauthorized")
        assert_error(cl.post(CLAIM_PATH, token="not-a-token"), 401, "unauthorized")
        u = deploy.client.new_user()
        r = deploy.client.get(f"{HISTORY_PATH}?cursor=garbage!!", token=u.token)
        assert r.status in (400, 422), r


# --------------------------------------------------------------------------- races


def _claim_raw(port: int, token: str) -> list[dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", CLAIM_PATH, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, (r.status, body[:300])
        return json.loads(body)["items"]
    finally:
        conn.close()


def test_20_concurrent_claims_over_200_notifications(deploy):
    c = deploy.client
    s = make_scene(c, commenters=4)
    cids: list[str] = []
    lock = threading.Lock()

    def produce(user, n):
        for i in range(n):
            cm = comment(c, user, s.post["id"], f"race {user.username} {i}")[0]
            with lock:
                cids.append(cm["id"])

    ts = [threading.Thread(target=produce, args=(u, 50)) for u in s.others]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(cids) == 200
    wait_history(c, s.a, 200, timeout=90)

    ports = [deploy.api.port, deploy.api2.port, deploy.notifier.port]
    barrier = threading.Barrier(20)
    results: list[list[dict] | BaseException] = [[] for _ in range(20)]

    def racer(i):
        try:
            barrier.wait(timeout=30)
            results[i] = _claim_raw(ports[i % 3], s.a.token)
        except BaseException as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    union = [n for r in results for n in r]
    sizes = sorted((len(r) for r in results), reverse=True)
    print(f"\nclaim race: 20 claims over 200 notifications, sizes {sizes}")
    got = [n["comment_id"] for n in union]
    assert len(got) == len(set(got)), "a notification was claimed twice"
    assert sorted(got, key=int) == sorted(cids, key=int)
    for r in results:
        ids = [int(n["id"]) for n in r]
        assert ids == sorted(ids), "each claim: oldest first"
    assert claim(c, s.a) == []


def test_claims_racing_while_comments_arrive(deploy):
    """20 threads claim in a loop while 200 comments stream in: every notification is
    claimed exactly once."""
    c = deploy.client
    s = make_scene(c, commenters=2)
    cids: list[str] = []
    lock = threading.Lock()
    done_producing = threading.Event()

    def produce(user, n):
        for i in range(n):
            cm = comment(c, user, s.post["id"], f"stream {i}")[0]
            with lock:
                cids.append(cm["id"])

    ports = [deploy.api.port, deploy.api2.port, deploy.notifier.port]
    claimed: list[list[dict]] = [[] for _ in range(20)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def racer(i):
        try:
            while not stop.is_set():
                claimed[i].extend(_claim_raw(ports[i % 3], s.a.token))
                time.sleep(0.02)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    racers = [threading.Thread(target=racer, args=(i,)) for i in range(20)]
    for t in racers:
        t.start()
    producers = [threading.Thread(target=produce, args=(u, 100)) for u in s.others]
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    done_producing.set()
    try:
        wait_until(lambda: sum(len(x) for x in claimed) >= 200 or errors, 90, interval=0.2,
                   what="200 notifications claimed")
    finally:
        stop.set()
        for t in racers:
            t.join(timeout=60)
    assert not errors, errors[:3]
    got = [n["comment_id"] for x in claimed for n in x]
    assert len(got) == len(set(got)), "a notification was claimed twice"
    assert sorted(got, key=int) == sorted(cids, key=int)
    assert claim(c, s.a) == []
    h = history(c, s.a)
    assert len(h) == 200 and all(n["delivered_at"] is not None for n in h)
