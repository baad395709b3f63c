"""The whole user journey, end to end, as the web app would drive it."""

from __future__ import annotations

import json
import select
import socket
import time

from bsocial_testkit.api import ID_RE, TS_RE, User, assert_error, hexid, now_ms, q, ts_to_ms
from bsocial_testkit.http import Client

USER_KEYS = {"id", "username", "email", "first_name", "last_name", "created_at"}
AUTHOR_KEYS = {"id", "username", "first_name", "last_name"}


def check_user(u: dict, *, own: bool) -> None:
    required = USER_KEYS if own else USER_KEYS - {"email"}
    assert required <= set(u), f"User lacks {required - set(u)}: {u}"
    if not own:
        assert "email" not in u, f"e-mail shown to someone else: {u}"
    assert ID_RE.match(u["id"]), u
    assert TS_RE.match(u["created_at"]), u


def check_post(p: dict) -> None:
    assert {"id", "author", "content", "created_at", "comment_count"} <= set(p), p
    assert ID_RE.match(p["id"]), p
    assert AUTHOR_KEYS <= set(p["author"]), p
    assert "email" not in p["author"], p
    assert TS_RE.match(p["created_at"]), p
    assert isinstance(p["comment_count"], int) and not isinstance(p["comment_count"], bool), p


def order_key(p: dict) -> tuple[int, int]:
    return (ts_to_ms(p["created_at"]), int(p["id"]))


def test_ops_endpoints(client: Client):
    r = client.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}, r
    r = client.get("/readyz")
    assert r.status in (200, 503), r
    assert isinstance(r.json, dict) and r.json.get("checks", {}).get("database") == "ok", r
    if r.status == 200:
        assert r.json["status"] == "ready", r
    r = client.get("/metrics")
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").startswith("text/plain"), r.header("Content-Type")
    text = r.raw.decode()
    for name in ("bsocial_http_requests_total", "bsocial_http_request_duration_seconds",
                 "bsocial_outbox_backlog"):
        assert name in text, f"{name} missing from /metrics"


