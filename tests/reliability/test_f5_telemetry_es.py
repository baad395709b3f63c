"""F5: `bsocial telemetry` SIGKILLed mid-stream, the search engine (Elasticsearch, or
OpenSearch with BSOCIAL_TEST_ENGINE=opensearch) stopped for 30 s
(BSOCIAL_RELIABILITY_ES_DOWN_S), and telemetry SIGKILLed again mid-bulk while it indexes
the backlog that piled up in Kafka. Pass: index docs = outbox rows = N after recovery,
consumer lag back to 0, nothing lost or twice."""

from __future__ import annotations

import os
import time

import bsocial_testkit.reliability as rs
from bsocial_testkit.telemetry import es_count

DOWN_S = float(os.environ.get("BSOCIAL_RELIABILITY_ES_DOWN_S", "30"))


def test_f5_telemetry_killed_mid_bulk_and_search_engine_down(make_pipeline):
    p = make_pipeline()
    load = rs.Load(p.client, n=rs.scaled(1500), rate=25)
    load.setup()
    load.start()

    # 1. SIGKILL while indexing the live stream
    load.wait_progress(0.2)
    start = es_count(p.search)
    rs.wait_until(lambda: es_count(p.search) > start, 60, interval=0.05,
                  what="indexing under way")
    p.telemetry.kill()
    first_kill_at = es_count(p.search)
    time.sleep(1.0)
    p.telemetry.start()

    # 2. the search engine down; events pile up in Kafka
    load.wait_progress(0.35)
    before_down = es_count(p.search)
    p.stop_search()
    t_stop = time.monotonic()
    time.sleep(DOWN_S)
    assert p.telemetry.running(), f"telemetry must survive an {p.engine} outage"
    p.restart_search()
    down = time.monotonic() - t_stop

    # 3. SIGKILL as soon as the first bulk of the backlog lands (the rest is in flight)
    backlog = rs.outbox_count(p) - before_down
    rs.wait_until(lambda: es_count(p.search) > before_down, 120, interval=0.05,
                  what="the backlog being indexed")
    p.telemetry.kill()
    second_kill_at = es_count(p.search)
    time.sleep(1.0)
    p.telemetry.start()

    load.join()
    recovery = rs.wait_recovered(p)
    lag = rs.lag_zero(p)
    a = rs.audit(p, load, "telemetry_kill9_es_down", extra=(
        f"engine={p.engine} first_kill_at_docs={first_kill_at} es_down_seconds={down:.0f} (sleep {DOWN_S:g}) "
        f"backlog_at_es_restart~{backlog} second_kill_at_docs={second_kill_at} "
        f"(of {before_down + backlog}) recovery_seconds={recovery:.0f} consumer_lag={lag}"))
    assert not load.failures, f"{dict(load.failures)} {load.failure_samples[:3]}"
    rs.assert_pass(a)
    assert a.es_docs == a.in_sql, "ES docs != N"
    assert all(v == 0 for v in lag.values()), f"consumer lag after recovery: {lag}"
