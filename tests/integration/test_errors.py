"""Every error case of api.md / api-conventions.md, and never a 500."""

from __future__ import annotations

import json

import pytest

from bsocial_testkit.api import assert_error, hexid
from bsocial_testkit.http import Client

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def alice(client: Client):
    return client.new_user()


@pytest.fixture(scope="module")
def other_user(client: Client):
    return client.register()


@pytest.fixture(scope="module")
def alice_post(client: Client, alice):
    return client.create_post(alice, "alice's post for the error tests")


def valid_registration(**over) -> dict:
    name = f"v_{hexid(6)}"
    pw = f"pw-{hexid(10)}"
    body = {"first_name": "Val", "last_name": "Idator", "username": name,
            "email": f"{name}@example.com", "password": pw, "password_confirmation": pw}
    for k, v in over.items():
        if v is MISSING:
            body.pop(k, None)
        else:
            body[k] = v
    if "password" in over and "password_confirmation" not in over and over["password"] is not MISSING:
        body["password_confirmation"] = over["password"]
    return body


MISSING = object()

# --------------------------------------------------------------------------- 400


BAD_JSON = [b'{"a":', b"{'a':1}", b"nul", b"", b"{} x", b'{"content":"x",}', b"\xef\xbb"]


@pytest.mark.parametrize("raw", BAD_JSON, ids=lambda b: repr(b)[:20])
def test_malformed_json_400(client: Client, alice, alice_post, raw):
    assert_error(client.post("/api/v1/users", raw=raw), 400, "malformed_json")
    assert_error(client.post("/api/v1/sessions", raw=raw), 400, "malformed_json")
    assert_error(client.post("/api/v1/posts", raw=raw, token=alice.token), 400, "malformed_json")
    assert_error(client.post(f"/api/v1/posts/{alice_post['id']}/comments", raw=raw,
                             token=alice.token), 400, "malformed_json")


# --------------------------------------------------------------------------- 401

AUTH_ROUTES = [
    ("GET", "/api/v1/users/me"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/users?q=a"),
    ("GET", "/api/v1/users/{u}"),
    ("GET", "/api/v1/users/{u}/followers"),
    ("GET", "/api/v1/users/{u}/following"),
    ("GET", "/api/v1/users/{u}/posts"),
    ("PUT", "/api/v1/users/me/following/{u}"),
    ("DELETE", "/api/v1/users/me/following/{u}"),
    ("DELETE", "/api/v1/sessions/current"),
    ("GET", "/api/v1/feed"),
    ("POST", "/api/v1/posts"),
    ("GET", "/api/v1/posts/{p}"),
    ("GET", "/api/v1/posts/{p}/comments"),
    ("POST", "/api/v1/posts/{p}/comments"),
    ("DELETE", "/api/v1/posts/{p}"),
    ("DELETE", "/api/v1/comments/{p}"),  # any id: the token is checked first
]


@pytest.mark.parametrize("method,path", AUTH_ROUTES)
@pytest.mark.parametrize("auth", ["none", "garbage", "basic", "empty_bearer", "bad_cookie"])
def test_401_without_valid_token(client: Client, alice_post, other_user, method, path, auth):
    url = path.format(u=other_user.username, p=alice_post["id"])
    headers = {}
    cookie = None
    if auth == "garbage":
        headers["Authorization"] = "Bearer not.a.jwt"
    elif auth == "basic":
        headers["Authorization"] = "Basic YWxpY2U6c2VjcmV0"
    elif auth == "empty_bearer":
        headers["Authorization"] = "Bearer "
    elif auth == "bad_cookie":
        cookie = "bsocial_session=not.a.jwt"
    body = {"content": "should not be stored"} if method == "POST" else None
    if body is not None:
        r = client.request(method, url, body, headers=headers, cookie=cookie)
    else:
        r = client.request(method, url, headers=headers, cookie=cookie)
    assert_error(r, 401, "unauthorized")
    assert r.header("Set-Cookie") is None or "max-age=0" in r.header("Set-Cookie").lower()


def test_public_routes_need_no_token(client: Client):
    assert client.get("/healthz").status == 200
    assert client.get("/metrics").status == 200
    r, _ = client.register_raw()
    assert r.status == 201


# --------------------------------------------------------------------------- 404


def test_unknown_routes_404(client: Client, alice):
    for path in ["/api/v1/nope", "/api/v2/feed", "/nope", "/api/v1/posts/1/likes",
                 "/api/v1/feed/extra", "/api"]:
        assert_error(client.get(path, token=alice.token), 404, "not_found")


def test_unknown_resources_404(client: Client, alice):
    ghost = "ghost_" + hexid(4)
    for path in [f"/api/v1/users/{ghost}", f"/api/v1/users/{ghost}/posts",
                 f"/api/v1/users/{ghost}/followers", f"/api/v1/users/{ghost}/following",
                 "/api/v1/posts/999999999", "/api/v1/posts/999999999/comments"]:
        assert_error(client.get(path, token=alice.token), 404, "not_found")
    assert_error(client.post("/api/v1/posts/999999999/comments", {"content": "hi"},
                             token=alice.token), 404, "not_found")
    assert_error(client.put(f"/api/v1/users/me/following/{ghost}", token=alice.token),
                 404, "not_found")
    assert_error(client.delete(f"/api/v1/users/me/following/{ghost}", token=alice.token),
                 404, "not_found")


@pytest.mark.parametrize("pid", ["abc", "0", "-1", "1.5", "99999999999999999999999999", "1e3"])
def test_odd_post_ids_are_not_found(client: Client, alice, pid):
    r = client.get(f"/api/v1/posts/{pid}", token=alice.token)
    assert r.status in (404, 422), r
    r = client.get(f"/api/v1/posts/{pid}/comments", token=alice.token)
    assert r.status in (404, 422), r


# --------------------------------------------------------------------------- 405


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/v1/feed", {"GET"}),
    ("PATCH", "/api/v1/posts", {"POST"}),
    ("PUT", "/api/v1/sessions", {"GET", "POST"}),
    ("POST", "/api/v1/sessions/current", {"DELETE"}),
    ("GET", "/api/v1/comments/1", {"DELETE"}),
    ("PUT", "/api/v1/posts/1", {"GET", "DELETE"}),
])
def test_method_not_allowed_405(client: Client, alice, method, path, allowed):
    r = client.request(method, path, token=alice.token)
    assert_error(r, 405, "method_not_allowed")
    allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
    assert allowed <= allow, f"Allow header {r.header('Allow')!r} lacks {allowed}"