def test_whole_journey(client: Client):
    tag = hexid(4)
    # -- register three users -------------------------------------------------------
    r, fa = client.register_raw(username=f"Alice_{tag}", first_name="  Alice ",
                                last_name="Liddell", email=f"  Alice_{tag}@Example.COM ")
    assert r.status == 201, r
    alice_json = r.json["user"]
    check_user(alice_json, own=True)
    assert alice_json["username"] == f"alice_{tag}"  # stored in lower case
    assert alice_json["email"] == f"alice_{tag}@example.com"  # trimmed, lower case
    assert alice_json["first_name"] == "Alice"  # trimmed
    assert alice_json["last_name"] == "Liddell"
    assert abs(ts_to_ms(alice_json["created_at"]) - now_ms()) < 60_000
    bob = client.register(username=f"bob_{tag}", first_name="Bob", last_name="Builder")
    carol = client.register(username=f"carol_{tag}", first_name="Carol", last_name="Ann")
    assert len({alice_json["id"], bob.id, carol.id}) == 3

    alice = User(username=alice_json["username"], email=alice_json["email"],
                 password=fa["password"], first_name="Alice", last_name="Liddell",
                 id=alice_json["id"])

    # -- login by username and by e-mail --------------------------------------------
    r = client.login_raw(f"ALICE_{tag}", alice.password)  # usernames match in lower case
    assert r.status == 200, r
    r = client.login_raw(alice.email, alice.password)
    assert r.status == 200, r
    body = r.json
    assert body["token_type"] == "Bearer"
    assert isinstance(body["token"], str) and body["token"].count(".") == 2
    assert TS_RE.match(body["expires_at"]), body
    assert body["user"]["id"] == alice.id and body["user"]["email"] == alice.email
    alice.token = body["token"]
    client.login(bob)
    client.login(carol, login=carol.email)

    # -- me ---------------------------------------------------------------------------
    r = client.get("/api/v1/users/me", token=alice.token)
    assert r.status == 200, r
    check_user(r.json["user"], own=True)
    assert r.json["user"]["id"] == alice.id

    # -- follow: alice follows bob; carol follows alice ----------------------------------
    assert client.follow(alice, bob).status == 204
    assert client.follow(alice, bob).status == 204  # idempotent
    assert client.follow(carol, alice).status == 204

    # -- posts --------------------------------------------------------------------------
    pa1 = client.create_post(alice, "  alice first  ")
    check_post(pa1)
    assert pa1["content"] == "alice first"  # trimmed
    assert pa1["author"]["id"] == alice.id and pa1["author"]["username"] == alice.username
    assert pa1["comment_count"] == 0
    pb1 = client.create_post(bob, "bob first")
    pc1 = client.create_post(carol, "carol first (alice does not follow carol)")
    pb2 = client.create_post(bob, "bob second")
    pa2 = client.create_post(alice, "alice second")

    # -- feed: own + followees only, newest first -------------------------------------
    r = client.get("/api/v1/feed", token=alice.token)
    assert r.status == 200, r
    assert r.json["next_cursor"] is None
    items = r.json["items"]
    for p in items:
        check_post(p)
    assert [p["id"] for p in items] == [pa2["id"], pb2["id"], pb1["id"], pa1["id"]]
    assert pc1["id"] not in {p["id"] for p in items}
    keys = [order_key(p) for p in items]
    assert keys == sorted(keys, reverse=True)

    r = client.get("/api/v1/feed", token=carol.token)
    assert [p["id"] for p in r.json["items"]] == [pa2["id"], pc1["id"], pa1["id"]]
    r = client.get("/api/v1/feed", token=bob.token)
    assert [p["id"] for p in r.json["items"]] == [pb2["id"], pb1["id"]]

    # -- comments ---------------------------------------------------------------------
    c1 = client.create_comment(alice, pb1["id"], "  nice one, bob  ")
    assert c1["content"] == "nice one, bob"
    assert c1["post_id"] == pb1["id"] and ID_RE.match(c1["id"])
    assert c1["author"]["id"] == alice.id and "email" not in c1["author"]
    assert TS_RE.match(c1["created_at"])
    c2 = client.create_comment(bob, pb1["id"], "thanks alice")
    c3 = client.create_comment(alice, pb1["id"], "you're welcome")
    for viewer in (alice, bob):
        r = client.get(f"/api/v1/posts/{pb1['id']}/comments", token=viewer.token)
        assert r.status == 200, r
        assert [c["id"] for c in r.json["items"]] == [c1["id"], c2["id"], c3["id"]]
        assert r.json["next_cursor"] is None
        ck = [order_key(c) for c in r.json["items"]]
        assert ck == sorted(ck)
    # carol does not follow bob: comments of bob's post are not visible to her
    r = client.get(f"/api/v1/posts/{pb1['id']}/comments", token=carol.token)
    assert_error(r, 404, "not_found")

    # -- single post and comment_count -------------------------------------------------
    r = client.get(f"/api/v1/posts/{pb1['id']}", token=alice.token)
    assert r.status == 200, r
    check_post(r.json["post"])
    assert r.json["post"]["comment_count"] == 3
    assert r.json["post"]["content"] == "bob first"
    r = client.get(f"/api/v1/posts/{pb2['id']}", token=bob.token)
    assert r.json["post"]["comment_count"] == 0
    r = client.get("/api/v1/feed", token=alice.token)
    counts = {p["id"]: p["comment_count"] for p in r.json["items"]}
    assert counts[pb1["id"]] == 3 and counts[pa1["id"]] == 0

    # -- a user's posts ------------------------------------------------------------------
    r = client.get(f"/api/v1/users/{bob.username}/posts", token=alice.token)
    assert r.status == 200, r
    assert [p["id"] for p in r.json["items"]] == [pb2["id"], pb1["id"]]
    r = client.get(f"/api/v1/users/{alice.username}/posts", token=alice.token)
    assert [p["id"] for p in r.json["items"]] == [pa2["id"], pa1["id"]]
    assert_error(client.get(f"/api/v1/users/{carol.username}/posts", token=alice.token),
                 404, "not_found")

    # -- profiles, counts, followed_by_me -----------------------------------------------
    r = client.get(f"/api/v1/users/{bob.username}", token=alice.token)
    assert r.status == 200, r
    check_user(r.json["user"], own=False)
    assert r.json["followers_count"] == 1 and r.json["following_count"] == 0
    assert r.json["followed_by_me"] is True
    r = client.get(f"/api/v1/users/{alice.username.upper()}", token=bob.token)
    assert r.status == 200, r
    assert r.json["user"]["id"] == alice.id
    assert r.json["followers_count"] == 1 and r.json["following_count"] == 1
    assert r.json["followed_by_me"] is False
    r = client.get(f"/api/v1/users/{alice.username}", token=alice.token)
    check_user(r.json["user"], own=True)
    assert r.json["followed_by_me"] is False

    # -- followers / following lists ------------------------------------------------------
    assert client.follow(bob, alice).status == 204
    r = client.get(f"/api/v1/users/{alice.username}/followers", token=bob.token)
    assert r.status == 200, r
    # by username ascending: bob_..., carol_...
    assert [u["username"] for u in r.json["items"]] == [bob.username, carol.username]
    for u in r.json["items"]:
        if u["id"] != bob.id:
            check_user(u, own=False)
    r = client.get(f"/api/v1/users/{alice.username}/following", token=carol.token)
    assert [u["username"] for u in r.json["items"]] == [bob.username]
    check_user(r.json["items"][0], own=False)
    r = client.get(f"/api/v1/users/{carol.username}/following", token=alice.token)
    assert [u["username"] for u in r.json["items"]] == [alice.username]
    r = client.get(f"/api/v1/users/{carol.username}/followers", token=alice.token)
    assert r.json["items"] == [] and r.json["next_cursor"] is None

    # -- user search by prefix ------------------------------------------------------------
    r = client.get(f"/api/v1/users?q={q('bob_' + tag)}", token=alice.token)
    assert r.status == 200, r
    assert [u["username"] for u in r.json["items"]] == [bob.username]
    check_user(r.json["items"][0], own=False)
    r = client.get(f"/api/v1/users?q={q('c')}", token=alice.token)
    assert carol.username in [u["username"] for u in r.json["items"]]
    assert all(u["username"].startswith("c") for u in r.json["items"])

    # -- unfollow removes bob's posts from alice's feed -----------------------------------
    assert client.unfollow(alice, bob).status == 204
    assert client.unfollow(alice, bob).status == 204  # idempotent
    r = client.get("/api/v1/feed", token=alice.token)
    assert [p["id"] for p in r.json["items"]] == [pa2["id"], pa1["id"]]
    assert_error(client.get(f"/api/v1/posts/{pb1['id']}", token=alice.token), 404, "not_found")
    r = client.get(f"/api/v1/users/{bob.username}", token=alice.token)
    assert r.json["followed_by_me"] is False and r.json["followers_count"] == 0

    # -- logout: the old token is dead, the cookie is cleared ------------------------------
    r = client.delete("/api/v1/sessions/current", token=alice.token)
    assert r.status == 204, r
    cookies = r.header_all("Set-Cookie")
    assert any(c.startswith("bsocial_session=") and "max-age=0" in c.lower().replace(" ", "")
               for c in cookies), f"logout must clear the cookie: {cookies}"
    assert_error(client.get("/api/v1/users/me", token=alice.token), 401, "unauthorized")
    assert_error(client.get("/api/v1/feed", token=alice.token), 401, "unauthorized")
    # bob's session is unaffected
    assert client.get("/api/v1/users/me", token=bob.token).status == 200


