"""The WebSocket /api/v1/notifications/stream: push of new notifications, ack, unacked
ones staying claimable, the backlog first on reconnect, and the push reaching a socket on
any instance (API or notifier) whichever instance took the comment (issue #4)."""

from __future__ import annotations

import pytest

from bsocial_testkit.notify import (
    check_notification, claim, comment, history, make_scene, open_stream, wait_history)
from bsocial_testkit.waiting import wait_until


def _delivered(client, user, notification_ids: set[str]) -> bool:
    return all(n["delivered_at"] is not None
               for n in history(client, user) if n["id"] in notification_ids)


def test_push_then_ack_is_not_claimable_unacked_is(deploy):
    c = deploy.client
    s = make_scene(c)
    with open_stream(deploy.api.port, token=s.a.token) as ws:
        assert ws.quiet(0.3) == [], "nothing undelivered yet, nothing must arrive"
        cm, t_start, t_201 = comment(c, s.b, s.post["id"], "pushed to A")
        t_frame, n = ws.wait_for_comment(cm["id"], timeout=30)
        print(f"\nws push latency (api socket, comment via api): "
              f"{(t_frame - t_201) * 1000:.1f} ms after the 201, "
              f"{(t_frame - t_start) * 1000:.1f} ms after the request start")
        check_notification(n, delivered=False)
        assert n["post_id"] == s.post["id"] and n["excerpt"] == "pushed to A"
        assert n["actor"] == {"id": s.b.id, "username": s.b.username}
        assert n["created_at"] == cm["created_at"]
        (h,) = history(c, s.a)
        assert h == n, "the pushed notification equals the history entry"

        ws.ack(n["id"])
        wait_until(lambda: _delivered(c, s.a, {n["id"]}), 10, what="ack marks it delivered")
        assert claim(c, s.a) == [], "an acked notification is never claimed"

        cm2, _, _ = comment(c, s.b, s.post["id"], "not acked")
        _, n2 = ws.wait_for_comment(cm2["id"], timeout=30)
        assert ws.quiet(0.3) == [], "each notification is pushed once"
    # not acked: still claimable, exactly once
    got = claim(c, s.a)
    assert [x["id"] for x in got] == [n2["id"]], got
    assert claim(c, s.a) == []


def test_reconnect_sends_undelivered_first_oldest_first(deploy):
    c = deploy.client
    s = make_scene(c)
    with open_stream(deploy.api.port, token=s.a.token) as ws:
        c1 = comment(c, s.b, s.post["id"], "first")[0]
        _, n1 = ws.wait_for_comment(c1["id"])
        # not acked
    later = [comment(c, s.b, s.post["id"], f"while away {i}")[0]["id"] for i in range(3)]
    wait_history(c, s.a, 4)
    with open_stream(deploy.notifier.port, token=s.a.token) as ws:
        backlog = ws.notifications(4, timeout=30)
        assert [n["comment_id"] for n in backlog] == [c1["id"], *later], \
            "on connect: every undelivered notification, oldest first"
        assert backlog[0] == n1
        live = comment(c, s.b, s.post["id"], "live again")[0]
        _, n5 = ws.next_notification(timeout=30)
        assert n5["comment_id"] == live["id"], "then the new one"
        assert ws.quiet(0.3) == [], "no notification twice"
        for n in backlog[:2]:
            ws.ack(n["id"])
        wait_until(lambda: _delivered(c, s.a, {backlog[0]["id"], backlog[1]["id"]}), 10,
                   what="acks applied")
    # acked ones are gone; the rest is sent again on the next connect and stays claimable
    with open_stream(deploy.api2.port, token=s.a.token) as ws:
        again = ws.notifications(3, timeout=30)
        assert [n["comment_id"] for n in again] == [later[1], later[2], live["id"]]
        assert ws.quiet(0.3) == []
    assert [n["comment_id"] for n in claim(c, s.a)] == [later[1], later[2], live["id"]]
    # claimed = delivered: a new socket gets no backlog
    with open_stream(deploy.api.port, token=s.a.token) as ws:
        assert ws.quiet(0.5) == []


def test_client_messages_other_than_ack_get_an_error(deploy):
    c = deploy.client
    s = make_scene(c)
    other = make_scene(c)
    oc = comment(c, other.b, other.post["id"], "for the other A")[0]
    (on,) = wait_history(c, other.a, 1)
    assert on["comment_id"] == oc["id"]
    with open_stream(deploy.notifier.port, token=s.a.token) as ws:
        for bad in ("not json", "[]", '{"type":"ack"}', '{"type":"ack","id":7}',
                    '{"type":"ack","id":"abc"}', '{"type":"subscribe","id":"1"}'):
            ws.send_text(bad)
            _, f = ws.next_frame(timeout=10)
            assert f.get("type") == "error", (bad, f)
        # acking someone else's notification changes nothing
        ws.ack(on["id"])
        ws.ack("999999999")
        assert ws.quiet(0.5) == []
        # the socket still works
        cm = comment(c, s.b, s.post["id"], "still open")[0]
        ws.wait_for_comment(cm["id"])
    assert [n["id"] for n in claim(c, other.a)] == [on["id"]], "not acked by a stranger"


INSTANCES = {"api": "api", "api2": "api2", "notifier": "notifier"}


@pytest.mark.parametrize("socket_on,comment_via", [
    ("notifier", "api"),
    ("api", "api2"),
    ("api2", "api"),
    ("notifier", "api2"),
])
def test_push_reaches_a_socket_on_another_instance(deploy, socket_on, comment_via):
    port = getattr(deploy, socket_on).port
    via = {"api": deploy.client, "api2": deploy.client2}[comment_via]
    s = make_scene(deploy.client)
    with open_stream(port, token=s.a.token) as ws:
        cm, t_start, t_201 = comment(via, s.b, s.post["id"], f"via {comment_via}")
        t_frame, n = ws.wait_for_comment(cm["id"], timeout=30)
        print(f"\nws push latency ({socket_on} socket, comment via {comment_via}): "
              f"{(t_frame - t_201) * 1000:.1f} ms after the 201")
        assert n["excerpt"] == f"via {comment_via}"
        ws.ack(n["id"])
        wait_until(lambda: _delivered(deploy.client, s.a, {n["id"]}), 10, what="ack applied")
    assert claim(deploy.client, s.a) == []


def test_every_socket_of_the_user_gets_the_push(deploy):
    """Three tabs of A, one on each instance: each receives the notification once."""
    c = deploy.client
    s = make_scene(c)
    socks = [open_stream(p, token=s.a.token)
             for p in (deploy.api.port, deploy.api2.port, deploy.notifier.port)]
    stranger = make_scene(c)
    try:
        with open_stream(deploy.api.port, token=stranger.a.token) as ws_other:
            cm = comment(deploy.client2, s.b, s.post["id"], "to all tabs")[0]
            for ws in socks:
                _, n = ws.wait_for_comment(cm["id"], timeout=30)
                assert n["excerpt"] == "to all tabs"
            for ws in socks:
                assert ws.quiet(0.2) == []
            assert ws_other.quiet(0.3) == [], "another user's socket gets nothing"
    finally:
        for ws in socks:
            ws.close()
