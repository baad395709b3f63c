"""Every flood has a bound (issue 24, item 3), black-box on a real server:

- per-user limits on posts, comments, follows (and unfollows) and people searches: beyond
  the burst 429 with Retry-After and the problem body every 429 has; another user is not
  affected;
- a notification WebSocket that sends frames beyond its rate is closed with 1008.

Small limits through the environment, so that on a server without them (today's main
before this item) every request succeeds and the socket stays open: the tests fail there.
"""

from __future__ import annotations

import json
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from bsocial_testkit.api import assert_error
from bsocial_testkit.http import Client

BURST = 3
LIMITS = {
    "BSOCIAL_POSTS_PER_MINUTE": "1", "BSOCIAL_POST_BURST": str(BURST),
    "BSOCIAL_COMMENTS_PER_MINUTE": "1", "BSOCIAL_COMMENT_BURST": str(BURST),
    "BSOCIAL_FOLLOWS_PER_MINUTE": "1", "BSOCIAL_FOLLOW_BURST": str(BURST),
    "BSOCIAL_SEARCHES_PER_MINUTE": "1", "BSOCIAL_SEARCH_BURST": str(BURST),
}


def _refused(r, what: str) -> None:
    assert_error(r, 429, "rate_limited")
    ra = r.header("Retry-After")
    assert ra is not None and ra.strip().isdigit(), f"Retry-After must be seconds: {ra!r}"
    assert 1 <= int(ra) <= 60, ra  # one per minute: the next token within a minute
    assert what in r.json["error"]["message"], r.json


def test_per_user_write_and_search_limits_answer_429_with_retry_after(start_server):
    srv = start_server(env=LIMITS)
    c = Client(srv)
    me, other = c.new_user(), c.new_user()
    targets = [c.new_user() for _ in range(2)]

    # posts
    for i in range(BURST):
        c.create_post(me, f"post {i}")
    _refused(c.post("/api/v1/posts", {"content": "one too many"}, token=me.token), "posts")
    post = c.create_post(other, "another user still posts")
    assert c.follow(me, other).status == 204  # to see (and comment on) that post: follow 1

    # comments
    for i in range(BURST):
        c.create_comment(me, post["id"], f"comment {i}")
    _refused(c.post(f"/api/v1/posts/{post['id']}/comments", {"content": "one too many"},
                    token=me.token), "comments")
    c.create_comment(other, post["id"], "another user still comments")

    # follows and unfollows share one budget (one follow spent above)
    assert c.follow(me, targets[0]).status == 204
    assert c.unfollow(me, targets[0]).status == 204
    _refused(c.follow(me, targets[1]), "follows")
    _refused(c.unfollow(me, other), "follows")
    assert c.follow(other, targets[1]).status == 204

    # people searches
    for _ in range(BURST):
        assert c.get("/api/v1/users?q=zz", token=me.token).status == 200
    _refused(c.get("/api/v1/users?q=zz", token=me.token), "searches")
    assert c.get("/api/v1/users?q=zz", token=other.token).status == 200

    # nothing refused was written
    mine = c.list_all(f"/api/v1/users/{me.username}/posts", me.token)
    assert len(mine) == BURST, mine


def test_a_socket_flooding_frames_is_closed_with_1008(start_server):
    srv = start_server(env={"BSOCIAL_WS_FRAMES_PER_SECOND": "5", "BSOCIAL_WS_FRAME_BURST": "20"})
    c = Client(srv)
    u = c.new_user()
    ws = ws_connect(f"ws://127.0.0.1:{srv.port}/api/v1/notifications/stream",
                    additional_headers={"Authorization": f"Bearer {u.token}"},
                    compression=None, open_timeout=10, close_timeout=5)
    frame = json.dumps({"type": "ack", "id": "999999999"})
    sent = 0
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and sent < 5000:
            ws.send(frame)
            sent += 1
        # The server closes; the client's reads end with the close it sent.
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed:
        pass
    except TimeoutError:
        pass
    finally:
        rcvd = ws.protocol.close_rcvd
        ws.close()
    assert rcvd is not None, f"the server never closed a socket that sent {sent} frames"
    assert rcvd.code == 1008 and rcvd.reason == "too many frames", rcvd
    # The server is fine and the user may open a new socket.
    ws2 = ws_connect(f"ws://127.0.0.1:{srv.port}/api/v1/notifications/stream",
                     additional_headers={"Authorization": f"Bearer {u.token}"},
                     compression=None, open_timeout=10)
    ws2.close()
