"""F1: Kafka stopped mid-run (30 s by default: BSOCIAL_RELIABILITY_KAFKA_DOWN_S), then
started again on the same data and ports. API writes keep succeeding (the outbox holds
them); after the restart the outbox drains; SQL rows = ES docs; 0 lost, 0 duplicated."""

from __future__ import annotations

import os
import time

import bsocial_testkit.reliability as rs

DOWN_S = float(os.environ.get("BSOCIAL_RELIABILITY_KAFKA_DOWN_S", "30"))


def test_f1_kafka_stopped_mid_run(make_pipeline):
    p = make_pipeline()
    load = rs.Load(p.client, n=rs.scaled(1500), rate=25)
    load.setup()
    load.start()
    load.wait_progress(0.25)
    backlog_before = rs.outbox_unsent(p)
    p.stack.stop_kafka()
    t_stop = time.monotonic()
    at_stop = load.produced.total()
    time.sleep(DOWN_S)
    at_restart = load.produced.total()
    backlog_down = rs.outbox_unsent(p)
    again = p.stack.start_kafka(brokers=1)
    down = time.monotonic() - t_stop
    assert again == p.kafka, f"Kafka came back on {again}, not {p.kafka}"
    load.join()
    recovery = rs.wait_recovered(p)
    lag = rs.lag_zero(p)
    a = rs.audit(p, load, "kafka_down", extra=(
        f"kafka_down_seconds={down:.0f} (sleep {DOWN_S:g}) written_while_down="
        f"{at_restart - at_stop} outbox_backlog_at_stop={backlog_before} "
        f"outbox_backlog_before_restart={backlog_down} recovery_seconds={recovery:.0f} "
        f"consumer_lag={lag}"))
    assert not load.failures, f"API writes failed while Kafka was down: " \
                              f"{dict(load.failures)} {load.failure_samples[:3]}"
    assert at_restart - at_stop > 0, "no writes happened while Kafka was down"
    assert backlog_down > 0, "the outbox did not hold the writes made while Kafka was down"
    rs.assert_pass(a)
    assert all(v == 0 for v in lag.values()), f"consumer lag after recovery: {lag}"
