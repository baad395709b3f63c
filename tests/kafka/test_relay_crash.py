"""F4: the relay dies between "Kafka acknowledged" and "rows marked sent". The rows stay
unsent, the next relay publishes them again with the same event ids and byte-identical
payloads, so deduplicating by event id downstream yields exactly one event per row."""

from __future__ import annotations

from collections import defaultdict

from bsocial_testkit.http import Client
from bsocial_testkit.kafka import fault_line, read_all, unsent
from bsocial_testkit.waiting import wait_until

N_POSTS = 50
CRASH_EXIT = 86


def test_relay_crash_after_publish_duplicates_but_loses_nothing(kafka, start_server,
                                                                start_relay):
    # API only: the relay is off although Kafka is configured
    srv = start_server(env={"BSOCIAL_RELAY": "false"})
    client = Client(srv)
    author = client.new_user()
    post_ids = [client.create_post(author, f"crash post {i}")["id"] for i in range(N_POSTS)]
    r = client.get("/readyz")
    assert r.status == 200 and r.json["outbox"]["relay"] == "off", r

    rows = srv.db.outbox_after(0)
    assert len(rows) == N_POSTS + 2, [x["event_type"] for x in rows]  # + registered, logged_in
    assert len(unsent(rows)) == len(rows), "rows marked sent with the relay off"
    assert r.json["outbox"]["backlog"] == len(rows), r
    ids = {x["event_id"] for x in rows}
    assert len(ids) == len(rows)
    assert not [m for m in read_all(kafka.bootstrap) if m.event_id in ids], \
        "events reached Kafka although the relay is off"

    # 1. a relay that crashes right after Kafka acknowledged its first batch
    crashing = start_relay(srv, env={"BSOCIAL_TEST_RELAY_CRASH_AFTER_PUBLISH": "1"},
                           name="crash")
    rc = crashing.wait(timeout=90)
    assert rc == CRASH_EXIT, f"crashing relay exited {rc}, expected {CRASH_EXIT}\n" \
                             f"{crashing.stderr_tail()}"
    rows = srv.db.outbox_after(0)
    assert len(unsent(rows)) == len(rows), \
        f"{len(rows) - len(unsent(rows))} rows marked sent by a relay that crashed first"
    after_crash = [m for m in read_all(kafka.bootstrap) if m.event_id in ids]
    print(f"\nafter the crash: {len(after_crash)} messages, "
          f"{len({m.event_id for m in after_crash})} distinct event ids, all rows unsent")
    assert after_crash, "the crashing relay exited without anything acknowledged in Kafka"

    # 2. a normal relay publishes the backlog again and marks it sent
    relay = start_relay(srv, name="normal")
    wait_until(lambda: not unsent(srv.db.outbox_after(0)), 90, interval=0.3,
               what="every outbox row marked sent by the second relay")
    rc = relay.stop(timeout=15)
    assert rc == 0, f"relay exited {rc} after SIGTERM\n{relay.stderr_tail()}"
    assert any(line.startswith("bsocial relay publishing to") for line in relay.stdout_lines), \
        relay.stdout_lines
    r = client.get("/readyz")
    assert r.status == 200 and r.json["outbox"]["backlog"] == 0, r

    rows = srv.db.outbox_after(0)
    by_event = {x["event_id"]: x for x in rows}
    msgs = [m for m in read_all(kafka.bootstrap) if m.event_id in ids]
    groups: dict[str, list] = defaultdict(list)
    for m in msgs:
        groups[m.event_id].append(m)

    line, lost, duplicated = fault_line("relay_crash", len(rows), len(rows), msgs, ids)
    print(line)
    assert lost == 0, line
    assert set(groups) == ids, "distinct event ids in Kafka != outbox event ids"
    assert duplicated > 0, "a crash between publish and mark-sent must leave duplicates"
    for eid, ms in groups.items():
        row = by_event[eid]
        assert len(ms) <= 2, f"event {eid} {len(ms)} times (one crash -> at most twice)"
        for m in ms:
            assert m.topic == row["topic"], (m.topic, row)
            assert m.key == row["event_key"], (m.key, row)
            assert m.payload == row["payload"], f"payload of {eid} differs from the outbox row"
            assert m.header("event_type") == row["event_type"]
        assert len({m.payload for m in ms}) == 1, f"duplicates of {eid} differ"
    dup_ids = [e for e, ms in groups.items() if len(ms) > 1]
    print(f"{len(dup_ids)} of {len(ids)} event ids twice, all byte-identical")
    # dedupe by id downstream: exactly one event per row, every post present
    deduped = {eid: ms[0] for eid, ms in groups.items()}
    assert len(deduped) == len(rows)
    assert {m.key for m in deduped.values() if m.topic == "bsocial.posts"} == set(post_ids)

    for text in (crashing.stderr_text(), relay.stderr_text()):
        assert "$argon2" not in text
        assert not [s for s in srv.secrets if s in text], "a secret in the relay log"
