"""F4: the relay dies between "Kafka acknowledged" and "rows marked sent". `serve` runs
with BSOCIAL_RELAY=false; under load a separate `bsocial relay` with
BSOCIAL_TEST_RELAY_CRASH_AFTER_PUBLISH=1 is started three times (each publishes one
batch, then exits 86 without marking it), then a normal relay takes over. Pass: Kafka
holds duplicates; the index and the notifications do not; nothing is lost."""

from __future__ import annotations

import bsocial_testkit.reliability as rs

CRASH_EXIT = 86
CRASHES = 3


def test_f4_relay_killed_between_publish_and_mark_sent(make_pipeline):
    p = make_pipeline(relay_in_serve=False)
    load = rs.Load(p.client, n=rs.scaled(1500), rate=25)
    load.setup()
    load.start()
    crashes = []
    for k in range(CRASHES):
        load.wait_progress(0.15 + 0.2 * k)
        unsent = rs.outbox_unsent(p)
        r = p.start_relay(env={"BSOCIAL_TEST_RELAY_CRASH_AFTER_PUBLISH": "1"}, name="crash")
        rc = r.wait(timeout=120)
        assert rc == CRASH_EXIT, f"crashing relay exited {rc}\n{r.stderr_tail()}"
        crashes.append(f"unsent={unsent}->{rs.outbox_unsent(p)}")
    load.wait_progress(0.7)
    relay = p.start_relay(name="normal")
    load.join()
    recovery = rs.wait_recovered(p)
    lag = rs.lag_zero(p)
    rc = relay.stop(timeout=15)
    a = rs.audit(p, load, "relay_crash_after_publish", extra=(
        f"crashes={CRASHES} ({'; '.join(crashes)}) recovery_seconds={recovery:.0f} "
        f"consumer_lag={lag}"))
    assert rc == 0, f"normal relay exited {rc} after SIGTERM\n{relay.stderr_tail()}"
    assert not load.failures, f"{dict(load.failures)} {load.failure_samples[:3]}"
    assert a.kafka_messages > a.in_kafka, "a crash after publish must leave duplicates in Kafka"
    rs.assert_pass(a)
    assert all(v == 0 for v in lag.values()), f"consumer lag after recovery: {lag}"
