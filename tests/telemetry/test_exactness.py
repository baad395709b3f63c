"""q1 and q3 exact at sizes that break the old queries (issue 29): 60,000 distinct users
logging in on one day (the old `cardinality` estimates above 40,000), a user with 12,000
posts (the old `terms` saw 10,000 per shard) and indices with 3 primary shards (a `terms`
ordered by a sub-aggregation is then not exact). q1's logins go through Kafka and
`bsocial telemetry` (which writes the events and the login-day documents, the part under
test); q3's documents are written with _bulk directly (fast), in the indices and mappings
telemetry installs. The answers come from `bsocial query --json`, and the old queries'
answers on the same data are printed next to them (`old_approach ...`)."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import defaultdict
from zoneinfo import ZoneInfo
import urllib.request
import uuid

import pytest

from bsocial_testkit.paths import REPO

from bsocial_testkit.telemetry import (
    SearchEndpoint, crafted_login, db_url_of, es_count, es_request, kcat_produce, q1_result,
    q3_result, query_process)

INDEX = "exact"
DAY = "2026-01-15"            # the q1 day: 60,000 users (2 pages of 50,000)
NEXT = "2026-01-16"           # 3 users
USERS = 60_000
POSTS = 12_000                # posts of user 7
SHARDS = 3


def events_index(day: str) -> str:
    """The concrete index telemetry writes an event of `day` (UTC) into."""
    y, m, _ = day.split("-")
    return f"{INDEX}-{y}.{m}"


def bulk(search: SearchEndpoint, lines: list[dict]) -> None:
    """_bulk in chunks of 20,000 documents, refresh at the end; every item must be 201."""
    step = 2 * 20_000
    for i in range(0, len(lines), step):
        body = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines[i:i + step])
        req = urllib.request.Request(search.url + "/_bulk", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
        with search.open(req, 300) as r:
            answer = json.loads(r.read())
        assert not answer["errors"], [it for it in answer["items"]
                                      if "error" in next(iter(it.values()))][:3]
    st, body = es_request(search, "POST", "/_refresh")
    assert st == 200, body


def recreate(search: SearchEndpoint, index: str) -> None:
    """Deletes `index` and makes it again with SHARDS primary shards (the mappings, aliases
    and other settings come from telemetry's templates)."""
    es_request(search, "DELETE", f"/{index}")
    st, body = es_request(search, "PUT", f"/{index}",
                          {"settings": {"number_of_shards": SHARDS, "number_of_replicas": 0}})
    assert st == 200, body
    st, body = es_request(search, "GET", f"/{index}/_settings")
    assert st == 200 and body[index]["settings"]["index"]["number_of_shards"] == str(SHARDS), body


def query(search: SearchEndpoint, *args: str, db: str | None = None,
          queries_dir: str | None = None) -> dict:
    env = {"BSOCIAL_ELASTICSEARCH_INDEX": INDEX, **({"BSOCIAL_DB": db} if db else {}),
           **({"BSOCIAL_QUERIES_DIR": queries_dir} if queries_dir else {})}
    r = query_process(search, *args, "--json", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def search(search: SearchEndpoint, index: str, body: dict) -> dict:
    st, answer = es_request(search, "POST", f"/{index}/_search", body, timeout=120)
    assert st == 200, answer
    return answer


@pytest.fixture(scope="module")
def indices(stack, make_telemetry):
    """telemetry's templates installed for INDEX, the indices made again with 3 shards
    (the events' and login days' months of the q1 days, the entities)."""
    make_telemetry(env={"BSOCIAL_ELASTICSEARCH_INDEX": INDEX}, name="installer").stop()
    for index in (events_index(DAY), f"{INDEX}-entities", f"{INDEX}-logins-2026.01"):
        recreate(stack.search, index)
    return stack.search


def login_doc(user: int, at: str) -> list[dict]:
    eid = str(uuid.uuid4())
    return [{"create": {"_index": events_index(at[:10]), "_id": eid}},
            {"event_id": eid, "type": "user.logged_in", "version": 1, "occurred_at": at,
             "user_id": str(user), "username": f"u{user}"}]


def local_days(logins: list[tuple[int, str]], zone: str) -> dict[str, int]:
    """{calendar day in `zone`: distinct users}, computed here from the logins sent."""
    users = defaultdict(set)
    for u, at in logins:
        t = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
        users[t.date().isoformat()].add(u)
    return {d: len(us) for d, us in users.items()}


def small_q1_pages(tmp_path, size: int) -> str:
    """A copy of queries/ whose events file's `day_users` composite pages hold `size` users:
    q1 reads the users at the ends of Kathmandu's days in pages of that size (analytics.cpp,
    ends_searches), so a test with fewer users than the stored size still pages."""
    out = tmp_path / f"q1-pages-{size}"
    out.mkdir()
    for f in (REPO / "queries").glob("*.json"):
        (out / f.name).write_text(f.read_text())
    events = out / "q1_logged_in_users_per_day_from_events.json"
    body = json.loads(events.read_text())
    body["aggs"]["day_users"]["composite"]["size"] = size
    events.write_text(json.dumps(body))
    return str(out)


def test_q1_counts_every_user_of_a_day_past_40000(stack, indices, make_telemetry, tmp_path):
    """60,000 users log in on DAY (5,000 of them twice), 3 on NEXT, through Kafka and
    telemetry; q1 in UTC is a count of login-day documents over 3 shards: exactly 60,000,
    where the old `cardinality` estimated. In other zones the same documents give the exact
    number of each local day (computed here with zoneinfo), Kathmandu (+05:45) with the
    minutes at its days' ends from the events (its midnight is not on a half hour of UTC),
    those read in one page per day and in pages of 100 users (~600 users at the ends of
    each of two days: several pages each, asked again from their after_key)."""
    rnd = random.Random(29)
    logins: list[tuple[int, str]] = []
    for u in range(1, USERS + 1):
        logins.append((u, f"{DAY}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00.000Z"))
    for u in rnd.sample(range(1, USERS + 1), 5_000):  # a second login the same day
        logins.append((u, f"{DAY}T23:59:59.999Z"))
    for u in (1, 2, USERS + 1):
        logins.append((u, f"{NEXT}T00:00:00.000Z"))
    rnd.shuffle(logins)  # any order: the login-day updates only set flags
    payloads = [json.dumps(crafted_login(u, at)).encode() for u, at in logins]
    for i in range(0, len(payloads), 20_000):
        kcat_produce(stack.kafka, "bsocial.users", "1", payloads[i:i + 20_000])
    make_telemetry(env={"BSOCIAL_ELASTICSEARCH_INDEX": INDEX,
                        "BSOCIAL_TELEMETRY_BATCH_EVENTS": "5000",
                        "BSOCIAL_TELEMETRY_GROUP": "exact-q1"}, name="q1")
    deadline = time.monotonic() + 600
    while es_count(indices, INDEX, {"term": {"type": "user.logged_in"}}) < len(logins):
        assert time.monotonic() < deadline, "the logins were not indexed in 10 min"
        time.sleep(1)
    es_request(indices, "POST", f"/{INDEX}-logins/_refresh")
    # one login-day document per user and UTC day, each login's day and the day after it
    # (u, DAY) and (u, NEXT) for the 60,000; (60001, NEXT); (1|2|60001, the day after NEXT)
    assert es_count(indices, f"{INDEX}-logins") == 2 * USERS + 1 + 3
    st, shards = es_request(indices, "GET", f"/{INDEX}-logins-2026.01/_search_shards")
    assert st == 200 and len(shards["shards"]) == SHARDS, shards

    rows = query(indices, "q1", "--from", DAY, "--to", NEXT, "--tz", "UTC")
    got = q1_result(rows)

    old = search(indices, INDEX, {"size": 0, "query": {"term": {"type": "user.logged_in"}},
                                  "aggs": {"d": {"date_histogram": {
                                      "field": "occurred_at", "calendar_interval": "day",
                                      "format": "yyyy-MM-dd"},
                                      "aggs": {"u": {"cardinality": {
                                          "field": "user_id", "precision_threshold": 40000}}}}}})
    old_counts = {b["key_as_string"]: b["u"]["value"]
                  for b in old["aggregations"]["d"]["buckets"]}
    print(f"\nold_approach q1 engine={indices.engine} cardinality={old_counts[DAY]} "
          f"exact={USERS} new={got[DAY]}")
    assert got == {DAY: USERS, NEXT: 3}
    first, last = "2026-01-14", "2026-01-17"
    for zone in ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati",
                 "Asia/Kathmandu"):
        want = local_days(logins, zone)
        got = q1_result(query(indices, "q1", "--from", first, "--to", last, "--tz", zone))
        expected = {d: want.get(d, 0) for d in got}
        print(f"q1 zone={zone} got={got}")
        assert got == expected, zone
        assert sum(got.values()) == sum(want.values()), zone  # every local day in the range
    # Kathmandu's ends: the first and last quarter hour of its days (00:00-00:15 and
    # 23:45-24:00 local, 18:15Z-18:30Z and 18:00Z-18:15Z): ~600 users at those of DAY and NEXT
    ends = defaultdict(set)
    for u, at in logins:
        t = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(
            ZoneInfo("Asia/Kathmandu"))
        if t.hour * 60 + t.minute < 15 or t.hour * 60 + t.minute >= 23 * 60 + 45:
            ends[t.date().isoformat()].add(u)
    busiest = max(len(us) for us in ends.values())
    stored = json.loads((REPO / "queries" / "q1_logged_in_users_per_day_from_events.json")
                        .read_text())["aggs"]["day_users"]["composite"]["size"]
    assert 3 * 100 < busiest < stored, "one page with the stored file, several with 100"
    want = local_days(logins, "Asia/Kathmandu")
    r = query_process(indices, "q1", "--from", first, "--to", last, "--tz", "Asia/Kathmandu",
                      "--json", env={"BSOCIAL_ELASTICSEARCH_INDEX": INDEX,
                                     "BSOCIAL_QUERIES_DIR": small_q1_pages(tmp_path, 100),
                                     "BSOCIAL_LOG_LEVEL": "debug"})
    assert r.returncode == 0, r.stderr
    assert "step=ends_next_page" in r.stderr, "the ends were not asked again from an after_key"
    paged = q1_result(json.loads(r.stdout))
    print(f"q1 zone=Asia/Kathmandu pages=100 ends={ {d: len(us) for d, us in ends.items()} } "
          f"got={paged}")
    assert paged == {d: want.get(d, 0) for d in paged}, "Kathmandu in pages of 100 users"


def entity(kind: str, n: int, routing: str, **fields) -> list[dict]:
    return [{"create": {"_index": f"{INDEX}-entities", "_id": f"{kind}:{n}", "routing": routing}},
            {"kind": kind, "deleted": False, "event_id": str(uuid.uuid4()), **fields}]


def two_shards(search: SearchEndpoint, index: str) -> tuple[str, str]:
    """Two routing values that lead to different shards of `index`."""
    seen: dict[int, str] = {}
    for i in range(50):
        st, body = es_request(search, "GET", f"/{index}/_search_shards?routing=r{i}")
        assert st == 200, body
        seen.setdefault(body["shards"][0][0]["shard"], f"r{i}")
        if len(seen) == 2:
            return tuple(seen.values())
    raise AssertionError("no two shards found")


def small_pages(tmp_path, size: int) -> str:
    """A copy of queries/ whose q3 composite pages hold `size` posts (the stored file's
    pages hold more than the test's 12,000 posts: this makes the runner page)."""
    for f in (REPO / "queries").glob("*.json"):
        (tmp_path / f.name).write_text(f.read_text())
    q3 = tmp_path / "q3_user_top_and_worst_post.json"
    body = json.loads(q3.read_text())
    assert body["aggs"]["posts"]["composite"]["size"] > POSTS, "the stored file pages by itself"
    body["aggs"]["posts"]["composite"]["size"] = size
    q3.write_text(json.dumps(body))
    return str(tmp_path)


def test_q3_ranks_12000_posts_over_3_shards(indices, server, tmp_path):
    """User 7 has 12,000 posts with 2 comments each, except: post 1_000_017 has 5 (the
    best), 1_000_042 has 1 (the worst), 1_000_099 has 9 but is deleted, 1_000_100 has 8 of
    which 6 are deleted (2 left). User 8's posts are others'. Laid out (routing) to break a
    `terms` ranking: every document on shard A except the best's and the worst's posts,
    which are on shard B, so shard A holds over 10,000 posts and the old query's
    shard_size cuts the two posts' comments off there."""
    best, worst, deleted_post, thinned = 1_000_017, 1_000_042, 1_000_099, 1_000_100
    comments = {p: 2 for p in range(1_000_000, 1_000_000 + POSTS)}
    comments.update({best: 5, worst: 1, deleted_post: 9, thinned: 8})
    lines: list[dict] = []
    cid = 5_000_000
    a, b = two_shards(indices, f"{INDEX}-entities")
    for i, (post, n) in enumerate(comments.items()):
        at = f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
        lines += entity("post", post, b if post in (best, worst) else a, post_id=str(post),
                        user_id="7", created_at=at)
        for j in range(n):
            cid += 1
            doc = entity("comment", cid, a, comment_id=str(cid), post_id=str(post),
                         post_author_id="7", user_id="9", created_at=at)
            if post == thinned and j < 6:
                doc[1].update(deleted=True, deleted_at=at)
            lines += doc
    lines[lines.index({"create": {"_index": f"{INDEX}-entities", "_id": f"post:{deleted_post}",
                                  "routing": a}}) + 1].update(deleted=True, deleted_at="2026-02-01T00:00:00.000Z")
    for post in range(2_000_000, 2_000_050):  # another user's posts, 20 comments each
        lines += entity("post", post, a, post_id=str(post), user_id="8",
                        created_at="2026-01-02T00:00:00.000Z")
        for _ in range(20):
            cid += 1
            lines += entity("comment", cid, b, comment_id=str(cid), post_id=str(post),
                            post_author_id="8", user_id="9",
                            created_at="2026-01-02T00:00:00.000Z")
    bulk(indices, lines)

    db = db_url_of(server)  # q3 adds SQL's details (none here: the posts are only indexed)
    got = q3_result(query(indices, "q3", "--user-id", "7", db=db))

    old = search(indices, f"{INDEX}-entities", {
        "size": 0, "query": {"bool": {"filter": [{"term": {"deleted": False}}], "should": [
            {"bool": {"filter": [{"term": {"kind": "post"}}, {"term": {"user_id": "7"}}]}},
            {"bool": {"filter": [{"term": {"kind": "comment"}},
                                 {"term": {"post_author_id": "7"}}]}}],
            "minimum_should_match": 1}},
        "aggs": {order: {"terms": {"field": "post_id", "size": 1, "shard_size": 10000,
                                   "order": [{"post": "desc"}, {"comments": direction}]},
                         "aggs": {"post": {"filter": {"term": {"kind": "post"}}},
                                  "comments": {"filter": {"term": {"kind": "comment"}}}}}
                 for order, direction in (("top", "desc"), ("worst", "asc"))}})
    old_answer = {k: [(b["key"], b["comments"]["doc_count"])
                      for b in old["aggregations"][k]["buckets"]] for k in ("top", "worst")}
    print(f"\nold_approach q3 engine={indices.engine} terms={old_answer} "
          f"exact=top ({best}, 5) worst ({worst}, 1) new={got}")
    assert got == {"top_post": (str(best), 5), "worst_post": (str(worst), 1)}
    # the same in pages of 5,000 posts (3 pages: the best on the first, the worst too, the
    # runner keeps them over the later pages)
    paged = q3_result(query(indices, "q3", "--user-id", "7", db=db,
                            queries_dir=small_pages(tmp_path, 5_000)))
    assert paged == got
    other = q3_result(query(indices, "q3", "--user-id", "8", db=db))
    assert other == {"top_post": ("2000000", 20), "worst_post": ("2000049", 20)}
