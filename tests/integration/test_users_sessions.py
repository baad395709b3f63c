"""Registration, login, tokens, cookies, logout, user lookup and search."""

from __future__ import annotations

import time
import urllib.parse

from bsocial_testkit.api import assert_error, hexid, parse_next_link, ts_to_ms
from bsocial_testkit.http import Client
from bsocial_testkit.jwt import jwt_parts


def cookie_attrs(set_cookie: str) -> tuple[str, str, dict]:
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return name, value, attrs


def session_cookie(r, cookie_name: str = "bsocial_session") -> tuple[str, dict]:
    for c in r.header_all("Set-Cookie"):
        name, value, attrs = cookie_attrs(c)
        if name == cookie_name:
            return value, attrs
    raise AssertionError(f"no {cookie_name} cookie in {r.header_all('Set-Cookie')}")


# --------------------------------------------------------------------------- registration


def test_register_boundaries_accepted(client: Client):
    tag = hexid(3)
    u3 = f"{tag[:3]}"  # 3 characters
    r, _ = client.register_raw(username=u3, email=f"{tag}@example.com")
    assert r.status == 201, r
    u30 = ("Z_" + hexid(14))[:30]
    assert len(u30) == 30
    r, _ = client.register_raw(username=u30)
    assert r.status == 201, r
    assert r.json["user"]["username"] == u30.lower()
    r, _ = client.register_raw(first_name="F" * 100, last_name="Zoë Ünicode-Ørsted")
    assert r.status == 201, r
    assert r.json["user"]["first_name"] == "F" * 100
    assert r.json["user"]["last_name"] == "Zoë Ünicode-Ørsted"
    # e-mail of exactly 254 characters (64 + 1 + 189)
    domain = "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    email = "e" * 58 + hexid(3) + "@" + domain
    assert len(email) == 254
    r, _ = client.register_raw(email=email)
    assert r.status == 201, r
    assert r.json["user"]["email"] == email


def test_register_response_shape_and_no_secrets(client: Client):
    r, f = client.register_raw()
    assert r.status == 201, r
    assert set(r.json) == {"user"}, r
    u = r.json["user"]
    assert {"id", "username", "email", "first_name", "last_name", "created_at"} <= set(u)
    lowered = {k.lower() for k in u}
    assert not any(("password" in k) or ("hash" in k) or ("token" in k) for k in lowered), u


# --------------------------------------------------------------------------- login


def test_login_token_claims_and_cookie(client: Client):
    u = client.register()
    before = int(time.time())
    r = client.login_raw(u.username, u.password)
    after = int(time.time())
    assert r.status == 200, r
    assert set(r.json) >= {"token", "token_type", "expires_at", "user"}, r
    assert r.json["token_type"] == "Bearer"
    assert r.json["user"]["id"] == u.id and r.json["user"]["email"] == u.email
    token = r.json["token"]
    header, claims, sig = jwt_parts(token)
    assert header.get("alg") == "HS256", header
    assert claims["iss"] == "bsocial", claims
    aud = claims["aud"]
    assert aud == "bsocial-api" or (isinstance(aud, list) and aud == ["bsocial-api"]), claims
    assert str(claims["sub"]) == u.id, claims
    assert isinstance(claims.get("jti"), str) and claims["jti"], claims
    assert before - 2 <= claims["iat"] <= after + 2, claims
    assert claims["exp"] - claims["iat"] == 86400, claims
    assert len(sig) == 32
    exp_ms = ts_to_ms(r.json["expires_at"])
    assert abs(exp_ms - claims["exp"] * 1000) <= 1000, (r.json["expires_at"], claims)
    value, attrs = session_cookie(r)
    assert value == token
    assert attrs.get("path") == "/", attrs
    assert "httponly" in attrs, attrs
    assert attrs.get("samesite", "").lower() == "strict", attrs
    assert attrs.get("max-age") == "86400", attrs
    # two logins -> two different tokens (distinct jti)
    r2 = client.login_raw(u.email, u.password)
    assert r2.status == 200
    assert r2.json["token"] != token
    assert jwt_parts(r2.json["token"])[1]["jti"] != claims["jti"]


def test_login_failures(client: Client):
    u = client.register()
    r = client.login_raw(u.username, u.password + "x")
    assert_error(r, 401, "invalid_credentials")
    assert not session_cookie_present(r)
    r = client.login_raw("nobody_" + hexid(4), u.password)
    assert_error(r, 401, "invalid_credentials")
    # passwords are case sensitive
    r = client.login_raw(u.username, u.password.upper())
    assert_error(r, 401, "invalid_credentials")
    # a missing field is never a 500 nor a success
    r = client.post("/api/v1/sessions", {"login": u.username})
    assert r.status in (401, 422), r
    r = client.post("/api/v1/sessions", {"password": u.password})
    assert r.status in (401, 422), r


