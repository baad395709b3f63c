"""End to end: API writes (and a few crafted envelopes) -> relay -> Kafka -> bsocial
telemetry -> Elasticsearch (or OpenSearch) -> `bsocial query ... --json` and the API's
/api/v1/analytics/* (same rows), checked against known numbers and against the same
numbers computed in SQL from the API's database; at the end the web app's Analytics page
in Chromium (tests/web/analytics.mjs)."""

from __future__ import annotations

import datetime as dt
import functools
import json

import pytest

from bsocial_testkit.api import hexid
from bsocial_testkit.paths import REPO
from bsocial_testkit.telemetry import (
    ADMIN, SqlTruth, crafted_comment, crafted_login, crafted_registration, db_url_of, es_count,
    kcat_produce, q1_result, q2_result, q3_result, run_query, wait_until)


# The administrator of the module's server (ADMIN) is registered after the start, so
# BSOCIAL_ADMINS would grant it nothing (issue 24, item 1): make_admin does.
def make_admin(srv: ServerProcess, client: Client, user) -> None:
    """`bsocial admin grant` on srv's database, then waits until srv believes it (the roles
    are read again every 2 s)."""
    import subprocess
    from bsocial_testkit.paths import binary_path
    from bsocial_testkit.waiting import wait_until
    cmd = [str(binary_path()), "admin", "grant", user.username, "--data-dir", str(srv.data_dir)]
    if srv.db_url:
        cmd += ["--db", srv.db_url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=srv.env())
    assert p.returncode == 0 and p.stdout.startswith("granted: "), (p.stdout, p.stderr)
    wait_until(lambda: client.get("/api/v1/users/me", token=user.token).json["is_admin"], 10,
               what=f"{user.username} seen as an administrator")


def utc_day(offset: int = 0) -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=offset)


