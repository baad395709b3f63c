"""The notifier's operations routes: /healthz, /readyz (checks.kafka == "ok" once its
partitions are assigned), /metrics (events, notifications, poison, sockets)."""

from __future__ import annotations

from bsocial_testkit.kafka import metric_value
from bsocial_testkit.notify import open_stream
from bsocial_testkit.waiting import wait_until

METRICS = ("bsocial_notifier_events_total", "bsocial_notifier_notifications_total",
           "bsocial_notifier_poison_total", "bsocial_notifier_sockets")


def _metrics(deploy) -> dict[str, float]:
    r = deploy.nclient.get("/metrics")
    assert r.status == 200, r
    text = r.raw.decode()
    return {m: metric_value(text, m) for m in METRICS}


def test_healthz_readyz_metrics(deploy):
    n = deploy.nclient
    r = n.get("/healthz")
    assert r.status == 200, r
    r = n.get("/readyz")
    assert r.status == 200, r
    assert r.json["checks"]["kafka"] == "ok", r
    m = _metrics(deploy)
    assert m["bsocial_notifier_poison_total"] == 0
    assert m["bsocial_notifier_events_total"] >= m["bsocial_notifier_notifications_total"] >= 0


def test_sockets_gauge_counts_open_sockets(deploy):
    u = deploy.client.new_user()
    base = _metrics(deploy)["bsocial_notifier_sockets"]
    a = open_stream(deploy.notifier.port, token=u.token)
    b = open_stream(deploy.notifier.port, token=u.token)
    c = open_stream(deploy.api.port, token=u.token)  # another process: not counted here
    try:
        wait_until(lambda: _metrics(deploy)["bsocial_notifier_sockets"] == base + 2, 10,
                   what="sockets gauge +2")
    finally:
        for s in (a, b, c):
            s.close()
    wait_until(lambda: _metrics(deploy)["bsocial_notifier_sockets"] == base, 10,
               what="sockets gauge back")