def session_cookie_present(r) -> bool:
    return any(c.startswith("bsocial_session=") and "max-age=0" not in c.lower()
               for c in r.header_all("Set-Cookie"))


# --------------------------------------------------------------------------- cookie & bearer


def test_cookie_auth_and_bearer_precedence(client: Client):
    a = client.new_user()
    b = client.new_user()
    r = client.get("/api/v1/users/me", cookie=f"bsocial_session={a.token}")
    assert r.status == 200, r
    assert r.json["user"]["id"] == a.id
    r = client.get("/api/v1/users/me", token=b.token, cookie=f"bsocial_session={a.token}")
    assert r.status == 200 and r.json["user"]["id"] == b.id, "Bearer must win over the cookie"
    r = client.get("/api/v1/users/me", token=b.token, cookie="bsocial_session=garbage")
    assert r.status == 200 and r.json["user"]["id"] == b.id, r
    r = client.get("/api/v1/users/me", token="garbage", cookie=f"bsocial_session={a.token}")
    assert_error(r, 401, "unauthorized")
    r = client.get("/api/v1/users/me", cookie=f"other=1; bsocial_session={a.token}; x=y")
    assert r.status == 200 and r.json["user"]["id"] == a.id, r


# --------------------------------------------------------------------------- logout


def test_logout_kills_only_that_token(client: Client):
    u = client.register()
    t1 = client.login(u)
    t2 = client.login(u)
    assert t1 != t2
    r = client.delete("/api/v1/sessions/current", token=t1)
    assert r.status == 204, r
    assert r.raw == b"", r
    assert_error(client.get("/api/v1/users/me", token=t1), 401, "unauthorized")
    assert_error(client.get("/api/v1/users/me", cookie=f"bsocial_session={t1}"), 401,
                 "unauthorized")
    assert_error(client.delete("/api/v1/sessions/current", token=t1), 401, "unauthorized")
    r = client.get("/api/v1/users/me", token=t2)
    assert r.status == 200 and r.json["user"]["id"] == u.id, r
    assert_error(client.delete("/api/v1/sessions/current"), 401, "unauthorized")


def test_token_ttl_and_secure_cookie(start_server):
    # BSOCIAL_TOKEN_TTL_SECONDS drives exp, expires_at and the cookie's Max-Age. (Expiry
    # itself is tested with a forged expired token in test_security.py: the server
    # refuses lifetimes under 60 s, too long to wait for here.)
    ttl = 60
    srv = start_server(env={"BSOCIAL_TOKEN_TTL_SECONDS": str(ttl),
                            "BSOCIAL_COOKIE_SECURE": "true"})
    c = Client(srv)
    u = c.register()
    r = c.login_raw(u.username, u.password)
    assert r.status == 200, r
    token = r.json["token"]
    claims = jwt_parts(token)[1]
    assert claims["exp"] - claims["iat"] == ttl, claims
    assert abs(ts_to_ms(r.json["expires_at"]) - claims["exp"] * 1000) <= 1000
    assert abs(claims["exp"] - (time.time() + ttl)) < 30, claims
    # Secure: the __Host- prefix (issue 9 item 9), Path=/ and no Domain
    value, attrs = session_cookie(r, "__Host-bsocial_session")
    assert value == token
    assert attrs.get("max-age") == str(ttl), attrs
    assert "secure" in attrs and attrs.get("path") == "/" and "domain" not in attrs, attrs
    assert attrs.get("samesite", "").lower() == "strict" and "httponly" in attrs, attrs
    assert c.get("/api/v1/users/me", token=token).status == 200
    r = c.delete("/api/v1/sessions/current", token=token)
    assert r.status == 204
    cleared = [cookie_attrs(h) for h in r.header_all("Set-Cookie")]
    assert any(n == "__Host-bsocial_session" and a.get("max-age") == "0"
               for n, _, a in cleared), cleared


# --------------------------------------------------------------------------- lookup & search