@pytest.fixture(scope="module")
def world(stack, server, client, make_telemetry):
    """Users, logins, posts and comments with known counts, plus crafted events; returns
    once telemetry has indexed every one of them."""
    telemetry = make_telemetry()
    users = {}
    for name in ("alice", "bob", "carol", "dave"):
        users[name] = client.new_user(username=f"{name}_{hexid(3)}")  # one login each
    users["erin"] = client.register(username=f"erin_{hexid(3)}")       # never logs in
    users["admin"] = client.new_user(username=ADMIN)  # one login
    make_admin(server, client, users["admin"])
    client.login(users["alice"])
    client.login(users["alice"], login=users["alice"].email)  # 3 logins, one user
    client.login(users["bob"])                                  # 2 logins
    # a comment needs the post to be visible: everyone follows everyone (follow events too)
    for a in ("alice", "bob", "carol", "dave"):
        for b in ("alice", "bob", "carol", "dave"):
            if a != b:
                assert client.follow(users[a], users[b]).status in (200, 201, 204)

    posts = {}
    for i in range(1, 5):
        posts[f"A{i}"] = client.create_post(users["alice"], f"alice {i}")
    for i in range(1, 3):
        posts[f"B{i}"] = client.create_post(users["bob"], f"bob {i}")
    posts["C1"] = client.create_post(users["carol"], "carol 1")
    for i in range(1, 12):
        posts[f"D{i}"] = client.create_post(users["dave"], f"dave {i}")

    comments = []  # (post key, comment)
    plan = {"A1": ["bob", "carol", "dave"], "A2": ["bob", "carol", "dave"],
            "B1": ["alice", "carol"], "B2": ["alice"]}
    plan.update({f"D{i}": ["alice"] for i in range(1, 12)})
    for key, commenters in plan.items():
        for who in commenters:
            comments.append((key, client.create_comment(users[who], posts[key]["id"], "nice")))

    # Crafted envelopes (the API stamps the current time): day boundaries in a zone with a
    # DST change (Europe/Paris, 2026-03-29), old days for q2, and orphan comments.
    logins = [crafted_login(800001, "2026-03-28T22:59:59.999Z"),  # Paris 28th 23:59:59.999
              crafted_login(800001, "2026-03-28T23:00:00.000Z"),  # Paris 29th 00:00
              crafted_login(800002, "2026-03-29T00:30:00.000Z"),
              crafted_login(800001, "2026-03-29T10:00:00.000Z"),  # same user, same day
              crafted_login(800002, "2026-03-29T21:59:59.999Z"),  # Paris (UTC+2) 29th 23:59
              crafted_login(800003, "2026-03-29T22:00:00.000Z"),  # Paris 30th 00:00
              crafted_registration(800009, "2026-03-29T12:00:00.000Z")]  # not a login
    d3, d9, d10, d20 = (utc_day(-n).isoformat() for n in (3, 9, 10, 20))
    crafted_comments = [
        crafted_comment(900101, 900001, f"{d3}T12:00:00.000Z"),
        crafted_comment(900102, 900001, f"{d3}T23:59:59.999Z"),
        crafted_comment(900103, 100000, f"{d3}T00:00:00.000Z"),  # ties: 99999 before 100000
        crafted_comment(900104, 99999, f"{d3}T06:00:00.000Z"),
        crafted_comment(900105, 900003, f"{d9}T00:00:00.000Z"),  # first day of the ten
        crafted_comment(900106, 900004, f"{d10}T23:59:59.999Z"),  # one day too old
    ]
    # Comments on a post of alice's whose post.created never arrives: q3 must ignore them.
    orphans = [crafted_comment(900200 + i, 777777, f"{d20}T12:00:00.000Z",
                               author=int(users["alice"].id)) for i in range(5)]
    kcat_produce(stack.kafka, "bsocial.users", "800001",
                 [json.dumps(e).encode() for e in logins])
    kcat_produce(stack.kafka, "bsocial.comments", "900001",
                 [json.dumps(e).encode() for e in crafted_comments + orphans])
    crafted = len(logins) + len(crafted_comments) + len(orphans)

    sql = SqlTruth(server.sqlite_path)
    # every API event is in the outbox before the write answered
    expected = len(sql.outbox_event_ids()) + crafted
    wait_until(lambda: es_count(stack.search) == expected, 90,
               what=f"{expected} events indexed")
    return {"users": users, "posts": posts, "comments": comments, "sql": sql,
            "telemetry": telemetry, "expected_docs": expected,
            # `bsocial query ARGS --json` with the API's database (post details of q2/q3)
            "query": functools.partial(run_query, stack.search, db=db_url_of(server))}


def api_days(world) -> set[str]:
    """UTC days the API's events fell on (one, unless the test straddles midnight)."""
    sql = world["sql"]
    return {sql.day(ms) for (ms,) in sql.rows("select created_at from outbox")}


def test_ready_line_and_every_event_indexed_once(world, stack):
    assert world["telemetry"].stdout_lines[0].startswith(
        f"bsocial telemetry consuming ^bsocial\\..* (group bsocial-telemetry) from {stack.kafka}")
    ids = world["sql"].outbox_event_ids()
    from bsocial_testkit.telemetry import es_ids
    indexed = set(es_ids(stack.search))
    assert set(ids) <= indexed
    assert es_count(stack.search) == world["expected_docs"]


def test_q1_known_counts_today(world, stack):
    days = api_days(world)
    r = q1_result(world["query"]("q1", "--days", "1", "--tz", "UTC"))
    today = utc_day().isoformat()
    assert list(r) == [today]
    if days == {today}:
        # alice (3 logins), bob (2), carol, dave, the admin; erin only registered
        assert r[today] == 5


def test_q1_day_boundaries_in_a_non_utc_zone(world, stack):
    paris = q1_result(world["query"]("q1", "--from", "2026-03-28", "--to",
                                "2026-03-30", "--tz", "Europe/Paris"))
    assert paris == {"2026-03-28": 1, "2026-03-29": 2, "2026-03-30": 1}
    utc = q1_result(world["query"]("q1", "--from", "2026-03-28", "--to",
                              "2026-03-30", "--tz", "UTC"))
    assert utc == {"2026-03-28": 1, "2026-03-29": 3, "2026-03-30": 0}
    offset = q1_result(world["query"]("q1", "--from", "2026-03-29", "--to",
                                 "2026-03-29", "--tz", "+02:00"))
    assert offset == {"2026-03-29": 2}  # 800001 (10:00Z), 800002; 22:00Z is the 30th


