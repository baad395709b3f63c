"""PostgreSQL, several processes: an API instance without a relay (BSOCIAL_RELAY=false)
writes events, and a `bsocial relay` elsewhere publishes them. The relay here looks at the
outbox only every 60 s, so events that reach Kafka within seconds were announced to it:
the writer rings `NOTIFY bsocial_outbox` (store/pg_doorbell) and every relay LISTENs
(store/pg_wakeup). On SQLite one process owns the database and its writes nudge its own
relay in-process: there is no second process to wake, and this module does not apply."""

from __future__ import annotations

import os
import time

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.kafka import read_topic
from bsocial_testkit.waiting import wait_until

pytestmark = pytest.mark.skipif(
    os.environ.get("BSOCIAL_TEST_DB", "sqlite").lower() not in ("postgresql", "postgres", "pg"),
    reason="cross-process relay wake-up is PostgreSQL's (SQLite: one process, nudged in-process)")

RELAY_POLL_MS = 60_000
WOKEN_WITHIN_S = 15  # far below the poll; generous for a loaded 2-core machine


def test_events_of_a_process_without_relay_wake_the_relay(kafka, start_server, start_relay):
    srv = start_server(env={"BSOCIAL_RELAY": "false"})
    client = Client(srv)
    author = client.new_user()
    relay = start_relay(srv, env={"BSOCIAL_RELAY_POLL_MS": str(RELAY_POLL_MS)})
    # The relay's first look (at start) publishes the registration and login events.
    wait_until(lambda: srv.db.outbox_after(0) and
               all(r["sent_at"] is not None for r in srv.db.outbox_after(0)),
               30, what="the backlog published by the relay's first look")
    started = time.monotonic()

    for i in range(3):
        before = max(r["id"] for r in srv.db.outbox_after(0))
        post = client.create_post(author, f"wake the relay {i}")
        t0 = time.monotonic()
        wait_until(lambda: (rows := srv.db.outbox_after(before)) and
                   all(r["sent_at"] is not None for r in rows),
                   WOKEN_WITHIN_S, interval=0.1,
                   what=f"post {i}'s event published without waiting for the 60 s poll")
        print(f"post {i}: published {time.monotonic() - t0:.3f} s after its 201")
        assert any(post["id"] in (m.payload or "") for m in read_topic(kafka.bootstrap,
                                                                        "bsocial.posts"))
    assert time.monotonic() - started < RELAY_POLL_MS / 1000, \
        "took as long as the poll: cannot tell a wake-up from the poll"
    assert relay.stop(timeout=15) == 0, relay.stdout_lines
