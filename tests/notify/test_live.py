"""Live-notification behaviour of issue 10: pushes are woken by the store (not by the
safety poll), a socket closes when its token expires, and a user's sockets on one process
are capped (the oldest is closed with 4008 "too many sockets"). Logout closing sockets on
every instance is test_stream_auth.py::test_logout_closes_the_sockets_of_that_token_4001.

An extra `bsocial serve` ("api3") runs on the deployment's data with a 30 s safety poll
and at most 2 sockets per user, so these tests see the settings' effect."""

from __future__ import annotations

import subprocess
import time

import pytest

from bsocial_testkit.jwt import find_jwt_key, jwt_encode, jwt_parts
from bsocial_testkit.notify import comment, make_scene, open_stream
from bsocial_testkit.server import ServerProcess

SAFETY_POLL_MS = 30000
SOCKETS_PER_USER = 2


@pytest.fixture(scope="module")
def api3(deploy, tmp_path_factory):
    env = dict(deploy.api.env_overrides)
    env.update(BSOCIAL_RELAY="false", BSOCIAL_NOTIFY_SAFETY_POLL_MS=str(SAFETY_POLL_MS),
               BSOCIAL_NOTIFY_SOCKETS_PER_USER=str(SOCKETS_PER_USER))
    srv = ServerProcess(workdir=tmp_path_factory.mktemp("api3"), db_url=deploy.api.db_url,
                        env_overrides=env, jwt_secret=deploy.api.jwt_secret,
                        secrets=deploy.api.secrets, data_dir=deploy.api.data_dir)
    srv.kind = deploy.kind
    srv.start()
    yield srv
    srv.stop()


def test_push_is_woken_not_polled(deploy, api3):
    """api3 re-reads only every 30 s: pushes within a few seconds come from the wake-up
    (PostgreSQL NOTIFY / SQLite wake file), for each of several comments in a row."""
    c = deploy.client
    s = make_scene(c)
    with open_stream(api3.port, token=s.a.token) as ws:
        time.sleep(0.2)
        for i in range(3):
            cm = comment(c, s.b, s.post["id"], f"woken {i}")[0]
            ws.wait_for_comment(cm["id"], timeout=SAFETY_POLL_MS / 1000 / 3)


def _short_lived_token(deploy, token: str, seconds: int) -> str:
    h, p, _ = jwt_parts(token)
    key = find_jwt_key(token, deploy.api.jwt_secret)
    assert key is not None
    now = int(time.time())
    return jwt_encode(h, dict(p, iat=now, exp=now + seconds), key)


@pytest.mark.parametrize("where", ["api", "notifier"])
def test_socket_closes_when_its_token_expires_4001(deploy, where):
    c = deploy.client
    s = make_scene(c)
    short = _short_lived_token(deploy, s.a.token, 3)
    port = {"api": deploy.api.port, "notifier": deploy.notifier.port}[where]
    with open_stream(port, token=short) as ws, open_stream(port, token=s.a.token) as keeper:
        assert ws.wait_closed(20), "socket still open 20 s after its token expired"
        assert ws.closed_code == 4001, (ws.closed_code, ws.closed_reason)
        assert ws.closed_reason == "session expired", ws.closed_reason
        # the same user's socket with a longer-lived token stays and gets pushes
        assert not keeper.wait_closed(0.1)
        cm = comment(c, s.b, s.post["id"], "after expiry")[0]
        keeper.wait_for_comment(cm["id"])


def test_sockets_per_user_cap_closes_the_oldest_4008(deploy, api3):
    c = deploy.client
    s = make_scene(c)
    first = open_stream(api3.port, token=s.a.token)
    second = open_stream(api3.port, token=s.a.token)
    try:
        assert not first.wait_closed(0.3), "closed before the cap was exceeded"
        third = open_stream(api3.port, token=s.a.token)
        try:
            assert first.wait_closed(10), "the oldest socket stayed open past the cap"
            assert first.closed_code == 4008, (first.closed_code, first.closed_reason)
            assert first.closed_reason == "too many sockets", first.closed_reason
            cm = comment(c, s.b, s.post["id"], "after the cap")[0]
            for ws in (second, third):
                assert not ws.wait_closed(0), "a newer socket was closed"
                ws.wait_for_comment(cm["id"])
            # another user's sockets are not counted with A's
            with open_stream(api3.port, token=s.b.token) as b1, \
                    open_stream(api3.port, token=s.b.token) as b2:
                assert not b1.wait_closed(0.3) and not b2.wait_closed(0)
            assert not second.wait_closed(0) and not third.wait_closed(0)
        finally:
            third.close()
    finally:
        first.close()
        second.close()


def test_default_cap_is_16_sockets_per_user(deploy):
    c = deploy.client
    s = make_scene(c)
    socks = [open_stream(deploy.api.port, token=s.a.token) for _ in range(16)]
    try:
        assert not socks[0].wait_closed(0.3), "closed at 16 sockets"
        socks.append(open_stream(deploy.api.port, token=s.a.token))
        assert socks[0].wait_closed(10), "the oldest of 17 sockets stayed open"
        assert socks[0].closed_code == 4008, socks[0].closed_code
        assert all(not ws.wait_closed(0) for ws in socks[1:])
    finally:
        for ws in socks:
            ws.close()


def _listen_backends(db_url: str, terminate: bool) -> int:
    """How many PostgreSQL backends sit in LISTEN (terminated first when asked)."""
    what = "pg_terminate_backend(pid)" if terminate else "pid"
    sql = (f"select count({what}) from pg_stat_activity "
           "where query ilike 'LISTEN %' and pid <> pg_backend_pid()")
    out = subprocess.run(["psql", db_url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    return int(out.strip())


def test_push_is_still_woken_after_the_listen_connection_is_killed(deploy, api3):
    """PostgreSQL: every instance's LISTEN connection is terminated by the server. A comment
    stored at that moment and one stored after are both pushed by api3 well before its 30 s
    safety poll: the hub sees the loss, reconnects, re-reads, and LISTENs again."""
    if deploy.kind != "postgresql":
        pytest.skip("LISTEN/NOTIFY exists only on PostgreSQL (SQLite: in-process wake-up)")
    c = deploy.client
    s = make_scene(c)
    with open_stream(api3.port, token=s.a.token) as ws:
        time.sleep(0.2)
        listening = _listen_backends(api3.db_url, terminate=False)
        assert listening >= 2, f"api and api3 should both LISTEN, {listening} do"
        killed = _listen_backends(api3.db_url, terminate=True)
        assert killed == listening, (killed, listening)
        during = comment(c, s.b, s.post["id"], "while the listener was down")[0]
        ws.wait_for_comment(during["id"], timeout=SAFETY_POLL_MS / 1000 / 3)
        deadline = time.monotonic() + 10
        while _listen_backends(api3.db_url, terminate=False) < killed:
            assert time.monotonic() < deadline, "the LISTEN connections did not come back"
            time.sleep(0.2)
        after = comment(c, s.b, s.post["id"], "after the reconnect")[0]
        ws.wait_for_comment(after["id"], timeout=SAFETY_POLL_MS / 1000 / 3)