def test_q2_last_ten_days(world, stack):
    r = q2_result(world["query"]("q2", "--tz", "UTC"))
    days = [utc_day(-n).isoformat() for n in range(9, -1, -1)]
    assert list(r) == days  # ten days, in order, empty ones included
    posts = world["posts"]
    expected_today = ([(posts["A1"]["id"], 3), (posts["A2"]["id"], 3), (posts["B1"]["id"], 2),
                       (posts["B2"]["id"], 1)] +
                      [(posts[f"D{i}"]["id"], 1) for i in range(1, 7)])
    for day in days:
        if day == utc_day(-3).isoformat():
            assert r[day] == [("900001", 2), ("99999", 1), ("100000", 1)]
        elif day == utc_day(-9).isoformat():
            assert r[day] == [("900003", 1)]
        elif day == utc_day().isoformat() and api_days(world) == {day}:
            assert r[day] == expected_today
        elif day not in api_days(world):
            assert r[day] == []


def test_q3_top_and_worst_post_per_user(world, stack):
    p, u = world["posts"], world["users"]

    def q3(name):
        return q3_result(world["query"]("q3", "--user", u[name].username))

    # A1 and A2 both have 3 comments: the older post is the best; A3 and A4 have none: the
    # newer is the worst (issue 28: so that best and worst differ whenever a user has two
    # posts or more; dave's eleven posts all have one comment: D1 and D11, not D1 twice).
    # The 5 orphan comments on post 777777 (no post.created) are ignored.
    assert q3("alice") == {"top_post": (p["A1"]["id"], 3), "worst_post": (p["A4"]["id"], 0)}
    assert q3("bob") == {"top_post": (p["B1"]["id"], 2), "worst_post": (p["B2"]["id"], 1)}
    assert q3("carol") == {"top_post": (p["C1"]["id"], 0), "worst_post": (p["C1"]["id"], 0)}
    assert q3("dave") == {"top_post": (p["D1"]["id"], 1), "worst_post": (p["D11"]["id"], 1)}
    assert q3("erin") == {"top_post": None, "worst_post": None}
    by_id = q3_result(world["query"]("q3", "--user-id", u["alice"].id))
    assert by_id == q3("alice")


def test_queries_agree_with_sql(world, stack):
    sql = world["sql"]
    # Q1 over the days of the API's events (UTC)
    truth1 = sql.logged_in_users_per_day()
    days = sorted(truth1)
    r1 = q1_result(world["query"]("q1", "--from", days[0], "--to", days[-1]))
    assert {d: n for d, n in r1.items() if n} == truth1
    # Q2 on the days the API commented
    truth2 = sql.top_posts_per_day()
    r2 = q2_result(world["query"]("q2", "--days", "10", "--tz", "UTC"))
    for day, ranking in truth2.items():
        assert r2[day] == ranking
    # Q3 for every user of the database
    for user_id, username in sql.rows("select id, username from users"):
        es = q3_result(world["query"]("q3", "--user", username))
        assert es == sql.top_and_worst(str(user_id)), username


def test_table_output(world, stack):
    out = world["query"]("q3", "--user", world["users"]["alice"].username,
                    as_json=False)
    lines = out.splitlines()
    assert lines[0] == f"user_id {world['users']['alice'].id}"
    assert lines[1].split() == ["which", "post_id", "comments", "created_at"]
    assert lines[2].split()[:3] == ["best", world["posts"]["A1"]["id"], "3"]
    assert lines[3].split()[:3] == ["worst", world["posts"]["A4"]["id"], "0"]
    out = world["query"]("q1", "--from", "2026-03-28", "--to", "2026-03-30",
                    "--tz", "Europe/Paris", as_json=False)
    assert out.splitlines()[1:] == ["2026-03-28   1", "2026-03-29   2", "2026-03-30   1"]