# --------------------------------------------------------------------------- 409


def test_duplicate_username_and_email_409(client: Client):
    u = client.register(username=f"Dup_{hexid(4)}")
    r = client.post("/api/v1/users", valid_registration(username=u.username.upper()))
    assert_error(r, 409, "already_exists", ["username"])
    r = client.post("/api/v1/users", valid_registration(email=u.email.upper()))
    assert_error(r, 409, "already_exists", ["email"])
    r = client.post("/api/v1/users", valid_registration(email="  " + u.email + " "))
    assert_error(r, 409, "already_exists", ["email"])
    # the original is untouched
    r = client.login_raw(u.username, u.password)
    assert r.status == 200, r


# --------------------------------------------------------------------------- 413


def padded_body(total: int, base: dict) -> bytes:
    pad = total - len(json.dumps(dict(base, pad="")).encode())
    assert pad >= 0
    doc = json.dumps(dict(base, pad="p" * pad)).encode()
    assert len(doc) == total, len(doc)
    return doc


def test_body_over_64k_413(client: Client, alice, alice_post):
    for size in (65537, 200_000):
        assert_error(client.post("/api/v1/users", raw=padded_body(size, valid_registration())),
                     413, "payload_too_large")
        assert_error(client.post("/api/v1/posts", raw=padded_body(size, {"content": "big"}),
                                 token=alice.token), 413, "payload_too_large")
    assert_error(client.post(f"/api/v1/posts/{alice_post['id']}/comments",
                             raw=padded_body(65537, {"content": "big"}), token=alice.token),
                 413, "payload_too_large")
    assert_error(client.post("/api/v1/sessions",
                             raw=padded_body(65537, {"login": "x", "password": "y"})),
                 413, "payload_too_large")
    # exactly 64 KiB is not "over"; the unknown pad field may be ignored or refused
    r = client.post("/api/v1/posts", raw=padded_body(65536, {"content": "exactly 64 KiB"}),
                    token=alice.token)
    assert r.status in (201, 422), r


# --------------------------------------------------------------------------- 415


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/xml",
                                   "application/jsonx", "text/json"])
def test_wrong_content_type_415(client: Client, alice, alice_post, ctype):
    raw = json.dumps(valid_registration()).encode()
    assert_error(client.post("/api/v1/users", raw=raw, content_type=ctype), 415,
                 "unsupported_media_type")
    raw = json.dumps({"login": "someone", "password": "whatever1"}).encode()
    assert_error(client.post("/api/v1/sessions", raw=raw, content_type=ctype), 415,
                 "unsupported_media_type")
    raw = json.dumps({"content": "hello"}).encode()
    assert_error(client.post("/api/v1/posts", raw=raw, content_type=ctype, token=alice.token),
                 415, "unsupported_media_type")
    assert_error(client.post(f"/api/v1/posts/{alice_post['id']}/comments", raw=raw,
                             content_type=ctype, token=alice.token), 415,
                 "unsupported_media_type")


