"""Issue 28: every session in view. GET /api/v1/sessions (device from the User-Agent, last
use, the current one marked), DELETE /api/v1/sessions/{id} (own sessions only) and
DELETE /api/v1/sessions/others, with two serve replicas on one database (PostgreSQL;
SQLite: two serves on one file, timelines in the tables): a session ended on replica A is
refused by replica B at once, and its WebSocket on B is closed (4001, as a logout)."""

from __future__ import annotations

import time

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.notify import open_stream
from bsocial_testkit.server import ServerProcess

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
# SQLite has no cross-process bus: the hub's safety poll (1 s) closes the socket there.
WS_CLOSED_WITHIN = {"postgresql": 0.5, "sqlite": 3.0}


@pytest.fixture
def replicas(start_server, db_backend, tmp_path):
    """Two serve processes on one database. On PostgreSQL their hubs' safety poll is 30 s,
    so only the cluster bus's session.revoked can close a socket within WS_CLOSED_WITHIN."""
    env = {"BSOCIAL_FEED_CACHE_USERS": "0"}
    if db_backend.kind == "postgresql":
        env["BSOCIAL_NOTIFY_SAFETY_POLL_MS"] = "30000"
    first = start_server(env=env)
    second = ServerProcess(workdir=tmp_path / "replica", db_url=first.db_url,
                           data_dir=None if first.db_url else first.data_dir,
                           env_overrides=dict(first.env_overrides), jwt_secret=first.jwt_secret,
                           secrets=first.secrets)
    second.kind = first.kind
    second.start()
    try:
        yield first, second
    finally:
        second.stop()


def login_as(c: Client, user, agent: str) -> str:
    r = c.post("/api/v1/sessions", {"login": user.username, "password": user.password},
               headers={"User-Agent": agent})
    assert r.status == 200, r
    c.server.secrets.add(r.json["token"])
    return r.json["token"]


def sessions(c: Client, token: str) -> list[dict]:
    r = c.get("/api/v1/sessions", token=token)
    assert r.status == 200, r
    return r.json["items"]


def refused(c: Client, token: str) -> bool:
    return c.get("/api/v1/users/me", token=token).status == 401


def refused_soon(c: Client, token: str, within: float = 1.0) -> bool:
    """Refused within `within` s: another replica hears of the end over the cluster bus (its
    cached session dropped within milliseconds), so a request at once may race it."""
    deadline = time.monotonic() + within
    while not refused(c, token):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_list_end_one_and_end_the_others_across_replicas(replicas):
    a_srv, b_srv = replicas
    a, b = Client(a_srv), Client(b_srv)
    u = a.register()
    t_firefox = login_as(a, u, FIREFOX)
    t_iphone = login_as(b, u, IPHONE)
    t_third = login_as(a, u, "curl/8.5.0")
    listed = sessions(b, t_firefox)
    assert len(listed) == 3, listed
    by_device = {s["device"]: s for s in listed}
    assert set(by_device) == {"Firefox on Windows", "Safari on iPhone", "curl"}, listed
    assert by_device["Firefox on Windows"]["current"] is True
    assert [s["current"] for s in listed].count(True) == 1
    for s in listed:
        assert s["ip"] == "127.0.0.1" and s["created_at"] and s["last_used_at"], s
        assert "token" not in s and t_firefox not in str(s)
    iphone_id = by_device["Safari on iPhone"]["id"]

    # someone else cannot end it (404, as for no such session)
    other = a.new_user()
    assert a.delete(f"/api/v1/sessions/{iphone_id}", token=other.token).status == 404
    assert a.delete("/api/v1/sessions/nonexistent", token=t_firefox).status == 404
    assert not refused(b, t_iphone)

    # the iPhone's socket is on replica B; its session is ended on replica A
    with open_stream(b_srv.port, token=t_iphone) as ws:
        time.sleep(0.2)
        t0 = time.monotonic()
        assert a.delete(f"/api/v1/sessions/{iphone_id}", token=t_firefox).status == 204
        ended = time.monotonic()
        # B caches checked sessions; the bus's session.revoked drops it there within
        # milliseconds (measured below: test_a_logout_on_one_replica_is_refused_by_the_other_
        # within_100_ms), so the first request may still race the message.
        assert refused_soon(b, t_iphone), "replica B still accepts the ended session"
        refused_after = time.monotonic() - ended
        assert ws.wait_closed(WS_CLOSED_WITHIN[a_srv.kind]), "socket on replica B still open"
        print(f"\n[{a_srv.kind}] ended on A: refused by B {refused_after * 1000:.1f} ms after "
              f"the answer; socket on B closed {(ws.closed_at - t0) * 1000:.1f} ms after the "
              f"request (code {ws.closed_code})")
        assert ws.closed_code == 4001, ws.closed_code
        # The figure includes the requests' own round trips on this (shared, loaded)
        # machine; bounded loosely above.
    assert {s["device"] for s in sessions(a, t_firefox)} == {"Firefox on Windows", "curl"}
    assert a.delete(f"/api/v1/sessions/{iphone_id}", token=t_firefox).status == 404  # once

    # log out everywhere else, from replica B
    t_fourth = login_as(b, u, IPHONE)
    with open_stream(a_srv.port, token=t_third) as ws:
        time.sleep(0.2)
        r = b.delete("/api/v1/sessions/others", token=t_firefox)
        assert r.status == 200 and r.json == {"revoked": 2}, r
        assert refused_soon(a, t_third) and refused(b, t_fourth) and refused_soon(a, t_fourth)
        assert ws.wait_closed(WS_CLOSED_WITHIN[a_srv.kind]), "socket of an ended session open"
        assert ws.closed_code == 4001
    assert not refused(a, t_firefox) and not refused(b, t_firefox)
    assert [s["current"] for s in sessions(a, t_firefox)] == [True]

    # ending the current one is a logout (the cookie cleared too)
    me = sessions(a, t_firefox)[0]["id"]
    r = a.delete(f"/api/v1/sessions/{me}", token=t_firefox)
    assert r.status == 204 and "Max-Age=0" in (r.header("Set-Cookie") or ""), r
    assert refused_soon(b, t_firefox)