def test_indices_refresh_every_500ms(world, stack):
    """Event -> searchable lag (issue 10): both indices carry an explicit 500 ms refresh
    interval (the default would be 1 s, deferred further on an index nobody searched)."""
    from bsocial_testkit.telemetry import es_request

    # bsocial-events is the alias over the monthly indices (issue 29): every one of them
    for index in ("bsocial-events", "bsocial-events-deadletter", "bsocial-events-entities"):
        st, body = es_request(stack.search, "GET", f"/{index}/_settings")
        assert st == 200 and body, (st, body)
        for name, settings in body.items():
            assert settings["settings"]["index"].get("refresh_interval") == "500ms", (name, body)


# ------------------------------------------------------------------ the analytics API
# GET /api/v1/analytics/* on the module's server (analyst, made admin by make_admin; its search
# engine): the same rows as `bsocial query --json`, for administrators only.

ANALYTICS = ("/api/v1/analytics/logins", "/api/v1/analytics/top-posts",
             f"/api/v1/analytics/users/{ADMIN}/extremes")


def admin_get(client, world, path):
    return client.get(path, token=world["users"]["admin"].token)


def test_api_needs_a_token_and_is_hidden_from_non_admins(world, client):
    unknown = client.get("/api/v1/no-such-route", token=world["users"]["bob"].token)
    assert unknown.status == 404
    for path in ANALYTICS:
        assert client.get(path).status == 401, path
        r = client.get(path, token=world["users"]["bob"].token)  # logged in, not an admin
        assert r.status == 404, (path, r.status, r.json)
        assert r.json == unknown.json, (path, r.json)  # indistinguishable from no route
    me = client.get("/api/v1/users/me", token=world["users"]["bob"].token)
    assert me.status == 200 and me.json["is_admin"] is False
    me = admin_get(client, world, "/api/v1/users/me")
    assert me.status == 200 and me.json["is_admin"] is True


@pytest.mark.parametrize("query, why", [
    ("days=0", "days must be a whole number from 1 to 90"),
    ("days=91", "days must be a whole number from 1 to 90"),
    ("days=ten", "days must be a whole number from 1 to 90"),
    ("days=1.5", "days must be a whole number from 1 to 90"),
    ("tz=Mars/Olympus_Mons", "tz must be an IANA time zone name"),
    ("tz=Europe/../../etc/passwd", "tz must be an IANA time zone name"),
    ("tz=%22%7D", "tz must be an IANA time zone name"),
])
def test_api_bad_arguments_are_400(world, client, query, why):
    for path in ANALYTICS[:2]:
        r = admin_get(client, world, f"{path}?{query}")
        assert r.status == 400, (path, query, r.status, r.json)
        assert r.json["error"]["code"] == "bad_request"
        assert r.json["error"]["message"].startswith(why), r.json


