"""Security checklist (shared/design/security-checklist.md): S1-S8 and S13-S17."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from bsocial_testkit.api import assert_error, hexid, q
from bsocial_testkit.http import Client
from bsocial_testkit.jwt import b64url, find_jwt_key, jwt_encode, jwt_parts
from bsocial_testkit.paths import binary_path

# --------------------------------------------------------------------------- S1 S2 S3


def test_s1_password_length_no_composition_rules(client: Client):
    for bad in ("7chars!", "abcdefg", "x" * 129, "é" * 7, "é" * 129):
        r, _ = client.register_raw(password=bad)
        assert_error(r, 422, "validation_failed", ["password"])
    passphrase = "correct horse battery staple " + hexid(4)
    passphrase = (passphrase + " and then some more words ok")[:64]
    assert len(passphrase) == 64
    accepted = [
        passphrase,
        "lowercaseonlyxyz",  # no composition rules: one character class is fine
        "4718293056",
        "q" + hexid(3) + "z",  # exactly 8 characters
        "é" * 7 + "è",  # 8 code points (16 bytes)
        "ü" * 127 + "ö",  # 128 code points (256 bytes)
        "x" * 127 + "y",  # 128 characters
    ]
    for pw in accepted:
        u = client.register(password=pw)
        r = client.login_raw(u.username, pw)
        assert r.status == 200, f"password {pw[:12]!r}… (len {len(pw)}) must work: {r!r}"


def test_s1_password_not_only_spaces_nor_one_character(client: Client):
    """Issue 24 item 6: a password of eight spaces was accepted."""
    for bad in (" " * 8, " \t" * 6, "z" * 12, "é" * 9):
        r, _ = client.register_raw(password=bad, password_confirmation=bad)
        assert_error(r, 422, "validation_failed", ["password"])


def test_s2_confirmation_must_match(client: Client):
    pw = "pw-" + hexid(8)
    for conf in (pw + "x", pw.upper(), "", " " + pw):
        r, _ = client.register_raw(password=pw, password_confirmation=conf)
        err = assert_error(r, 422, "validation_failed", ["password_confirmation"])
        assert "password" not in err["fields"], err


COMMON = ["password1", "12345678", "iloveyou", "trustno1", "baseball", "SUNSHINE", "PassWord1",
          "webmaster", "testtest", "sample123", "!@#$%^&*", "whoville", "Changeme"]


def test_s3_common_passwords_refused(client: Client):
    with open("/usr/share/john/password.lst", encoding="latin-1") as f:
        listed = {line.rstrip("\n").lower() for line in f if not line.startswith("#!")}
    for pw in COMMON:
        assert pw.lower() in listed, f"test bug: {pw} is not in password.lst"
        r, _ = client.register_raw(password=pw)
        assert_error(r, 422, "validation_failed", ["password"])
    # a neighbour of a listed password is fine
    r, _ = client.register_raw(password="password1-but-longer-" + hexid(2))
    assert r.status == 201, r


# --------------------------------------------------------------------------- S4


def parse_argon2(h: str) -> dict:
    m = re.match(r"^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$",
                 h)
    assert m, f"not an argon2id PHC string: {h[:40]}…"
    return {"v": int(m[1]), "m": int(m[2]), "t": int(m[3]), "p": int(m[4]), "salt": m[5],
            "hash": m[6]}


def test_s4_argon2id_hashes(client: Client):
    pw = "same-password-" + hexid(4)
    a = client.register(password=pw)
    b = client.register(password=pw)
    ha = client.server.db.password_hash(a.username)
    hb = client.server.db.password_hash(b.username)
    assert ha and hb, "users.password_hash not found"
    assert ha.startswith("$argon2id$") and hb.startswith("$argon2id$")
    pa, pb = parse_argon2(ha), parse_argon2(hb)
    assert pa["m"] >= 19456, f"argon2 memory {pa['m']} KiB < 19 MiB"
    print(f"\nS4 argon2id parameters: m={pa['m']} KiB t={pa['t']} p={pa['p']}")
    assert ha != hb, "same password twice must give different hashes (salt)"
    assert pa["salt"] != pb["salt"]
    assert pw not in ha


# --------------------------------------------------------------------------- S5


def test_s5_unknown_user_and_wrong_password_identical(client: Client):
    u = client.register()
    wrong = client.login_raw(u.username, "wrong-" + hexid(6))
    unknown = client.login_raw("nobody_" + hexid(6), "wrong-" + hexid(6))
    unknown_mail = client.login_raw(f"nobody_{hexid(6)}@example.com", "wrong-" + hexid(6))
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.status == unknown.status == unknown_mail.status
    assert wrong.raw == unknown.raw == unknown_mail.raw, (wrong.raw, unknown.raw)
    assert wrong.header("WWW-Authenticate") == unknown.header("WWW-Authenticate")

    # Deterministic (issue 9): an unknown login runs one Argon2 verification (against a
    # dummy hash) exactly like a wrong password does; the server counts them in /metrics.
    def verifications() -> float:
        return metric(client, "bsocial_password_verifications_total")

    for login in (u.username, "nobody_" + hexid(6), f"nobody_{hexid(6)}@example.com"):
        before = verifications()
        assert client.login_raw(login, "wrong-" + hexid(6)).status == 401
        assert verifications() == before + 1, f"login {login!r} did not run exactly one verify"

    def timed(login: str) -> float:
        t0 = time.perf_counter()
        r = client.login_raw(login, "wrong-" + hexid(6))
        dt = time.perf_counter() - t0
        assert r.status == 401
        return dt

    t_wrong = [timed(u.username) for _ in range(5)]
    t_unknown = [timed("nobody_" + hexid(6)) for _ in range(5)]
    ratio = statistics.median(t_unknown) / statistics.median(t_wrong)
    print(f"\nS5 timing: median wrong-password {statistics.median(t_wrong) * 1000:.1f} ms, "
          f"unknown-user {statistics.median(t_unknown) * 1000:.1f} ms, ratio {ratio:.2f}")


def metric(client: Client, name: str) -> float:
    """The value of an unlabelled Prometheus sample on /metrics."""
    r = client.get("/metrics")
    assert r.status == 200, r
    for line in r.raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


# --------------------------------------------------------------------------- S6


def check_429(r, window: int) -> int:
    assert_error(r, 429, "rate_limited")
    ra = r.header("Retry-After")
    assert ra is not None and ra.strip().isdigit(), f"Retry-After must be seconds: {ra!r}"
    ra = int(ra)
    assert 1 <= ra <= window + 1, f"Retry-After {ra} outside 1..{window + 1}"
    return ra


def test_s6_per_account_and_address_limit_is_temporary(start_server):
    """Per (account, client address): max_failures failures, then 429 for that address,
    even with the right password (else it could keep guessing); other addresses and other
    accounts are not affected (issue 24, item 2)."""
    n, window = 3, 8
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": str(n),
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": str(window)})
    base = Client(srv)
    u = base.register()
    other = base.register()
    attacker = base.from_address("127.0.0.10")

    # a successful login clears the pair's counter
    for _ in range(n - 1):
        assert_error(attacker.login_raw(u.username, "wrong-" + hexid(4)), 401, "invalid_credentials")
    assert attacker.login_raw(u.username, u.password).status == 200
    for i in range(n):
        assert_error(attacker.login_raw(u.username, "wrong-" + hexid(4)), 401, "invalid_credentials")
    check_429(attacker.login_raw(u.username, "wrong-" + hexid(4)), window)
    before = srv.db.outbox_max_id()
    ra = check_429(attacker.login_raw(u.username, u.password), window)  # even the right password
    assert srv.db.outbox_after(before) == [], "a refused login must not emit user.logged_in"
    # another account from that address, and the account from another address, are not limited
    assert attacker.login_raw(other.username, other.password).status == 200
    assert base.from_address("127.0.0.11").login_raw(u.username, u.password).status == 200
    time.sleep(ra + 1.0)  # Retry-After is when the limit ends
    r = attacker.login_raw(u.username, u.password)
    assert r.status == 200, f"the limit must be temporary: {r!r}"


def test_i24_2_an_attackers_failures_do_not_lock_the_owner_out(start_server):
    """Issue 24, item 2, black-box with the real defaults: 12 wrong passwords from another
    address. On main the owner then got 429 for 15 minutes, even with the right password;
    now the attacker is limited (429 from its 6th) and the owner logs in."""
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": None,
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": None})
    owner = Client(srv).from_address("127.0.0.30")
    attacker = Client(srv).from_address("127.0.0.31")
    u = owner.register()
    statuses = [attacker.login_raw(u.username, "wrong-" + hexid(6)).status for _ in range(12)]
    assert statuses == [401] * 5 + [429] * 7, statuses
    check_429(attacker.login_raw(u.email, u.password), 900)  # the attacker cannot try more
    r = owner.login_raw(u.username, u.password)
    assert r.status == 200, f"the attacker's failures locked the owner out: {r!r}"
    r = owner.login_raw(u.email, u.password)
    assert r.status == 200, r


def test_s6_per_address_limit_is_temporary(start_server):
    """Per client address: 4x BSOCIAL_LOGIN_MAX_FAILURES (api-conventions.md, Sessions)."""
    n, window = 2, 20  # 20 s: the 8 failures (Argon2id each) fit in it on a loaded machine
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": str(n),
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": str(window)})
    c = Client(srv).from_address("127.0.0.7")
    u = c.register()
    per_address = 4 * n
    for i in range(per_address):
        r = c.login_raw(f"ghost{i}_{hexid(3)}", "wrong-" + hexid(4))
        assert_error(r, 401, "invalid_credentials")
    ra = check_429(c.login_raw(u.username, u.password), window)
    check_429(c.login_raw(f"ghost_{hexid(3)}", "wrong"), window)
    # another address is not affected
    assert c.from_address("127.0.0.8").login_raw(u.username, u.password).status == 200
    time.sleep(ra + 1.0)  # Retry-After is when the lockout ends
    r = c.login_raw(u.username, u.password)
    assert r.status == 200, f"lockout must be temporary: {r!r}"


# --------------------------------------------------------------------------- S7


@pytest.fixture(scope="module")
def forge(client: Client):
    """A logged-in user plus the HMAC key the server signs with."""
    u = client.new_user()
    key = find_jwt_key(u.token, client.server.jwt_secret)
    assert key is not None, "the login token is not HS256-signed with BSOCIAL_JWT_SECRET"
    header, claims, _ = jwt_parts(u.token)
    return u, key, header, claims


def me_status(client: Client, token: str) -> int:
    r = client.get("/api/v1/users/me", token=token)
    if r.status == 401:
        assert_error(r, 401, "unauthorized")
    return r.status


def test_s7_reencoded_valid_token_accepted(client: Client, forge):
    u, key, header, claims = forge
    t = jwt_encode({"alg": "HS256", "typ": "JWT"}, claims, key)
    r = client.get("/api/v1/users/me", token=t)
    assert r.status == 200 and r.json["user"]["id"] == u.id, \
        f"control: a correctly signed copy of the claims must work: {r!r}"


def _variants(key: bytes, claims: dict, real: str) -> dict[str, str]:
    now = int(time.time())
    hs = {"alg": "HS256", "typ": "JWT"}
    h, p, s = real.split(".")
    other_key = hashlib.sha256(key + b"other").digest()

    def with_claims(**kw):
        c = dict(claims)
        for k, v in kw.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    hs512_input = (b64url(json.dumps({"alg": "HS512", "typ": "JWT"}).encode()) + "." + p)
    hs512 = hs512_input + "." + b64url(hmac.new(key, hs512_input.encode(), hashlib.sha512).digest())
    sub_other = str(int(claims["sub"]) + 1) if str(claims["sub"]).isdigit() else "1"
    return {
        "alg_none": jwt_encode({"alg": "none", "typ": "JWT"}, claims, None),
        "alg_None": jwt_encode({"alg": "None", "typ": "JWT"}, claims, None),
        "alg_none_with_sig": b64url(b'{"alg":"none","typ":"JWT"}') + "." + p + "." + s,
        "no_alg": jwt_encode({"typ": "JWT"}, claims, key),
        "alg_hs512": hs512,
        "wrong_key": jwt_encode(hs, claims, other_key),
        "flipped_sig": h + "." + p + "." + (s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]),
        "no_sig": h + "." + p + ".",
        "two_parts": h + "." + p,
        "tampered_sub": h + "." + b64url(json.dumps(with_claims(sub=sub_other)).encode()) + "." + s,
        "expired": jwt_encode(hs, with_claims(iat=now - 7200, exp=now - 3600), key),
        "wrong_iss": jwt_encode(hs, with_claims(iss="evil"), key),
        "no_iss": jwt_encode(hs, with_claims(iss=None), key),
        "wrong_aud": jwt_encode(hs, with_claims(aud="other-api"), key),
        "no_aud": jwt_encode(hs, with_claims(aud=None), key),
        "garbage": "garbage",
        "garbage_dots": "a.b.c",
        "empty_parts": "..",
        "not_base64": "!!!.@@@.###",
        "json_not_object": b64url(b"[]") + "." + b64url(b"[]") + "." + s,
        "token_5kb": jwt_encode(hs, with_claims(pad="x" * 5000), key),
        "token_10kb": jwt_encode(hs, with_claims(pad="x" * 10000), key),
    }


VARIANT_NAMES = ["alg_none", "alg_None", "alg_none_with_sig", "no_alg", "alg_hs512", "wrong_key",
                 "flipped_sig", "no_sig", "two_parts", "tampered_sub", "expired",
                 "wrong_iss", "no_iss", "wrong_aud", "no_aud", "garbage", "garbage_dots",
                 "empty_parts", "not_base64", "json_not_object", "token_5kb", "token_10kb"]


@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_s7_bad_tokens_401(client: Client, forge, name):
    u, key, header, claims = forge
    token = _variants(key, claims, u.token)[name]
    assert me_status(client, token) == 401, f"{name} token accepted"
    r = client.get("/api/v1/users/me", cookie=f"bsocial_session={token}")
    assert_error(r, 401, "unauthorized")
    assert me_status(client, u.token) == 200, "the real token still works"


# --------------------------------------------------------------------------- S8


def test_s8_token_after_logout_401(client: Client):
    u = client.new_user()
    r = client.get("/api/v1/users/me", token=u.token)
    assert r.status == 200
    assert client.delete("/api/v1/sessions/current", token=u.token).status == 204
    for method, path in (("GET", "/api/v1/users/me"), ("GET", "/api/v1/feed"),
                         ("GET", f"/api/v1/users/{u.username}")):
        assert_error(client.request(method, path, token=u.token), 401, "unauthorized")
    assert_error(client.post("/api/v1/posts", {"content": "after logout"}, token=u.token),
                 401, "unauthorized")
    assert_error(client.get("/api/v1/users/me", cookie=f"bsocial_session={u.token}"), 401,
                 "unauthorized")
    # a fresh login works again
    client.login(u)
    assert client.get("/api/v1/users/me", token=u.token).status == 200


def test_s8_warm_feed_page_after_logout_401(client: Client):
    # Issue 26: a warm feed page (session, timeline and posts in memory on SQLite) is
    # answered on the I/O thread without SQL; a logout must end it there too, at once,
    # and only for that token.
    u = client.new_user()
    first = u.token
    other = client.login(u)  # a second session of the same user
    u.token = first
    assert client.post("/api/v1/posts", {"content": "warm"}, token=u.token).status == 201
    for _ in range(3):  # the first builds the timeline and caches the session; then warm
        r = client.get("/api/v1/feed", token=u.token)
        assert r.status == 200 and [p["content"] for p in r.json["items"]] == ["warm"], r
    assert client.delete("/api/v1/sessions/current", token=u.token).status == 204
    for _ in range(2):
        assert_error(client.get("/api/v1/feed", token=u.token), 401, "unauthorized")
        assert_error(client.get("/api/v1/feed", cookie=f"bsocial_session={u.token}"), 401,
                     "unauthorized")
    r = client.get("/api/v1/feed", token=other)
    assert r.status == 200 and [p["content"] for p in r.json["items"]] == ["warm"], r


# --------------------------------------------------------------------------- S13


def test_s13_sizes(client: Client):
    u = client.new_user()
    big = json.dumps({"content": "x" * 70_000}).encode()
    assert_error(client.post("/api/v1/posts", raw=big, token=u.token), 413, "payload_too_large")
    r, _ = client.register_raw(username="u" * 31)
    assert_error(r, 422, "validation_failed", ["username"])
    r, _ = client.register_raw(first_name="n" * 101)
    assert_error(r, 422, "validation_failed", ["first_name"])
    r, _ = client.register_raw(last_name="n" * 101)
    assert_error(r, 422, "validation_failed", ["last_name"])
    assert_error(client.post("/api/v1/posts", {"content": "p" * 1001}, token=u.token), 422,
                 "validation_failed", ["content"])
    p = client.create_post(u, "short")
    assert_error(client.post(f"/api/v1/posts/{p['id']}/comments", {"content": "c" * 501},
                             token=u.token), 422, "validation_failed", ["content"])
    for _ in range(101):
        client.create_post(u, "filler")
    r = client.get("/api/v1/feed?limit=100000", token=u.token)
    assert r.status == 200 and len(r.json["items"]) == 100, r


# --------------------------------------------------------------------------- S14


def test_s14_identity_only_from_token(client: Client):
    a = client.new_user()
    b = client.new_user()
    r = client.post("/api/v1/posts", {"content": "who wrote me?", "author_id": b.id,
                                      "user_id": b.id, "author": {"id": b.id},
                                      "username": b.username}, token=a.token)
    assert r.status in (201, 422), r
    if r.status == 201:
        assert r.json["post"]["author"]["id"] == a.id, "author taken from the body"
        assert r.json["post"]["author"]["username"] == a.username
        pid = r.json["post"]["id"]
    else:
        pid = client.create_post(a, "plain")["id"]
    r = client.post(f"/api/v1/posts/{pid}/comments",
                    {"content": "me", "author_id": b.id, "user_id": b.id, "post_id": "1"},
                    token=a.token)
    assert r.status in (201, 422), r
    if r.status == 201:
        assert r.json["comment"]["author"]["id"] == a.id
        assert r.json["comment"]["post_id"] == pid
    r = client.get(f"/api/v1/users/me?user_id={b.id}&username={b.username}", token=a.token)
    assert r.status == 200 and r.json["user"]["id"] == a.id, r
    # The feed: a's and b's feeds differ and neither is empty, so a feed answered for the
    # user named in the query (instead of the token's) would show.
    c = client.new_user()
    d = client.new_user()
    assert client.follow(a, c).status == 204
    assert client.follow(b, d).status == 204
    c_post = client.create_post(c, "c's post, in a's feed")["id"]
    d_post = client.create_post(d, "d's post, only in b's feed")["id"]
    b_feed = client.get("/api/v1/feed", token=b.token)
    assert d_post in [p["id"] for p in b_feed.json["items"]], b_feed
    for query in (f"user_id={b.id}", f"username={b.username}", f"user={b.id}"):
        r = client.get(f"/api/v1/feed?{query}", token=a.token)
        assert r.status == 200, r
        ids = [p["id"] for p in r.json["items"]]
        assert c_post in ids, f"a's feed lacks c's post: {r!r}"
        assert d_post not in ids, f"?{query} showed b's feed to a"
    # the session answer describes the caller, not a body field
    r = client.post("/api/v1/sessions", {"login": a.username, "password": a.password,
                                         "user_id": b.id})
    assert r.status in (200, 422), r
    if r.status == 200:
        client.server.secrets.add(r.json["token"])
        assert r.json["user"]["id"] == a.id
        assert str(jwt_parts(r.json["token"])[1]["sub"]) == a.id


# --------------------------------------------------------------------------- S15


def test_s15_not_visible_is_404_everywhere(client: Client):
    author = client.new_user()
    viewer = client.new_user()
    post = client.create_post(author, "only for my followers")
    pid = post["id"]
    ghost = client.get("/api/v1/posts/999999999", token=viewer.token)
    assert_error(ghost, 404, "not_found")

    def all_hidden():
        r = client.get(f"/api/v1/posts/{pid}", token=viewer.token)
        assert_error(r, 404, "not_found")
        assert_error(client.get(f"/api/v1/posts/{pid}/comments", token=viewer.token), 404,
                     "not_found")
        assert_error(client.post(f"/api/v1/posts/{pid}/comments", {"content": "sneaky"},
                                 token=viewer.token), 404, "not_found")
        assert_error(client.get(f"/api/v1/users/{author.username}/posts", token=viewer.token),
                     404, "not_found")
        r = client.get("/api/v1/feed", token=viewer.token)
        assert pid not in {p["id"] for p in r.json["items"]}

    all_hidden()
    assert client.follow(viewer, author).status == 204
    r = client.get(f"/api/v1/posts/{pid}/comments", token=viewer.token)
    assert r.status == 200 and r.json["items"] == [], "the refused comment must not exist"
    assert client.get(f"/api/v1/posts/{pid}", token=viewer.token).json["post"]["comment_count"] == 0
    client.create_comment(viewer, pid, "now I may")
    assert client.get(f"/api/v1/users/{author.username}/posts", token=viewer.token).status == 200
    assert client.unfollow(viewer, author).status == 204
    all_hidden()
    # the author still sees their own post and the comment
    r = client.get(f"/api/v1/posts/{pid}/comments", token=author.token)
    assert r.status == 200 and len(r.json["items"]) == 1


# --------------------------------------------------------------------------- S16


def test_s16_no_secrets_in_log_or_outbox(start_server):
    try:
        srv = start_server(args=["--log-level", "debug"])
    except AssertionError:
        srv = start_server()  # the level name is not part of the contract
    c = Client(srv)
    a = c.new_user()
    b = c.new_user()
    tried = "pw-attempt-" + hexid(8)
    srv.secrets.add(tried)
    assert c.login_raw(a.username, tried).status == 401  # a wrong password is a secret too
    assert c.follow(a, b).status == 204
    p = c.create_post(b, "hello from b")
    c.create_comment(a, p["id"], "hi b")
    assert c.get("/api/v1/feed", token=a.token).status == 200
    assert c.get("/api/v1/users/me", cookie=f"bsocial_session={b.token}").status == 200
    assert c.delete("/api/v1/sessions/current", token=a.token).status == 204
    rows = srv.db.outbox_after(0)
    assert len(rows) >= 8, f"expected outbox rows for every action, got {len(rows)}"
    for row in rows:
        text = row["payload"]
        low = text.lower()
        for word in ("password", "hash", "token", "$argon2"):
            assert word not in low, f"{word!r} in outbox payload {text}"
        for s in srv.secrets:
            assert s not in text, "a password or token in an outbox payload"
    srv.stop()  # asserts exit 0 and that stderr holds no password, token or hash
    log = srv.all_stderr_text()
    for s in (a.password, b.password, tried, a.token, b.token):
        assert s not in log


# --------------------------------------------------------------------------- S17


def test_s17_sql_strings_are_just_strings(client: Client):
    p = "q" + hexid(4)
    exact = client.register(username=f"{p}_ab")
    client.register(username=f"{p}xab")
    client.register(username=f"{p}yab")
    viewer = client.new_user()

    def search(term: str):
        r = client.get(f"/api/v1/users?q={q(term)}", token=viewer.token)
        assert r.status in (200, 422), r
        return None if r.status == 422 else [u["username"] for u in r.json["items"]]

    assert search(p) == sorted([f"{p}_ab", f"{p}xab", f"{p}yab"])
    assert search(f"{p}_") == [exact.username], "'_' must not be a LIKE wildcard"
    # Punctuation separates words in a people search (docs/people.md): a LIKE wildcard or a
    # quote after a name is punctuation, never a pattern or SQL.
    for term in (f"{p}%", f"{p}\\", f"{p}'--"):
        assert search(term) == search(p), f"q={term!r}"
    # Inside a word a wildcard would match any character to LIKE: here it splits the word,
    # and the second part starts no name.
    for term in (f"{p[:3]}%{p[4:]}", f"{p[:3]}_{p[4:]}", "x' OR '1'='1", "' OR ''='"):
        got = search(term)
        assert got in (None, []), f"q={term!r} matched {got}"
    # Nothing but punctuation is no search at all: the directory, as an empty q.
    for term in ("%", "_%", "*"):
        got = search(term)
        assert got in (None, [], search("")), f"q={term!r} matched {got}"
    for name in ("x' OR '1'='1", "%", "_", f"{p}%", "' OR 1=1 --"):
        r = client.get(f"/api/v1/users/{q(name)}", token=viewer.token)
        assert r.status in (404, 422), r
        r = client.put(f"/api/v1/users/me/following/{q(name)}", token=viewer.token)
        assert r.status in (404, 422), r
    for login in ("x' OR '1'='1", "' OR '1'='1' --", f"{exact.username}' --",
                  f"{exact.username}'/*", "%", f"{p}_a%"):
        for pw in ("' OR '1'='1", "x' OR 'x'='x"):
            r = client.login_raw(login, pw)
            assert r.status in (401, 422), r
            if r.status == 401:
                assert_error(r, 401, "invalid_credentials")
    evil = "'); DROP TABLE posts; -- \" ; SELECT * FROM users WHERE 'a'='a"
    post = client.create_post(viewer, evil)
    assert post["content"] == evil
    c = client.create_comment(viewer, post["id"], evil[:400])
    assert c["content"] == evil[:400]
    r = client.get(f"/api/v1/posts/{post['id']}", token=viewer.token)
    assert r.json["post"]["content"] == evil
    assert client.get("/api/v1/feed", token=viewer.token).status == 200


# --------------------------------------------------------------------------- issue 9 (hardening)
# Item numbers are those of issue 9; docs/security.md has the decisions.


class ClientAccepting503(Client):
    """A client for the tests that provoke 503 on purpose (the suite's global check
    refuses every 5xx)."""

    def check_response(self, r) -> None:
        if r.status != 503:
            super().check_response(r)


def test_i9_1_hashing_pool_full_answers_503_with_retry_after(start_server):
    """One hashing thread, no queue: of parallel registrations some are refused at once with
    503 + Retry-After (problem JSON), the others succeed; nothing waits without end."""
    from concurrent.futures import ThreadPoolExecutor
    srv = start_server(env={"BSOCIAL_HASH_THREADS": "1", "BSOCIAL_HASH_QUEUE": "0"})
    c = ClientAccepting503(srv)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: c.register_raw()[0], range(8)))
    statuses = sorted(r.status for r in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert 201 in statuses and 503 in statuses, statuses
    for r in answers:
        if r.status == 503:
            assert_error(r, 503, "unavailable")
            assert r.header("Retry-After") == "1", r
    assert metric(c, "bsocial_password_hash_refused_total") == statuses.count(503)


def test_i9_1_registrations_limited_per_address_with_the_real_default(start_server):
    """The real default (BSOCIAL_REGISTRATIONS_PER_MINUTE unset): a burst of 20 per
    address, then 429 + Retry-After; another address is not affected."""
    srv = start_server(env={"BSOCIAL_REGISTRATIONS_PER_MINUTE": None})
    c = Client(srv).from_address("127.0.0.21")
    # Register until refused. The bucket refills one registration every 6 s, so on a slow
    # machine (debug build, Argon2id per registration) the burst may take long enough to
    # earn a few more: allow exactly those, no more.
    started = time.monotonic()
    accepted = 0
    while True:
        r, _ = c.register_raw()
        if r.status != 201 or accepted == 60:
            break
        accepted += 1
    refills = int((time.monotonic() - started) // 6)
    assert 20 <= accepted <= 20 + refills, (accepted, refills)
    assert_error(r, 429, "rate_limited")
    ra = r.header("Retry-After")
    assert ra is not None and 1 <= int(ra) <= 6, ra  # 10 per minute: one every 6 s
    assert "registrations" in r.json["error"]["message"]
    Client(srv).from_address("127.0.0.22").register()


def test_i9_2_username_and_email_share_one_budget(start_server):
    n = 3
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": str(n),
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": "60"})
    base = Client(srv)
    u = base.register()
    attacker = base.from_address("127.0.1.1")
    for login in [u.username, u.email.upper(), u.username.upper()]:
        r = attacker.login_raw(login, "wrong-" + hexid(4))
        assert_error(r, 401, "invalid_credentials")
    for login in (u.email, u.username):
        check_429(attacker.login_raw(login, u.password), 60)


def test_i9_2_parallel_guesses_cannot_pass_the_limit(start_server):
    """12 wrong passwords at once for one account from one address: exactly max_failures
    of them reach the password check, the rest are refused (429)."""
    from concurrent.futures import ThreadPoolExecutor
    n = 3
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": str(n),
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": "60"})
    base = Client(srv)
    u = base.register()
    clients = [base.from_address("127.0.2.1") for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda c: c.login_raw(u.username, "wrong-" + hexid(4)), clients))
    statuses = sorted(r.status for r in answers)
    assert statuses.count(401) == n, statuses
    assert statuses.count(429) == 12 - n, statuses


def test_i24_2_the_account_ceiling_slows_many_addresses_but_not_the_owners(start_server):
    """12 wrong passwords at once for one account, each from its own address: exactly
    BSOCIAL_LOGIN_IDENTIFIER_CEILING of them reach the password check, the rest wait a
    short Retry-After (a delay, not the window); the owner's own address (it logged in
    before) is not slowed, and after the delay another address gets its turn."""
    from concurrent.futures import ThreadPoolExecutor
    ceiling, slow = 4, 3
    srv = start_server(env={"BSOCIAL_LOGIN_MAX_FAILURES": "3",
                            "BSOCIAL_LOGIN_WINDOW_SECONDS": "600",
                            "BSOCIAL_LOGIN_IDENTIFIER_CEILING": str(ceiling),
                            "BSOCIAL_LOGIN_SLOW_SECONDS": str(slow)})
    base = Client(srv)
    owner = base.from_address("127.0.3.200")
    u = owner.register()
    assert owner.login_raw(u.username, u.password).status == 200
    clients = [base.from_address(f"127.0.3.{i}") for i in range(1, 13)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda c: c.login_raw(u.username, "wrong-" + hexid(4)), clients))
    statuses = sorted(r.status for r in answers)
    assert statuses.count(401) == ceiling, statuses
    for r in answers:
        if r.status == 429:
            assert 1 <= check_429(r, 600) <= slow, r.header("Retry-After")
    assert owner.login_raw(u.username, u.password).status == 200, "the owner was slowed"
    time.sleep(slow + 0.5)
    late = base.from_address("127.0.3.100")
    assert late.login_raw(u.username, u.password).status == 200, "slowed, not locked"


def test_i9_3_database_error_during_registration_leaks_nothing(start_server):
    """A registration insert that fails for a reason other than a duplicate (here a trigger
    raises): the client gets 503 problem JSON, and the server log holds neither the e-mail,
    the password nor its hash (SOCI puts bound values into its error text)."""
    srv = start_server()
    c = ClientAccepting503(srv)
    c.register()  # the schema exists
    srv.db.execute_admin(
        "CREATE TRIGGER fail_registrations BEFORE INSERT ON users "
        "BEGIN SELECT RAISE(ABORT, 'registrations are failing'); END;",
        "CREATE FUNCTION fail_registrations() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'registrations are failing'; END $$; "
        "CREATE TRIGGER fail_registrations BEFORE INSERT ON users "
        "FOR EACH ROW EXECUTE FUNCTION fail_registrations();")
    # "23505" (PostgreSQL's unique_violation) in a value must not make this look like a
    # duplicate: the error is classified by its code, never by its text.
    email = f"leak_23505_{hexid(6)}@example.com"
    password = "leak-" + hexid(12)
    r, _ = c.register_raw(username=f"u23505_{hexid(4)}", email=email, password=password,
                          password_confirmation=password)
    assert_error(r, 503, "unavailable")
    assert r.header("Retry-After") is not None
    body = r.raw.decode()
    assert email not in body and password not in body
    log = srv.stderr_text()
    assert "registration_failed" in log, log[-2000:]
    assert email not in log, "the e-mail reached the log"
    assert password not in log, "the password reached the log"
    assert "$argon2" not in log, "the password hash reached the log"
    assert "INSERT INTO users" not in log


def test_i9_4_jwt_secret_file_created_private_and_shared(start_server):
    """Without BSOCIAL_JWT_SECRET the secret is generated in the data directory: mode 0600
    even under umask 000, and servers starting together on one data directory agree."""
    import os
    import stat
    from concurrent.futures import ThreadPoolExecutor
    from bsocial_testkit.server import ServerProcess
    first = start_server(env={"BSOCIAL_JWT_SECRET": None})
    first.stop()
    data = first.data_dir
    (data / "jwt-secret").unlink()
    # Several serve processes on one database: timelines in the tables (docs/feed.md).
    servers = [ServerProcess(workdir=first.workdir / f"racer{i}", db_url=first.db_url,
                             env_overrides={"BSOCIAL_JWT_SECRET": None,
                                            "BSOCIAL_FEED_CACHE_USERS": "0"},
                             data_dir=data)  # one data directory for all four
               for i in range(4)]
    old_umask = os.umask(0)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.start(), servers))
    finally:
        os.umask(old_umask)
    try:
        mode = stat.S_IMODE((data / "jwt-secret").stat().st_mode)
        assert mode == 0o600, oct(mode)
        assert not list(data.glob(".jwt-secret.*")), "temporary files left behind"
        u = Client(servers[0]).register()
        token = Client(servers[0]).login(u)
        for s in servers[1:]:
            r = Client(s).get("/api/v1/users/me", token=token)
            assert r.status == 200, "the racing servers ended with different secrets"
    finally:
        for s in servers:
            s.stop()


def test_i9_4_jwt_secret_file_readable_by_others_is_refused(start_server):
    from bsocial_testkit.server import ServerStartError
    srv = start_server(env={"BSOCIAL_JWT_SECRET": None})
    srv.stop()
    secret = srv.data_dir / "jwt-secret"
    secret.chmod(0o644)
    with pytest.raises(ServerStartError) as refused:
        srv.start()
    assert "chmod 600" in str(refused.value), refused.value
    secret.chmod(0o600)
    srv.start()


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_i9_7_names_refuse_invisible_format_characters(client: Client, field: str):
    for bad in ("Ada\u202e", "A\u200bda", "\u2066Ada\u2069", "\ufeffAda", "A\u00adda"):
        r, _ = client.register_raw(**{field: bad})
        body = assert_error(r, 422, "validation_failed", [field])
        assert "invisible" in body["fields"][field], body


def test_i9_7_posts_and_comments_refuse_bidi_overrides(client: Client):
    u = client.new_user()
    for bad in ("evil\u202etxt.exe", "zero\u200bwidth", "iso\u2067late\u2069"):
        r = client.post("/api/v1/posts", {"content": bad}, token=u.token)
        assert_error(r, 422, "validation_failed", ["content"])
    post = client.create_post(u, "fine \U0001F468\u200D\U0001F469\u200D\U0001F467 family emoji")
    r = client.post(f"/api/v1/posts/{post['id']}/comments", {"content": "x\u202ey"},
                    token=u.token)
    assert_error(r, 422, "validation_failed", ["content"])


def test_i24_6_c1_controls_separators_and_fillers_refused(client: Client):
    """Issue 24 item 6: U+009B (CSI), U+2028/U+2029 and Hangul fillers passed the checks."""
    u = client.new_user()
    post = client.create_post(u, "a plain post")
    for bad in ("csi\u009b31mred", "line\u2028break", "para\u2029graph", "\u3164\u3164"):
        r = client.post("/api/v1/posts", {"content": bad}, token=u.token)
        assert_error(r, 422, "validation_failed", ["content"])
        r = client.post(f"/api/v1/posts/{post['id']}/comments", {"content": bad}, token=u.token)
        assert_error(r, 422, "validation_failed", ["content"])
        r, _ = client.register_raw(first_name=bad)
        assert_error(r, 422, "validation_failed", ["first_name"])


def test_i9_7_one_mailbox_cannot_register_twice(client: Client):
    name = f"mb_{hexid(6)}"
    client.register(email=f"{name}@example.com")
    r, _ = client.register_raw(email=f"  {name.upper()}@EXAMPLE.COM ")
    assert_error(r, 409, "already_exists", ["email"])
    for lookalike in (f"{name}\u200b@example.com", f"{name}@\u0435xample.com",
                      f"{name[:-1]}\u00e9@example.com"):
        r, _ = client.register_raw(email=lookalike)
        assert_error(r, 422, "validation_failed", ["email"])


def test_i9_9_secure_cookie_has_host_prefix(start_server):
    srv = start_server(args=["--cookie-secure", "true"])
    c = Client(srv)
    u = c.register()
    r = c.login_raw(u.username, u.password)
    assert r.status == 200, r
    cookies = r.header_all("Set-Cookie")
    assert len(cookies) == 1, cookies
    cookie = cookies[0]
    assert cookie.startswith("__Host-bsocial_session="), cookie
    attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "secure" in attrs and "path=/" in attrs, cookie
    assert not any(a.startswith("domain") for a in attrs), cookie
    token = r.json["token"]
    assert c.get("/api/v1/users/me", cookie=f"__Host-bsocial_session={token}").status == 200
    # the unprefixed name could have been planted by a sibling host or over plain HTTP
    assert_error(c.get("/api/v1/users/me", cookie=f"bsocial_session={token}"), 401,
                 "unauthorized")
    r = c.request("DELETE", "/api/v1/sessions/current", token=token)
    assert r.status == 204
    assert r.header("Set-Cookie").startswith("__Host-bsocial_session=;"), r.header("Set-Cookie")


def test_i9_12_bearer_scheme_is_ascii_case_insensitive(client: Client):
    u = client.new_user()
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        r = client.get("/api/v1/users/me", headers={"Authorization": f"{scheme} {u.token}"})
        assert r.status == 200, (scheme, r)
    # a non-ASCII look-alike of the scheme is not "Bearer" (no locale folding)
    for scheme in ("B\u00e9arer", "\u0392earer"):
        r = client.get("/api/v1/users/me",
                       headers={"Authorization": f"{scheme} {u.token}".encode().decode("latin-1")})
        assert_error(r, 401, "unauthorized")


def _start_refused(args: list[str], env: dict, tmp: Path) -> subprocess.CompletedProcess:
    """Runs the subcommand; it must exit by itself within 20 s (else it is killed and the
    test fails: it started)."""
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
    cmd = [str(binary_path()), *args, "--port", "0", "--data-dir", str(data)]
    try:
        return subprocess.run(cmd, env={**base, **env}, capture_output=True, text=True,
                              timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"{args[0]} started and kept running (stdout: {out[:200]!r})")


@pytest.mark.parametrize("secret,says", [
    ("dev-only-jwt-secret-change-me-0123456789abcdef", "published example value"),
    ("a-string-secret-at-least-256-bits-long", "published example value"),
    ("k" * 32, "published example value"),
    ("short-but-random-" + "3f9a1c", "at least 32"),
])
@pytest.mark.parametrize("command", ["serve", "notifier"])
def test_i22_published_or_short_jwt_secrets_stop_the_start(tmp_path, secret, says, command):
    """issue 22: a secret anyone can know would let anyone sign tokens for any user."""
    env = {"BSOCIAL_JWT_SECRET": secret}
    if command == "notifier":
        env["BSOCIAL_KAFKA_BROKERS"] = "127.0.0.1:9"  # checked first; never reached
    r = _start_refused([command], env, tmp_path)
    assert r.returncode != 0, f"{command} started with the secret {secret!r}: {r.stdout}"
    assert "listening" not in r.stdout, r.stdout
    last = [line for line in r.stderr.splitlines() if line.startswith("bsocial: ")]
    assert last and says in last[-1] and "BSOCIAL_JWT_SECRET" in last[-1], r.stderr[-2000:]


def test_i22_published_secret_in_the_secret_file_stops_the_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    secret = data / "jwt-secret"
    secret.write_text("dev-only-jwt-secret-change-me-0123456789abcdef\n")
    secret.chmod(0o600)
    r = _start_refused(["serve"], {}, tmp_path)
    assert r.returncode != 0 and "published example value" in r.stderr, r.stderr[-2000:]