def test_json_with_charset_parameter_is_json(client: Client, alice):
    raw = json.dumps({"content": "charset is a parameter"}).encode()
    r = client.post("/api/v1/posts", raw=raw, content_type="application/json; charset=utf-8",
                    token=alice.token)
    assert r.status == 201, r


# --------------------------------------------------------------------------- 422

LONG_EMAIL = "e" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com"
assert len(LONG_EMAIL) == 255

FIELD_CASES = [
    ("first_name", MISSING), ("first_name", ""), ("first_name", "   "), ("first_name", "F" * 101),
    ("first_name", "a\x07b"), ("first_name", "a\nb"), ("first_name", "\x00"),
    ("first_name", 5), ("first_name", None), ("first_name", ["x"]),
    ("last_name", MISSING), ("last_name", ""), ("last_name", " \t "), ("last_name", "L" * 101),
    ("last_name", "x\x1by"), ("last_name", True),
    ("username", MISSING), ("username", ""), ("username", "ab"), ("username", "a" * 31),
    ("username", "bad-name"), ("username", "bad name"), ("username", "ünï_code"),
    ("username", "x' OR '1'='1"), ("username", "abc%"), ("username", 12345),
    ("username", None),
    ("email", MISSING), ("email", ""), ("email", "notanemail"), ("email", "a@b"),
    ("email", "a@@b.com"), ("email", "@example.com"), ("email", "me@"), ("email", LONG_EMAIL),
    ("email", 42),
    ("password", MISSING), ("password", ""), ("password", "7chars!"), ("password", "x" * 129),
    ("password", "é" * 7), ("password", "é" * 129), ("password", 12345678),
    ("password", "password1"), ("password", "PassWord1"), ("password", "iloveyou"),
    ("password", "trustno1"), ("password", "FOOTBALL"),
    ("password_confirmation", MISSING), ("password_confirmation", "something-else-1"),
    ("password_confirmation", 5),
]


@pytest.mark.parametrize("field,value", FIELD_CASES,
                         ids=[f"{f}={'MISSING' if v is MISSING else repr(v)[:24]}"
                              for f, v in FIELD_CASES])
def test_registration_field_422(client: Client, field, value):
    body = valid_registration(**{field: value})
    r = client.post("/api/v1/users", body)
    err = assert_error(r, 422, "validation_failed", [field])
    allowed = {field}
    if field == "password":
        allowed.add("password_confirmation")  # may also be flagged for a missing password
    assert set(err["fields"]) <= allowed, f"fields named beyond {allowed}: {err['fields']}"


def test_registration_all_fields_named(client: Client):
    r = client.post("/api/v1/users", {})
    err = assert_error(r, 422, "validation_failed",
                       ["first_name", "last_name", "username", "email", "password"])
    assert set(err["fields"]) <= {"first_name", "last_name", "username", "email", "password",
                                  "password_confirmation"}
    r = client.post("/api/v1/users", {"first_name": "", "last_name": "", "username": "-",
                                      "email": "x", "password": "1",
                                      "password_confirmation": "2"})
    assert_error(r, 422, "validation_failed",
                 ["first_name", "last_name", "username", "email", "password"])


@pytest.mark.parametrize("raw", [b"[1,2]", b'"str"', b"42", b"null", b"true", b"[]"])
def test_json_not_an_object_422(client: Client, alice, raw):
    for r in (client.post("/api/v1/users", raw=raw),
              client.post("/api/v1/sessions", raw=raw),
              client.post("/api/v1/posts", raw=raw, token=alice.token)):
        err = assert_error(r, 422, "validation_failed")
        assert not err.get("fields"), f"non-object body: no fields expected: {r!r}"


@pytest.mark.parametrize("value", [MISSING, "", "   ", "\n\t", "x" * 1001, 5, None, ["a"],
                                   {"a": 1}])
def test_post_content_422(client: Client, alice, value):
    body = {} if value is MISSING else {"content": value}
    r = client.post("/api/v1/posts", body, token=alice.token)
    err = assert_error(r, 422, "validation_failed", ["content"])
    assert set(err["fields"]) == {"content"}


@pytest.mark.parametrize("value", [MISSING, "", "  ", "x" * 501, 7, None])
def test_comment_content_422(client: Client, alice, alice_post, value):
    body = {} if value is MISSING else {"content": value}
    r = client.post(f"/api/v1/posts/{alice_post['id']}/comments", body, token=alice.token)
    assert_error(r, 422, "validation_failed", ["content"])