def test_api_exact_numbers(world, client):
    p, u = world["posts"], world["users"]
    today = utc_day().isoformat()
    r = admin_get(client, world, "/api/v1/analytics/logins?days=30&tz=UTC")
    assert r.status == 200, r.json
    assert r.json["tz"] == "UTC"
    assert [d["day"] for d in r.json["days"]] == [utc_day(-n).isoformat() for n in range(29, -1, -1)]
    if api_days(world) == {today}:
        assert r.json["days"][-1] == {"day": today, "logged_in_users": 5}
        assert sum(d["logged_in_users"] for d in r.json["days"]) == 5

    r = admin_get(client, world, "/api/v1/analytics/top-posts?days=10&tz=UTC")
    assert r.status == 200, r.json
    by_day = {d["day"]: d["posts"] for d in r.json["days"]}
    assert len(by_day) == 10
    # crafted comments on posts SQL does not have: ranked, without details
    assert by_day[utc_day(-3).isoformat()][0] == {
        "rank": 1, "post_id": "900001", "comments": 2, "author": None, "excerpt": None,
        "comment_count": None}
    if api_days(world) == {today}:
        first, second, third = by_day[today][:3]
        assert first == {"rank": 1, "post_id": p["A1"]["id"], "comments": 3,
                         "author": u["alice"].username, "excerpt": "alice 1", "comment_count": 3}
        assert second == {"rank": 2, "post_id": p["A2"]["id"], "comments": 3,
                          "author": u["alice"].username, "excerpt": "alice 2", "comment_count": 3}
        assert third == {"rank": 3, "post_id": p["B1"]["id"], "comments": 2,
                         "author": u["bob"].username, "excerpt": "bob 1", "comment_count": 2}
        assert [x["rank"] for x in by_day[today]] == list(range(1, 11))

    r = admin_get(client, world, f"/api/v1/analytics/users/{u['alice'].username.upper()}/extremes")
    assert r.status == 200, r.json
    assert r.json["user_id"] == u["alice"].id and r.json["username"] == u["alice"].username
    best, worst = r.json["best"], r.json["worst"]
    assert (best["post_id"], best["comments"], best["author"], best["excerpt"],
            best["comment_count"]) == (p["A1"]["id"], 3, u["alice"].username, "alice 1", 3)
    assert (worst["post_id"], worst["comments"], worst["excerpt"], worst["comment_count"]) == (
        p["A4"]["id"], 0, "alice 4", 0)
    assert best["created_at"] == p["A1"]["created_at"]
    r = admin_get(client, world, f"/api/v1/analytics/users/{u['erin'].username}/extremes")
    assert r.status == 200 and (r.json["best"], r.json["worst"]) == (None, None)
    r = admin_get(client, world, "/api/v1/analytics/users/nobody_at_all/extremes")
    assert r.status == 404 and r.json["error"]["code"] == "not_found", r.json


def test_api_answers_exactly_what_bsocial_query_json_prints(world, client):
    """The acceptance line: each endpoint's body equals `bsocial query ... --json` for the
    same arguments (one function builds both)."""
    cases = [("/api/v1/analytics/logins?days=30&tz=Europe/Paris",
              ("q1", "--days", "30", "--tz", "Europe/Paris")),
             ("/api/v1/analytics/logins?days=1&tz=%2B02:00", ("q1", "--days", "1", "--tz", "+02:00")),
             ("/api/v1/analytics/logins", ("q1", "--days", "30")),
             ("/api/v1/analytics/top-posts?days=10&tz=UTC", ("q2", "--days", "10", "--tz", "UTC")),
             ("/api/v1/analytics/top-posts?days=7&tz=America/New_York",
              ("q2", "--days", "7", "--tz", "America/New_York"))]
    cases += [(f"/api/v1/analytics/users/{world['users'][n].username}/extremes",
               ("q3", "--user", world["users"][n].username))
              for n in ("alice", "bob", "carol", "dave", "erin")]
    for path, args in cases:
        api = admin_get(client, world, path)
        assert api.status == 200, (path, api.status, api.json)
        assert api.json == world["query"](*args), path