def test_lookup_is_case_insensitive_and_hides_email(client: Client):
    a = client.new_user(username=f"MiXed_{hexid(4)}")
    b = client.new_user()
    assert a.username == a.username.lower()
    r = client.get(f"/api/v1/users/{a.username.upper()}", token=b.token)
    assert r.status == 200, r
    assert r.json["user"]["username"] == a.username
    assert "email" not in r.json["user"], r
    assert r.json["followed_by_me"] is False
    assert client.follow(b, a.username.upper()).status == 204
    r = client.get(f"/api/v1/users/{a.username}", token=b.token)
    assert r.json["followed_by_me"] is True and r.json["followers_count"] == 1, r
    r = client.get("/api/v1/users/me", token=a.token)
    assert r.json["user"]["email"] == a.email


def test_search_prefix_pagination_and_link(client: Client):
    prefix = "s" + hexid(4)
    names = sorted(f"{prefix}_{c}" for c in "edcba")
    users = [client.register(username=n) for n in reversed(names)]
    viewer = client.new_user()
    client.register(username="t" + prefix[1:] + "_z")  # similar but not the prefix
    r = client.get(f"/api/v1/users?q={prefix}&limit=2", token=viewer.token)
    assert r.status == 200, r
    got, pages = [], 0
    while True:
        pages += 1
        items = r.json["items"]
        assert len(items) <= 2
        got += [u["username"] for u in items]
        for u in items:
            assert "email" not in u, u
        link = parse_next_link(r)
        if r.json["next_cursor"] is None:
            assert link is None, f"Link without next_cursor: {link}"
            break
        assert link is not None, "next_cursor without a Link header"
        parts = urllib.parse.urlsplit(link)
        assert parts.path == "/api/v1/users", link
        qs = urllib.parse.parse_qs(parts.query)
        assert qs.get("cursor") == [r.json["next_cursor"]], (link, r.json["next_cursor"])
        assert qs.get("limit") == ["2"], link
        # follow the Link header itself
        r = client.get(parts.path + "?" + parts.query, token=viewer.token)
        assert r.status == 200, r
        assert pages < 10
    assert got == names, got
    assert pages == 3
    # upper-case prefix finds the same users (usernames match in lower case)
    r = client.get(f"/api/v1/users?q={prefix.upper()}", token=viewer.token)
    assert [u["username"] for u in r.json["items"]] == names
    assert len(users) == 5


def test_list_everyone_without_q_sorted(client: Client):
    viewer = client.new_user()
    everyone = client.list_all("/api/v1/users", viewer.token, limit=100)
    names = [u["username"] for u in everyone]
    assert viewer.username in names
    assert names == sorted(names), "users must be listed by username ascending"
    assert len(names) == len(set(names))


def test_follow_unknown_and_self(client: Client):
    a = client.new_user()
    assert_error(client.follow(a, "nobody_" + hexid(4)), 404, "not_found")
    assert_error(client.unfollow(a, "nobody_" + hexid(4)), 404, "not_found")
    assert_error(client.follow(a, a), 422, "validation_failed", ["username"])
    assert_error(client.follow(a, a.username.upper()), 422, "validation_failed", ["username"])
    # unfollowing someone I do not follow is fine (idempotent)
    b = client.register()
    assert client.unfollow(a, b).status == 204
    r = client.get(f"/api/v1/users/{a.username}", token=a.token)
    assert r.json["following_count"] == 0 and r.json["followers_count"] == 0


# --------------------------------------------------------------------------- concurrency


def test_concurrent_same_username_one_wins(client: Client):
    from concurrent.futures import ThreadPoolExecutor

    name = f"race_{hexid(4)}"
    bodies = [client.user_fields(username=name, email=f"{name}_{i}@example.com")
              for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda b: client.post("/api/v1/users", b), bodies))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * 5, statuses
    for r in results:
        if r.status == 409:
            assert_error(r, 409, "already_exists", ["username"])


def test_concurrent_follow_and_post(client: Client):
    from concurrent.futures import ThreadPoolExecutor

    a = client.new_user()
    b = client.new_user()
    with ThreadPoolExecutor(8) as pool:
        follows = list(pool.map(lambda _: client.follow(a, b), range(8)))
        posts = list(pool.map(lambda i: client.post("/api/v1/posts", {"content": f"c{i}"},
                                                    token=b.token), range(16)))
    assert [r.status for r in follows] == [204] * 8, follows
    assert [r.status for r in posts] == [201] * 16, posts
    assert len({r.json["post"]["id"] for r in posts}) == 16
    r = client.get(f"/api/v1/users/{b.username}", token=a.token)
    assert r.json["followers_count"] == 1 and r.json["followed_by_me"] is True, r
    feed = client.list_all("/api/v1/feed", a.token, limit=5)
    assert len(feed) == 16 and len({p["id"] for p in feed}) == 16
