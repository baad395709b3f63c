"""Acks of real notifications are written in batches (issue 24, item 3): the ack frames a
socket sends while the previous batch is being written cost ONE write transaction
together, not one each. Every acked notification ends delivered (none is claimable), and
/metrics counts the frames and the transactions they cost. Before, each ack ran its own
transaction (and the counters did not exist: the test fails there)."""

from __future__ import annotations

from bsocial_testkit.notify import claim, comment, history, make_scene, open_stream
from bsocial_testkit.waiting import wait_until

N = 60
REPEATS = 4  # each id acked 4 times: 240 frames in one burst


def _metric(client, name: str) -> float:
    for line in client.get("/metrics").raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def test_a_burst_of_acks_costs_one_transaction_per_batch(deploy):
    c = deploy.client
    s = make_scene(c)
    cids = [comment(c, s.b, s.post["id"], f"batch {i}")[0]["id"] for i in range(N)]
    with open_stream(deploy.api.port, token=s.a.token) as ws:
        got = {}
        while len(got) < N:
            n = ws.next_notification(timeout=60)[1]
            got[n["comment_id"]] = n["id"]
        assert set(got) == set(cids)
        acks0 = _metric(c, "bsocial_notification_acks_total")
        tx0 = _metric(c, "bsocial_notification_ack_transactions_total")
        for _ in range(REPEATS):
            for nid in got.values():
                ws.ack(nid)
        wait_until(lambda: _metric(c, "bsocial_notification_acks_total") - acks0 == N * REPEATS,
                   30, what="every ack frame handled")
    acks = _metric(c, "bsocial_notification_acks_total") - acks0
    txs = _metric(c, "bsocial_notification_ack_transactions_total") - tx0
    print(f"\n{acks:.0f} ack frames cost {txs:.0f} write transactions")
    assert 1 <= txs <= acks / 4, (acks, txs)
    assert all(h["delivered_at"] is not None for h in history(c, s.a)), "every ack written"
    assert claim(c, s.a) == []