def test_api_503_without_a_search_engine_and_nothing_else_breaks(world, tmp_path_factory):
    """Two more servers on the same stack: one with no search engine configured, one whose
    search engine does not answer (a closed port). Analytics answer 503 naming the cause,
    quickly; everything else works."""
    import socket
    import time

    from bsocial_testkit.api import check_error_shape
    from bsocial_testkit.http import Client
    from bsocial_testkit.server import ServerProcess

    class AnalyticsClient(Client):
        """Client's checks, but a 503 of the analytics routes is what this test expects."""

        def check_response(self, r):
            if r.status == 503 and r.path.startswith("/api/v1/analytics/"):
                check_error_shape(r)
            else:
                super().check_response(r)

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    variants = [({}, "none is configured (set BSOCIAL_ELASTICSEARCH_URL)"),
                ({"BSOCIAL_ELASTICSEARCH_URL": f"http://127.0.0.1:{closed_port}",
                  "BSOCIAL_QUERIES_DIR": str(REPO / "queries")},
                 "the search engine is unreachable")]
    for env, why in variants:
        srv = ServerProcess(workdir=tmp_path_factory.mktemp("nosearch"),
                            env_overrides=env).start()
        try:
            c = AnalyticsClient(srv)
            admin = c.new_user(username=ADMIN)
            make_admin(srv, c, admin)
            for path in ANALYTICS:
                t0 = time.monotonic()
                r = c.get(path, token=admin.token)
                assert r.status == 503, (path, r.status, r.json)
                assert time.monotonic() - t0 < 6, "the 503 took too long"
                assert r.json["error"]["code"] == "unavailable"
                assert why in r.json["error"]["message"], r.json
                assert r.headers.get("Retry-After") == "5"
            post = c.create_post(admin, "still works")  # the rest of the API is unaffected
            assert c.get(f"/api/v1/posts/{post['id']}", token=admin.token).status == 200
            assert c.get("/readyz").status == 200
        finally:
            srv.stop()


# ------------------------------------------------------------------ the web app (last: it logs in)


def test_browser_analytics_page(world, client, tmp_path_factory):
    """tests/web/analytics.mjs in Debian's Chromium: the admin opens Analytics (desktop and
    phone), the chart has one point per day, today's ranking is the API's, the two cards
    are the user's best and worst post; a non-admin has no such page. Screenshots in a tmp
    dir (BSOCIAL_KEEP_SCREENSHOTS=1: into tests/web/screenshots/, the committed ones)."""
    import os
    import shutil
    import subprocess

    node, chromium = shutil.which("node"), os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = [what for what, ok in (
        ("web/dist (npm --prefix web run build)", (REPO / "web/dist/index.html").is_file()),
        ("web/node_modules (npm --prefix web ci)",
         (REPO / "web/node_modules/playwright-core").is_dir()),
        ("node", bool(node)), (chromium, os.access(chromium, os.X_OK))) if not ok]
    assert not missing, f"the browser test needs: {missing}"
    u, today = world["users"], utc_day().isoformat()
    top = admin_get(client, world, "/api/v1/analytics/top-posts?days=10&tz=UTC").json
    logins = admin_get(client, world, "/api/v1/analytics/logins?days=30&tz=UTC").json
    expect = {"points": 30, "day": today,
              "todayLogins": logins["days"][-1]["logged_in_users"],
              "ranking": [p["post_id"] for d in top["days"] if d["day"] == today for p in d["posts"]],
              "user": u["alice"].username, "best": world["posts"]["A1"]["id"],
              "worst": world["posts"]["A4"]["id"],
              # issue 28: every post with one comment; one post and no comment; unknown
              "tie": {"user": u["dave"].username, "oldest": world["posts"]["D1"]["id"],
                      "newest": world["posts"]["D11"]["id"]},
              "single": {"user": u["carol"].username, "post": world["posts"]["C1"]["id"]}}
    shots = (REPO / "tests/web/screenshots" if os.environ.get("BSOCIAL_KEEP_SCREENSHOTS") == "1"
             else tmp_path_factory.mktemp("analytics-shots"))
    env = {**os.environ, "BSOCIAL_WEB_URL": client.server.base_url,
           "BSOCIAL_SCREENSHOT_DIR": str(shots), "CHROMIUM": chromium,
           "BSOCIAL_ADMIN": json.dumps({"login": u["admin"].username, "password": u["admin"].password}),
           "BSOCIAL_OTHER": json.dumps({"login": u["bob"].username, "password": u["bob"].password}),
           "BSOCIAL_EXPECT": json.dumps(expect)}
    r = subprocess.run([node, str(REPO / "tests/web/analytics.mjs")], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=180)
    print(r.stdout, f"screenshots: {shots}")
    assert r.returncode == 0, f"analytics.mjs failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
