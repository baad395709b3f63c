"""F3: `kill -9` of `bsocial serve` (API + relay) three times under load, each time
started again on the same data dir / database and JWT secret (`--port 0`: a new port,
the client follows it). Requests in flight may fail; only 2xx answers count as produced.
Pass: every write answered 2xx has exactly one document in the index and, for comments
by someone else, exactly one notification; nothing twice downstream."""

from __future__ import annotations

import time

import bsocial_testkit.reliability as rs

KILLS = 3


def test_f3_api_sigkilled_repeatedly_under_load(make_pipeline):
    p = make_pipeline()
    load = rs.Load(p.client, n=rs.scaled(1500), rate=25)
    load.setup()
    load.start()
    kills = []
    for k in range(KILLS):
        load.wait_progress((k + 1) / (KILLS + 1))
        before = load.produced.total()
        p.kill9_api()
        t = time.monotonic()
        time.sleep(1.0)
        p.restart_api()
        kills.append(f"{before}@{time.monotonic() - t:.1f}s")
    load.join()
    recovery = rs.wait_recovered(p)
    lag = rs.lag_zero(p)
    a = rs.audit(p, load, "api_kill9", extra=(
        f"kills={KILLS} (produced@downtime: {', '.join(kills)}) "
        f"committed_without_2xx={rs.outbox_count(p) - load.produced.total()} "
        f"recovery_seconds={recovery:.0f} consumer_lag={lag}"))
    bad = {k: v for k, v in load.failures.items()
           if not k.endswith(("ConnectionRefusedError", "ConnectionResetError",
                              "RemoteDisconnected", "BrokenPipeError"))}
    assert not bad, f"failures other than a dead server: {bad} {load.failure_samples[:3]}"
    rs.assert_pass(a)
    assert all(v == 0 for v in lag.values()), f"consumer lag after recovery: {lag}"
