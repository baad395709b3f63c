"""Issue 28: finding people. Search by username, first or last name, case- and
accent-insensitive, paged; who to follow (ranking, exclusions, a new user); the post count
of a profile; `followed_by_me` on every list of people. Both databases (the suite runs
once per BSOCIAL_TEST_DB)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client


def names(client, token: str, q: str, limit: int = 2) -> list[str]:
    return [u["username"] for u in client.list_all(f"/api/v1/users?q={quote(q)}", token, limit=limit)]


def test_search_by_last_name_folds_accents_and_case(client):
    tag = hexid(5)  # a word of this run only, so other tests' users never match
    s = client.new_user(username=f"soren_{tag}", first_name="Søren", last_name=f"Østergaard{tag}")
    a = client.new_user(username=f"anne_{tag}", first_name="Anne-Marie",
                        last_name=f"Müller-Lüdenscheidt{tag}")
    d = client.new_user(username=f"dora_{tag}", first_name="Dóra", last_name=f"Straße{tag}")
    viewer = client.new_user()
    for q in (f"ostergaard{tag}", f"Østergaard{tag}", f"OSTERGAARD{tag}", f"øSTERgaard{tag}"):
        assert names(client, viewer.token, q) == [s.username], q
    assert s.username in names(client, viewer.token, "søren", 100)
    # each part of a double name is a word; the umlaut folds to its base letter
    assert a.username in names(client, viewer.token, "marie", 100)
    assert names(client, viewer.token, f"ludenscheidt{tag}") == [a.username]
    # ß is "ss"
    assert names(client, viewer.token, f"strasse{tag}") == [d.username]
    # first and last name together: each word a prefix of some key of the same person
    assert d.username in names(client, viewer.token, "dora stras", 100)
    assert names(client, viewer.token, f"dora strasse{tag}") == [d.username]
    assert names(client, viewer.token, f"sor ostergaard{tag}") == [s.username]
    assert names(client, viewer.token, f"anne ostergaard{tag}") == []
    # the username, as before
    assert names(client, viewer.token, f"SOREN_{tag}") == [s.username]


def test_search_pages_each_person_once(client):
    tag = hexid(5)
    # every one of them matches "k<tag>" by username AND last name: listed once each
    made = [client.new_user(username=f"k{tag}{i}", first_name="K", last_name=f"K{tag}{i}x").username
            for i in range(5)]
    viewer = client.new_user()
    got = names(client, viewer.token, f"k{tag}", limit=2)
    assert sorted(got) == sorted(made), got
    assert len(got) == len(set(got)), got


def test_search_rejects_a_foreign_cursor_and_overlong_text(client):
    viewer = client.new_user()
    r = client.get("/api/v1/users?q=abc&cursor=bjE6Ym9i", token=viewer.token)  # a name cursor
    assert r.status == 422, r
    r = client.get("/api/v1/users?q=" + "a" * 61, token=viewer.token)
    assert r.status == 422, r


def test_lists_of_people_say_whom_i_follow(client):
    tag = hexid(5)
    me = client.new_user()
    x = client.new_user(username=f"fx{tag}")
    y = client.new_user(username=f"fy{tag}")
    assert client.follow(me, x).status == 204
    items = client.list_all(f"/api/v1/users?q=fx{tag}", me.token)
    assert [(u["username"], u["followed_by_me"]) for u in items] == [(x.username, True)]
    items = client.list_all(f"/api/v1/users?q=fy{tag}", me.token)
    assert [(u["username"], u["followed_by_me"]) for u in items] == [(y.username, False)]
    following = client.list_all(f"/api/v1/users/{me.username}/following", me.token)
    assert [(u["username"], u["followed_by_me"]) for u in following] == [(x.username, True)]
    followers = client.list_all(f"/api/v1/users/{x.username}/followers", x.token)
    assert [(u["username"], u["followed_by_me"]) for u in followers] == [(me.username, False)]


def test_profile_has_the_post_count(client):
    u = client.new_user()
    viewer = client.new_user()
    assert client.get(f"/api/v1/users/{u.username}", token=viewer.token).json["post_count"] == 0
    for i in range(3):
        client.create_post(u, f"post {i}")
    assert client.get(f"/api/v1/users/{u.username}", token=viewer.token).json["post_count"] == 3


def suggested(client, user, limit: int = 50) -> list[dict]:
    r = client.get(f"/api/v1/users/me/suggestions?limit={limit}", token=user.token)
    assert r.status == 200, r
    return r.json["items"]


def test_suggestions_rank_people_followed_by_my_follows(client):
    me = client.new_user()
    f1, f2, f3 = client.new_user(), client.new_user(), client.new_user()
    popular, medium, already = client.new_user(), client.new_user(), client.new_user()
    for f in (f1, f2, f3):
        assert client.follow(me, f).status == 204
        assert client.follow(f, popular).status == 204
        assert client.follow(f, me).status == 204  # me is never suggested to myself
    for f in (f1, f2):
        assert client.follow(f, medium).status == 204
    assert client.follow(f1, already).status == 204
    assert client.follow(me, already).status == 204
    got = suggested(client, me)
    mine = [s for s in got if s["reason"] == "followed_by_your_follows"]
    assert [(s["username"], s["followed_by_count"]) for s in mine] == [
        (popular.username, 3), (medium.username, 2)], got
    listed = {s["username"] for s in got}
    assert me.username not in listed and already.username not in listed
    assert not ({f1.username, f2.username, f3.username} & listed)
    assert all(s["followed_by_me"] is False for s in got)
    assert "email" not in got[0]


def test_a_new_user_gets_active_followed_authors(start_server):
    # a server of its own: the popular authors are believed for a minute per process
    client = Client(start_server())
    quiet = client.new_user()  # followed too, but posts nothing: not "active"
    author = client.new_user()
    fans = [client.new_user() for _ in range(3)]
    for f in fans:
        assert client.follow(f, author).status == 204
        assert client.follow(f, quiet).status == 204
    client.create_post(author, "something worth following")
    newcomer = client.new_user()
    got = suggested(client, newcomer, 50)
    assert got, "a new user gets suggestions"
    assert all(s["reason"] == "popular" for s in got)
    assert author.username in [s["username"] for s in got]
    assert newcomer.username not in [s["username"] for s in got]
    assert quiet.username not in [s["username"] for s in got]


def test_suggestions_limit_is_checked(client):
    u = client.new_user()
    for bad in ("0", "51", "x"):
        r = client.get(f"/api/v1/users/me/suggestions?limit={bad}", token=u.token)
        assert r.status == 422, r
    assert len(suggested(client, u, 1)) <= 1


PEOPLE_CPP = Path(__file__).resolve().parents[2] / "src" / "bsocial" / "social" / "people.cpp"
SQL_HPP = Path(__file__).resolve().parents[2] / "src" / "bsocial" / "social" / "sql.hpp"


def people_search_statement() -> str:
    """search_sql(0) of social/people.cpp as the server prepares it (one word): its string
    literals before the loop of extra words, the column macro expanded, then its ORDER BY."""
    text = PEOPLE_CPP.read_text()
    m = re.search(r"std::string search_sql\(int extra\) \{(.*?)for \(", text, re.S)
    assert m, "search_sql not found in social/people.cpp"
    body = m.group(1)
    cols = re.search(r"#define BSOCIAL_USER_COLUMNS((?:.*\\\n)*.*)", SQL_HPP.read_text())
    columns = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', cols.group(1)))
    body = body.replace("BSOCIAL_USER_COLUMNS", f'"{columns}"')
    order = re.search(r's \+= "( ORDER BY [^"]*)";', text)
    assert order, "the ORDER BY of search_sql not found"
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)) + order.group(1)


def test_search_plan_reads_index_ranges(server, client):
    """EXPLAIN of the very statement the server runs: a range of the key index, the other
    keys of each hit through user_search_keys_by_user, users by primary key: no scan."""
    db = server.db
    word = "ostergaard"
    values = {"from": word, "to": word + "\U0010ffff", "after_key": word, "after_key2": word,
              "after_id": 0, "from2": word, "limit": 21}
    sql = people_search_statement()
    for name, v in values.items():
        lit = str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
        sql = re.sub(rf":{name}\b", lit, sql)
    assert not re.search(r"(?<!:):[a-z_]+\d*\b", sql), sql
    if db.pg_url:
        db.execute_admin("", (
            "INSERT INTO users (username, email, first_name, last_name, password_hash,"
            " created_at) SELECT 'plan_' || g, 'plan_' || g || '@example.com', 'P', 'X',"
            " 'x', 0 FROM generate_series(1, 20000) g;"
            " INSERT INTO user_search_keys (search_key, user_id)"
            " SELECT username, id FROM users WHERE username LIKE 'plan\\_%';"
            " ANALYZE users; ANALYZE user_search_keys"))
        plan = "\n".join(r[0] for r in db.rows("EXPLAIN " + sql))
        print("\n" + plan)
        assert "Seq Scan" not in plan, plan
        assert re.search(r"Index (Only )?Scan using user_search_keys_pkey on user_search_keys k", plan), plan
        assert re.search(r"Index Cond: \(\(search_key >= 'ostergaard'", plan), plan
    else:
        plan = "\n".join(str(r[-1]) for r in db.rows("EXPLAIN QUERY PLAN " + sql))
        print("\n" + plan)
        assert re.search(r"SEARCH k USING PRIMARY KEY \(search_key>\? AND search_key<\?\)", plan), plan
        assert "SCAN" not in plan, plan