def test_logout_closes_the_socket_on_the_other_replica(replicas):
    a_srv, b_srv = replicas
    a, b = Client(a_srv), Client(b_srv)
    u = a.register()
    tok = login_as(a, u, FIREFOX)
    with open_stream(b_srv.port, token=tok) as ws:
        time.sleep(0.2)
        t0 = time.monotonic()
        assert a.delete("/api/v1/sessions/current", token=tok).status == 204
        assert ws.wait_closed(WS_CLOSED_WITHIN[a_srv.kind])
        print(f"\n[{a_srv.kind}] logout on A: socket on B closed "
              f"{(ws.closed_at - t0) * 1000:.1f} ms later")
        assert ws.closed_code == 4001
    assert refused_soon(b, tok)


def test_sessions_need_a_token(client):
    assert client.get("/api/v1/sessions").status == 401
    assert client.delete("/api/v1/sessions/others").status == 401
    assert client.delete("/api/v1/sessions/abc").status == 401


def test_sockets_close_on_the_other_replica_through_the_bus(replicas):
    """PostgreSQL: the hub also reads revoked_tokens every 500 ms (the backstop), so a single
    close proves little; the median of 7 (each a session ended on A, its socket on B) must
    be under 100 ms, which only the cluster bus's session.revoked gives (without it: about
    250 ms, seen failing with the publish switched off)."""
    a_srv, b_srv = replicas
    if a_srv.kind != "postgresql":
        pytest.skip("SQLite: the bus is in-process; a second serve on the file relies on the poll")
    a, b = Client(a_srv), Client(b_srv)
    u = a.register()
    keeper = login_as(a, u, FIREFOX)
    delays = []
    for _ in range(7):
        tok = login_as(b, u, IPHONE)
        sid = [s["id"] for s in sessions(a, keeper) if not s["current"]][0]
        with open_stream(b_srv.port, token=tok) as ws:
            time.sleep(0.1)
            assert a.delete(f"/api/v1/sessions/{sid}", token=keeper).status == 204
            answered = time.monotonic()
            assert ws.wait_closed(2.0) and ws.closed_code == 4001
            delays.append(max(0.0, ws.closed_at - answered))
    delays.sort()
    print(f"\n[postgresql] socket on B closed after the answer on A: median "
          f"{delays[3] * 1000:.1f} ms, all {[round(d * 1000, 1) for d in delays]}")
    assert delays[3] < 0.1, delays


def test_a_logout_on_one_replica_is_refused_by_the_other_within_100_ms(start_server, db_backend,
                                                                        tmp_path):
    """Issue 25: verified sessions are cached on every PostgreSQL replica (the warm feed
    page is answered from memory on the I/O thread), and a logout on replica A reaches
    replica B's cache over the cluster bus. B believes an entry 60 s here
    (BSOCIAL_SESSION_CACHE_BELIEVE_MS), so only the bus can make B refuse the token within
    the 5 s asserted; the figure that matters is printed: from the logout's 204 on A to the
    first 401 on B (B polled back to back over one keep-alive connection), median and max
    over 50 logouts. The target is 100 ms."""
    if db_backend.kind != "postgresql":
        pytest.skip("SQLite: one serve per file owns the session cache")
    env = {"BSOCIAL_SESSION_CACHE_BELIEVE_MS": "60000"}
    a_srv = start_server(env=env)
    b_srv = ServerProcess(workdir=tmp_path / "replica-b", db_url=a_srv.db_url,
                          env_overrides=dict(a_srv.env_overrides), jwt_secret=a_srv.jwt_secret,
                          secrets=a_srv.secrets, name="serve-b").start()
    try:
        a = Client(a_srv)
        b_poll = Client(b_srv, checks=False, keep_alive=True)
        u = a.new_user()
        delays, polls = [], []
        for _ in range(50):
            tok = login_as(a, u, FIREFOX)
            # Warm on B: the session (and the page) answered from B's memory.
            for _ in range(3):
                assert b_poll.get("/api/v1/feed?limit=1", token=tok).status == 200
            assert a.delete("/api/v1/sessions/current", token=tok).status == 204
            answered = time.monotonic()
            n = 0
            while True:
                n += 1
                status = b_poll.get("/api/v1/feed?limit=1", token=tok).status
                if status == 401:
                    break
                assert status == 200, status
                assert time.monotonic() - answered < 5.0, "replica B still accepts the token"
            delays.append(time.monotonic() - answered)
            polls.append(n)
        delays.sort()
        median = delays[len(delays) // 2]
        print(f"\n[postgresql] logout's 204 on A -> first 401 on B, 50 logouts: median "
              f"{median * 1000:.2f} ms, max {delays[-1] * 1000:.2f} ms, p90 "
              f"{delays[44] * 1000:.2f} ms; requests B accepted after the 204: "
              f"{sum(p - 1 for p in polls)} in all, at most {max(polls) - 1} for one logout")
        b_poll.close()
    finally:
        b_srv.stop()
