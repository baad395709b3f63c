"""F7: analytics cross-check. After a mixed run, the per-day figures of the three stored
queries (`bsocial query q1|q2|q3 --json`, on the index filled by telemetry) equal the
same figures computed in SQL from the API's database (bsocial_testkit.telemetry.SqlTruth, here
on SQLite or PostgreSQL)."""

from __future__ import annotations

import random

import bsocial_testkit.reliability as rs
from bsocial_testkit.telemetry import q1_result, q2_result, q3_result, run_query


def test_f7_queries_equal_sql(make_pipeline):
    p = make_pipeline()
    load = rs.Load(p.client, n=rs.scaled(1000), rate=40)
    load.setup()
    load.start()
    load.join()
    recovery = rs.wait_recovered(p)
    truth = rs.DbTruth(p.sql)
    # q2/q3 read the posts' details from the API's database
    db = p.sql.pg_url or f"sqlite:{p.sql.sqlite_path}"

    # q1: distinct logged-in users per UTC day
    t1 = truth.logged_in_users_per_day()
    days = sorted(t1)
    r1 = q1_result(run_query(p.search, "q1", "--from", days[0], "--to", days[-1],
                             "--tz", "UTC"))
    q1_bad = {d: (r1.get(d), n) for d, n in t1.items() if r1.get(d) != n}
    q1_bad.update({d: (n, 0) for d, n in r1.items() if n and d not in t1})

    # q2: top 10 posts by comments made that day (ties: lower post id first)
    t2 = truth.top_posts_per_day()
    r2 = q2_result(run_query(p.search, "q2", "--days", "10", "--tz", "UTC", db=db))
    q2_bad = {d: (r2.get(d), ranking) for d, ranking in t2.items() if r2.get(d) != ranking}

    # q3: top and worst post of users with posts (all core users + a sample) and without
    users = p.sql.rows("select u.id, u.username, count(p.id) from users u "
                       "left join posts p on p.user_id = u.id group by u.id, u.username "
                       "order by u.id")
    with_posts = [u for u in users if u[2] > 0]
    without = [u for u in users if u[2] == 0]
    rng = random.Random(7)
    sample = with_posts[:6] + rng.sample(with_posts[6:], min(10, len(with_posts[6:]))) \
        + rng.sample(without, min(3, len(without)))
    q3_bad = {}
    for uid, username, _ in sample:
        es = q3_result(run_query(p.search, "q3", "--user", username, db=db))
        sq = truth.top_and_worst(str(uid))
        if es != sq:
            q3_bad[username] = (es, sq)

    a = rs.audit(p, load, "analytics", extra=(
        f"q1_days={len(t1)} q1_users={sum(t1.values())} q2_days={len(t2)} "
        f"q2_ranked_posts={sum(len(v) for v in t2.values())} q3_users={len(sample)} "
        f"mismatches=q1:{len(q1_bad)},q2:{len(q2_bad)},q3:{len(q3_bad)} "
        f"recovery_seconds={recovery:.0f}"))
    assert not load.failures, f"{dict(load.failures)} {load.failure_samples[:3]}"
    rs.assert_pass(a)
    assert not q1_bad, f"q1 (es, sql) per day: {q1_bad}"
    assert not q2_bad, f"q2 (es, sql) per day: {q2_bad}"
    assert not q3_bad, f"q3 (es, sql) per user: {q3_bad}"
    assert sum(t1.values()) > 0 and t2
