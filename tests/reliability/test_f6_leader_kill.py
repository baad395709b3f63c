"""F6: 3-broker Kafka (replication 3, min.insync.replicas 2). Under load the leader of a
bsocial.* partition (from `kcat -L -J`) is SIGKILLed 5 times, each time started again
once the others have taken over, and the next kill waits for the ISR to be full again.
Pass: every event Kafka acknowledged (every outbox row marked sent) is consumed: in the
index once and, for comments by others, one notification; 0 duplicated downstream."""

from __future__ import annotations

import time

import bsocial_testkit.reliability as rs
from bsocial_testkit.kafka import TOPICS

KILLS = 5
DOWN_S = 5.0


def test_f6_partition_leader_sigkilled_5_times(make_pipeline):
    p = make_pipeline(brokers=3)
    load = rs.Load(p.client, n=rs.scaled(2000), rate=20)
    load.setup()
    load.start()
    load.wait_progress(0.08)
    kills = []
    for k in range(KILLS):
        topic = TOPICS[(k + 1) % len(TOPICS)]  # posts, comments, follows, users, posts
        leader = p.leader_of(topic, 0)
        p.stack.kill_kafka_broker(leader)
        t = time.monotonic()
        during = load.running()
        time.sleep(DOWN_S)
        p.stack.restart_kafka_broker(leader, wait=True)
        rs.wait_until(p.all_isr_full, 90, interval=1.0, what="ISR full again")
        new_leader = p.leader_of(topic, 0)
        kills.append(f"{topic}/0:{leader}->{new_leader}({time.monotonic() - t:.0f}s"
                     f"{'' if during else ',after load'})")
        time.sleep(2.0)
    load.join()
    recovery = rs.wait_recovered(p)
    lag = rs.lag_zero(p)
    a = rs.audit(p, load, "leader_kill9_x5", extra=(
        f"kills={'; '.join(kills)} recovery_seconds={recovery:.0f} consumer_lag={lag}"))
    assert not load.failures, f"{dict(load.failures)} {load.failure_samples[:3]}"
    rs.assert_pass(a)
    assert all(v == 0 for v in lag.values()), f"consumer lag after recovery: {lag}"