def test_login_wrong_types_422(client: Client):
    r = client.post("/api/v1/sessions", {"login": 5, "password": "whatever-pw"})
    assert_error(r, 422, "validation_failed", ["login"])
    r = client.post("/api/v1/sessions", {"login": "someone", "password": ["x"]})
    assert_error(r, 422, "validation_failed", ["password"])


def test_follow_yourself_422(client: Client, alice):
    r = client.put(f"/api/v1/users/me/following/{alice.username}", token=alice.token)
    assert_error(r, 422, "validation_failed", ["username"])


def test_search_q_too_long_422(client: Client, alice):
    r = client.get("/api/v1/users?q=" + "a" * 61, token=alice.token)
    assert_error(r, 422, "validation_failed", ["q"])
    r = client.get("/api/v1/users?q=" + "a" * 60, token=alice.token)
    assert r.status == 200, r


# --------------------------------------------------------------------------- 403 (cookie + foreign origin)


def test_cookie_state_change_from_foreign_origin_403(client: Client):
    a = client.new_user()
    b = client.register()
    cookie = f"bsocial_session={a.token}"
    for hdrs in ({"Origin": "https://evil.example"},
                 {"Sec-Fetch-Site": "cross-site"},
                 {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}):
        r = client.post("/api/v1/posts", {"content": "csrf"}, cookie=cookie, headers=hdrs)
        assert_error(r, 403, "forbidden_origin")
        r = client.request("PUT", f"/api/v1/users/me/following/{b.username}", cookie=cookie,
                           headers=hdrs)
        assert_error(r, 403, "forbidden_origin")
        r = client.request("DELETE", "/api/v1/sessions/current", cookie=cookie, headers=hdrs)
        assert_error(r, 403, "forbidden_origin")
    # nothing happened
    r = client.get("/api/v1/feed", token=a.token)
    assert r.status == 200 and r.json["items"] == [], r
    r = client.get(f"/api/v1/users/{b.username}", token=a.token)
    assert r.json["followed_by_me"] is False
    # reads with a cookie stay fine even from another site (no GET changes state)
    r = client.get("/api/v1/users/me", cookie=cookie, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status == 200, r
    assert r.json["user"]["id"] == a.id


# --------------------------------------------------------------------------- never a 500

ODD = [
    ("GET", "/api/v1/users/%00", None, {404, 422}),
    ("GET", "/api/v1/users/%FF%FE", None, {400, 404, 422}),
    ("GET", "/api/v1/users/" + "a" * 3000, None, {404, 414, 422}),
    ("GET", "/api/v1/users/a%2Fb", None, {404, 422}),
    ("GET", "/api/v1/feed?limit=99999999999999999999999999", None, {200, 422}),
    ("GET", "/api/v1/feed?limit=7&limit=8", None, {200, 422}),
    ("GET", "/api/v1/feed?limit=%00", None, {422}),
    ("GET", "/api/v1/feed?cursor=", None, {200, 422}),
    ("GET", "/api/v1/users?q=%00", None, {200, 422}),
    ("GET", "/api/v1/users?q=%FF", None, {200, 400, 422}),
    ("GET", "/api/v1/../../etc/passwd", None, {400, 404}),
    ("GET", "/api/v1/feed?%zz=1", None, {200, 400, 404, 422}),
    ("POST", "/api/v1/posts", b'{"content":"\xff\xfe"}', {400, 422}),
    ("POST", "/api/v1/posts", b"[" * 10000, {400, 422}),
    ("POST", "/api/v1/posts", b'{"content":' * 5000, {400, 422}),
    ("POST", "/api/v1/posts", b'{"content":1e999}', {400, 422}),
    ("POST", "/api/v1/posts", b'{"content":"\\ud800"}', {201, 400, 422}),
    ("POST", "/api/v1/posts", b'{"content":"a","content":"b"}', {201, 400, 422}),
    ("POST", "/api/v1/posts", b'{"content":"nul\\u0000byte"}', {201, 422}),
    ("POST", "/api/v1/users", b'{"username":{"$gt":""}}', {422}),
    ("POST", "/api/v1/sessions", b'{"login":{"$ne":null},"password":{"$ne":null}}', {401, 422}),
    ("POST", "/api/v1/sessions", b'{"login":"' + b"a" * 60000 + b'","password":"x"}', {401, 422}),
]


@pytest.mark.parametrize("method,path,raw,allowed", ODD, ids=[f"{m} {p[:40]} {str(b)[:20]}"
                                                              for m, p, b, _ in ODD])
def test_odd_input_never_500(client: Client, alice, method, path, raw, allowed):
    if raw is None:
        r = client.request(method, path, token=alice.token)
    else:
        r = client.request(method, path, raw=raw, token=alice.token)
    assert r.status in allowed, r
    # and the server is still alive
    assert client.get("/healthz").status == 200
