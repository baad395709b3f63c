"""End to end: API writes (and a few crafted envelopes) -> relay -> Kafka -> bsocial
telemetry -> Elasticsearch (or OpenSearch) -> `bsocial query ... --json`, checked against
known numbers and against the same numbers computed in SQL from the API's database."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bsocial_support import hexid
from telemetry_support import (
    SqlTruth,
    crafted_comment,
    crafted_login,
    crafted_registration,
    es_count,
    kcat_produce,
    q1_result,
    q2_result,
    q3_result,
    run_query,
    wait_until,
)


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
            "telemetry": telemetry, "expected_docs": expected}


def api_days(world) -> set[str]:
    """UTC days the API's events fell on (one, unless the test straddles midnight)."""
    sql = world["sql"]
    return {sql.day(ms) for (ms,) in sql.rows("select created_at from outbox")}


def test_ready_line_and_every_event_indexed_once(world, stack):
    assert world["telemetry"].stdout_lines[0].startswith(
        f"bsocial telemetry consuming ^bsocial\\..* (group bsocial-telemetry) from {stack.kafka}")
    ids = world["sql"].outbox_event_ids()
    from telemetry_support import es_ids
    indexed = set(es_ids(stack.search))
    assert set(ids) <= indexed
    assert es_count(stack.search) == world["expected_docs"]


def test_q1_known_counts_today(world, stack):
    days = api_days(world)
    r = q1_result(run_query(stack.search, "q1", "--days", "1", "--tz", "UTC"))
    today = utc_day().isoformat()
    assert list(r) == [today]
    if days == {today}:
        # alice (3 logins), bob (2), carol, dave; erin only registered
        assert r[today] == 4


def test_q1_day_boundaries_in_a_non_utc_zone(world, stack):
    paris = q1_result(run_query(stack.search, "q1", "--from", "2026-03-28", "--to",
                                "2026-03-30", "--tz", "Europe/Paris"))
    assert paris == {"2026-03-28": 1, "2026-03-29": 2, "2026-03-30": 1}
    utc = q1_result(run_query(stack.search, "q1", "--from", "2026-03-28", "--to",
                              "2026-03-30", "--tz", "UTC"))
    assert utc == {"2026-03-28": 1, "2026-03-29": 3, "2026-03-30": 0}
    offset = q1_result(run_query(stack.search, "q1", "--from", "2026-03-29", "--to",
                                 "2026-03-29", "--tz", "+02:00"))
    assert offset == {"2026-03-29": 2}  # 800001 (10:00Z), 800002; 22:00Z is the 30th


def test_q2_last_ten_days(world, stack):
    r = q2_result(run_query(stack.search, "q2", "--tz", "UTC"))
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
        return q3_result(run_query(stack.search, "q3", "--user", u[name].username))

    # A1 and A2 both have 3 comments: the older post wins; A3 and A4 have none: older wins.
    # The 5 orphan comments on post 777777 (no post.created) are ignored.
    assert q3("alice") == {"top_post": (p["A1"]["id"], 3), "worst_post": (p["A3"]["id"], 0)}
    assert q3("bob") == {"top_post": (p["B1"]["id"], 2), "worst_post": (p["B2"]["id"], 1)}
    assert q3("carol") == {"top_post": (p["C1"]["id"], 0), "worst_post": (p["C1"]["id"], 0)}
    assert q3("dave") == {"top_post": (p["D1"]["id"], 1), "worst_post": (p["D1"]["id"], 1)}
    assert q3("erin") == {"top_post": None, "worst_post": None}
    by_id = q3_result(run_query(stack.search, "q3", "--user-id", u["alice"].id))
    assert by_id == q3("alice")


def test_queries_agree_with_sql(world, stack):
    sql = world["sql"]
    # Q1 over the days of the API's events (UTC)
    truth1 = sql.logged_in_users_per_day()
    days = sorted(truth1)
    r1 = q1_result(run_query(stack.search, "q1", "--from", days[0], "--to", days[-1]))
    assert {d: n for d, n in r1.items() if n} == truth1
    # Q2 on the days the API commented
    truth2 = sql.top_posts_per_day()
    r2 = q2_result(run_query(stack.search, "q2", "--days", "10", "--tz", "UTC"))
    for day, ranking in truth2.items():
        assert r2[day] == ranking
    # Q3 for every user of the database
    for user_id, username in sql.rows("select id, username from users"):
        es = q3_result(run_query(stack.search, "q3", "--user", username))
        assert es == sql.top_and_worst(str(user_id)), username


def test_table_output(world, stack):
    out = run_query(stack.search, "q3", "--user", world["users"]["alice"].username,
                    as_json=False)
    lines = out.splitlines()
    assert lines[0] == f"user_id {world['users']['alice'].id}"
    assert lines[1].split() == ["which", "post_id", "comments", "created_at"]
    assert lines[2].split()[:3] == ["top", world["posts"]["A1"]["id"], "3"]
    assert lines[3].split()[:3] == ["worst", world["posts"]["A3"]["id"], "0"]
    out = run_query(stack.search, "q1", "--from", "2026-03-28", "--to", "2026-03-30",
                    "--tz", "Europe/Paris", as_json=False)
    assert out.splitlines()[1:] == ["2026-03-28   1", "2026-03-29   2", "2026-03-30   1"]


def test_indices_refresh_every_500ms(world, stack):
    """Event -> searchable lag (issue 10): both indices carry an explicit 500 ms refresh
    interval (the default would be 1 s, deferred further on an index nobody searched)."""
    from telemetry_support import es_request

    for index in ("bsocial-events", "bsocial-events-deadletter"):
        st, body = es_request(stack.search, "GET", f"/{index}/_settings")
        assert st == 200, (st, body)
        assert body[index]["settings"]["index"].get("refresh_interval") == "500ms", body
