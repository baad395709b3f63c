"""Handshake authentication of /api/v1/notifications/stream and closing on logout
(issue #4): no, bad or revoked token -> 401; a foreign Origin -> 403; a token in the
query string is ignored (401); logout on any instance closes the user's open sockets of
that token with 4001 "session ended"."""

from __future__ import annotations

import json
import time

import pytest

from bsocial_testkit.jwt import find_jwt_key, jwt_encode, jwt_parts
from bsocial_testkit.notify import STREAM_PATH, comment, make_scene, open_stream, refused_status


def _ports(deploy):
    return {"api": deploy.api.port, "notifier": deploy.notifier.port}


@pytest.fixture(scope="module")
def user(deploy):
    return deploy.client.new_user()


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_no_token_is_refused_401(deploy, where):
    assert refused_status(_ports(deploy)[where]) == 401


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_bad_tokens_are_refused_401(deploy, user, where):
    port = _ports(deploy)[where]
    h, p, _ = jwt_parts(user.token)
    key = find_jwt_key(user.token, deploy.api.jwt_secret)
    assert key is not None
    wrong_key = jwt_encode(h, p, b"x" * 32)
    expired = jwt_encode(h, dict(p, exp=int(time.time()) - 60), key)
    alg_none = jwt_encode(dict(h, alg="none"), p, None)
    for bad in ("garbage", user.token + "x", wrong_key, expired, alg_none, ""):
        assert refused_status(port, headers={"Authorization": f"Bearer {bad}"}) == 401, bad
    assert refused_status(port, headers={"Authorization": f"Basic {user.token}"}) == 401
    assert refused_status(port, cookie="bsocial_session=garbage") == 401


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_revoked_token_is_refused_401(deploy, where):
    c = deploy.client
    u = c.new_user()
    token = u.token
    with open_stream(_ports(deploy)[where], token=token):
        pass  # accepted while valid
    r = c.delete("/api/v1/sessions/current", token=token)
    assert r.status == 204, r
    assert refused_status(_ports(deploy)[where], token=token) == 401
    assert refused_status(_ports(deploy)[where], cookie=f"bsocial_session={token}") == 401


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_foreign_origin_is_refused_403_own_origin_accepted(deploy, user, where):
    port = _ports(deploy)[where]
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1}", "null",
                   f"https://127.0.0.1.evil.example:{port}"):
        assert refused_status(port, token=user.token, origin=origin) == 403, origin
        assert refused_status(port, cookie=f"bsocial_session={user.token}",
                              origin=origin) == 403, origin
    # the server's own origin (http://<Host>) and no Origin at all are fine
    with open_stream(port, token=user.token, origin=f"http://127.0.0.1:{port}"):
        pass
    with open_stream(port, cookie=f"bsocial_session={user.token}",
                     origin=f"http://127.0.0.1:{port}"):
        pass
    with open_stream(port, token=user.token):
        pass


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_token_in_query_string_is_ignored(deploy, user, where):
    port = _ports(deploy)[where]
    for name in ("token", "access_token", "jwt", "bsocial_session", "authorization"):
        assert refused_status(port, path=f"{STREAM_PATH}?{name}={user.token}") == 401, name
    assert refused_status(port, path=f"{STREAM_PATH}?authorization=Bearer%20{user.token}") == 401


def test_cookie_session_gets_pushes(deploy):
    c = deploy.client
    s = make_scene(c)
    port = deploy.notifier.port
    with open_stream(port, cookie=f"bsocial_session={s.a.token}",
                     origin=f"http://127.0.0.1:{port}") as ws:
        cm = comment(c, s.b, s.post["id"], "cookie tab")[0]
        ws.wait_for_comment(cm["id"])


def test_logout_closes_the_sockets_of_that_token_4001(deploy):
    c = deploy.client
    s = make_scene(c)
    token = s.a.token
    other_token = c.login(s.a)  # a second session of A: must stay open
    assert other_token != token
    socks = {where: open_stream(port, token=token) for where, port in
             (("api", deploy.api.port), ("api2", deploy.api2.port),
              ("notifier", deploy.notifier.port))}
    keeper = open_stream(deploy.notifier.port, token=other_token)
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        r = deploy.client2.delete("/api/v1/sessions/current", token=token)  # on api2
        assert r.status == 204, r
        for where, ws in socks.items():
            assert ws.wait_closed(10), f"{where} socket still open 10 s after logout"
            assert ws.closed_code == 4001, (where, ws.closed_code, ws.closed_reason)
            assert ws.closed_reason == "session ended", (where, ws.closed_reason)
        took = max(ws.closed_at for ws in socks.values()) - t0
        print(f"\nlogout -> 4001 on 3 instances within {took * 1000:.0f} ms")
        # the other session of A is untouched and still gets pushes
        assert not keeper.wait_closed(0.1)
        cm = comment(c, s.b, s.post["id"], "after logout")[0]
        keeper.wait_for_comment(cm["id"])
    finally:
        for ws in socks.values():
            ws.close()
        keeper.close()


def test_handshake_refusals_carry_the_error_body(deploy):
    from bsocial_testkit.notify import Stream, WsRefused

    try:
        Stream(deploy.notifier.port)
    except WsRefused as e:
        assert e.status == 401
        body = json.loads(e.body)
        assert body["error"]["code"] == "unauthorized", body
    else:
        raise AssertionError("accepted without a token")