# --------------------------------------------------------------------------- lifecycle


def _raw_post(port: int, path: str, body: dict) -> socket.socket:
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    return s


def _read_all(s: socket.socket) -> bytes:
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        s.close()
    return b"".join(chunks)


def test_sigterm_finishes_in_flight_requests(start_server):
    srv = start_server()
    c = Client(srv)
    c.register()  # warm up (migrations done, pools created)
    bodies = [c.user_fields() for _ in range(4)]
    socks = [_raw_post(srv.port, "/api/v1/users", b) for b in bodies]
    time.sleep(0.03)  # the requests are read and Argon2 is hashing
    already = select.select(socks, [], [], 0)[0]
    srv.terminate()
    time.sleep(0.3)
    # stop accepting: a new request is refused or dropped, never answered
    try:
        late = _read_all(_raw_post(srv.port, "/api/v1/sessions", {"login": "x", "password": "y"}))
    except OSError:
        late = b""
    answers = [_read_all(s) for s in socks]
    print(f"\n{len(already)} of {len(socks)} answers had arrived before SIGTERM; "
          f"late request got {late[:40]!r}")
    for raw in answers:
        assert raw.startswith(b"HTTP/1.1 201"), f"in-flight request lost on SIGTERM: {raw[:200]!r}"
    assert not late.startswith(b"HTTP/1.1 401"), "a new request was served after SIGTERM"
    assert srv.proc.wait(timeout=10) == 0, "exit code after SIGTERM"
    srv.stop()
    # the answered registrations were committed: restart on the same data and log in
    srv.start()
    for b in bodies:
        r = c.login_raw(b["username"], b["password"])
        assert r.status == 200, r
    srv.stop()


def test_sigterm_serves_the_requests_sent_before_it(start_server):
    """Requests whose bytes reached the server before SIGTERM are answered, even those of
    connections the server had not accepted or read yet (in an acceptor's backlog, or
    waiting for their first read): the stop takes the backlog and serves what arrived."""
    for _ in range(5):
        srv = start_server()
        socks = []
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                      "Connection: close\r\n\r\n".encode())
            socks.append(s)
        srv.terminate()  # at once: most of them are not read yet
        answers = [_read_all(s) for s in socks]
        lost = [a[:40] for a in answers if not a.startswith(b"HTTP/1.1 200")]
        assert not lost, f"{len(lost)} of {len(socks)} requests sent before SIGTERM lost: {lost}"
        assert srv.proc.wait(timeout=10) == 0, "exit code after SIGTERM"
        srv.stop()


def test_sigterm_right_after_ready_line_exits_0(start_server):
    # The listening line is the readiness signal: from then on SIGTERM must be handled
    # (graceful stop, exit 0), not kill the process with the default action.
    for _ in range(3):
        srv = start_server()
        srv.stop()  # SIGTERM at once; asserts exit code 0 within 10 s
