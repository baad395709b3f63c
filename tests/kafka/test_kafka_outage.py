"""F1: Kafka is down while the API keeps taking writes; the outbox drains after Kafka
comes back, with every event exactly once (shared/design/reliability-figures.md)."""

from __future__ import annotations

import time

from bsocial_testkit.http import Client
from bsocial_testkit.kafka import fault_line, metric_value, read_topic, unsent
from bsocial_testkit.waiting import wait_until

N_POSTS = 500


def backlog(client: Client) -> tuple[int, dict]:
    r = client.get("/readyz")
    assert r.status == 200, f"/readyz must stay 200 while Kafka is down: {r!r}"
    assert r.json["status"] == "ready" and r.json["checks"]["database"] == "ok", r
    ob = r.json["outbox"]
    assert isinstance(ob.get("backlog"), int), ob
    return ob["backlog"], ob


def test_kafka_outage_loses_nothing(kafka, start_server):
    srv = start_server(env={"BSOCIAL_KAFKA_MESSAGE_TIMEOUT_MS": "3000"})
    client = Client(srv)
    author = client.new_user()
    wait_until(lambda: backlog(client)[0] == 0, 60, what="backlog 0 before the outage")
    before = srv.db.outbox_max_id()

    kafka.stop_kafka()
    try:
        assert not kafka.kafka_running()
        post_ids = []
        for i in range(N_POSTS):
            r = client.post("/api/v1/posts", {"content": f"outage post {i}"},
                            token=author.token)
            assert r.status == 201, f"post {i} during the outage: {r!r}"
            post_ids.append(r.json["post"]["id"])
            if i % 100 == 99:
                n, ob = backlog(client)
                assert n > 0, f"backlog should grow while Kafka is down: {ob}"
        assert len(set(post_ids)) == N_POSTS

        n, ob = backlog(client)
        print(f"\nright after the {N_POSTS} posts: /readyz outbox = {ob}")
        assert n > 0, ob
        assert ob.get("relay") == "running", ob
        # the relay notices once a delivery attempt times out (3 s here)
        wait_until(lambda: backlog(client)[1].get("kafka") != "ok", 60,
                   what="/readyz outbox.kafka reporting the outage")
        n, ob = backlog(client)
        print(f"while Kafka is down: /readyz outbox = {ob}")
        assert n > 0 and str(ob.get("kafka")).startswith("unreachable"), ob
        metrics = client.get("/metrics")
        assert metrics.status == 200
        text = metrics.raw.decode()
        assert metric_value(text, "bsocial_outbox_backlog") > 0
        assert metric_value(text, "bsocial_outbox_oldest_unsent_age_seconds") > 0
        assert metric_value(text, "bsocial_outbox_failed_batches_total") > 0
        rows = srv.db.outbox_after(before)
        assert len(rows) == N_POSTS and all(r["event_type"] == "post.created" for r in rows)
        assert unsent(rows), "rows were marked sent while Kafka was down"
    finally:
        t0 = time.monotonic()
        kafka.start_kafka()
        print(f"Kafka restarted in {time.monotonic() - t0:.1f}s")

    t0 = time.monotonic()
    wait_until(lambda: backlog(client)[0] == 0, 120, interval=0.5,
               what="outbox backlog 0 after Kafka came back")
    print(f"backlog drained {time.monotonic() - t0:.1f}s after the restart")
    rows = srv.db.outbox_after(before)
    assert not unsent(rows), f"{len(unsent(rows))} rows still unsent"
    n, ob = backlog(client)
    assert ob.get("kafka") == "ok", ob
    m = client.get("/metrics").raw.decode()
    assert metric_value(m, "bsocial_outbox_backlog") == 0

    expected = {r["event_id"] for r in rows}
    assert len(expected) == N_POSTS
    msgs = [m for m in read_topic(kafka.bootstrap, "bsocial.posts") if m.event_id in expected]
    line, lost, duplicated = fault_line("kafka_outage", N_POSTS, len(rows), msgs, expected)
    print(line)
    assert {m.key for m in msgs} == set(post_ids), "not every post id arrived as a key"
    by_key = {r["event_key"]: r for r in rows}
    for msg in msgs:
        assert msg.payload == by_key[msg.key]["payload"], msg
        assert msg.header("event_type") == "post.created"
    assert lost == 0, line
    assert duplicated == 0, line
