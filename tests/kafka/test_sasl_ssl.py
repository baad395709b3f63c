"""Kafka over TLS + SASL with topic ACLs (issue 24, item 5), end to end.

Runs only with BSOCIAL_TEST_KAFKA_SECURITY=sasl_ssl (the ctest entry `kafka_sasl_ssl` sets
it, with test_events_on_topics.py): the broker has a SASL_SSL listener only, a CA made by
stack/bstack.py, one user per bSocial process and ACLs (stack/bstacklib/kafka.py).

- every process connects with its own user: serve's relay publishes registration, login,
  post and comment events, the notifier turns the comment into a notification, telemetry
  indexes the events; no SASL password reaches a log;
- a relay with a wrong password is refused with a clear log line (the broker's cause), the
  events written meanwhile stay unsent in the outbox, and a relay with the right password
  publishes every one of them, once; a notifier with a wrong password says so too;
- ACLs: the notifier's and telemetry's users cannot write an event topic, the notifier's
  user cannot read another topic, and a plaintext client gets nothing.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import Counter

import pytest

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client
from bsocial_testkit.kafka import KCAT_ARGS, kcat, read_topic, unsent, wait_for_events
from bsocial_testkit.notify import wait_history
from bsocial_testkit.server import NotifierProcess
from bsocial_testkit.telemetry import TelemetryProcess, es_ids, search_endpoint
from bsocial_testkit.waiting import wait_until

pytestmark = pytest.mark.skipif(
    os.environ.get("BSOCIAL_TEST_KAFKA_SECURITY", "plaintext") != "sasl_ssl",
    reason="needs BSOCIAL_TEST_KAFKA_SECURITY=sasl_ssl (ctest: kafka_sasl_ssl)")

REFUSED = "event=broker_refused_credentials"


def _produce(kafka, role: str, topic: str, payload: str) -> subprocess.CompletedProcess:
    """kcat -P as `role`: one message, delivery awaited (kcat exits non-zero on failure)."""
    return subprocess.run(
        [kcat(), "-b", kafka.bootstrap, *kafka.kcat_args(role), "-P", "-t", topic,
         "-X", "message.timeout.ms=10000"],
        input=payload, capture_output=True, text=True, timeout=60)


def test_events_flow_through_sasl_ssl(kafka, start_server, tmp_path):
    """serve (relay user) -> Kafka -> notifier (its user) and telemetry (its user)."""
    # the notifier shares the SQLite file: timelines in the database (tests/notify/conftest.py)
    srv = start_server(env={"BSOCIAL_FEED_CACHE_USERS": "0"})
    client = Client(srv)
    notifier = NotifierProcess(srv, {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap,
                                     **kafka.client_env("notifier")}).start()
    search = search_endpoint(kafka.stack, "opensearch")
    telemetry = TelemetryProcess(tmp_path, kafka.bootstrap, search,
                                 env={**kafka.client_env("telemetry"),
                                      "BSOCIAL_TELEMETRY_GROUP": "bsocial-telemetry"}).start()
    try:
        before = srv.db.outbox_max_id()
        author = client.new_user()       # user.registered + user.logged_in
        commenter = client.new_user()
        assert client.follow(commenter, author).status == 204  # follow.created; may comment
        post = client.create_post(author, f"over TLS {hexid()}")
        comment = client.create_comment(commenter, post["id"], f"seen {hexid()}")
        rows = srv.db.outbox_after(before)
        types = Counter(r["event_type"] for r in rows)
        assert types == {"user.registered": 2, "user.logged_in": 2, "follow.created": 1,
                         "post.created": 1, "comment.created": 1}, types

        # published by the relay's user, each once, on its topic
        for topic in {r["topic"] for r in rows}:
            ids = {r["event_id"] for r in rows if r["topic"] == topic}
            got = wait_for_events(kafka.bootstrap, topic, ids, timeout=60)
            counts = Counter(m.event_id for m in got)
            assert set(counts) == ids and set(counts.values()) == {1}, (topic, counts, ids)

        # consumed by the notifier's user: the author is notified of the comment
        nclient = Client(notifier)
        items = wait_history(nclient, author, 1, timeout=60)
        assert [n["comment_id"] for n in items] == [comment["id"]], items
        assert items[0]["actor"]["username"] == commenter.username, items

        # consumed by telemetry's user: every event indexed
        want = {r["event_id"] for r in rows}
        wait_until(lambda: want <= set(es_ids(search)), 60, what="events indexed by telemetry")
    finally:
        tel_rc = telemetry.stop()
        not_rc = notifier.stop()
    assert tel_rc == 0 and not_rc == 0, (tel_rc, not_rc)
    logs = {"notifier": notifier.all_stderr_text(), "telemetry": telemetry.stderr_text()}
    for name, text in logs.items():
        assert REFUSED not in text, f"{name} was refused:\n{text[-2000:]}"
        for password in kafka.passwords():
            assert password not in text, f"a SASL password in the {name} log"
    srv.stop()  # checks its log holds no SASL password (conftest's server_secrets)


def test_wrong_password_is_refused_and_nothing_is_lost(kafka, start_server, start_relay):
    """A relay refused by the broker logs why and keeps the rows; the right password
    publishes every one of them, once."""
    wrong = "not-the-" + uuid.uuid4().hex
    env = {"BSOCIAL_KAFKA_PASSWORD": wrong, "BSOCIAL_KAFKA_MESSAGE_TIMEOUT_MS": "3000"}
    srv = start_server(env=env)
    srv.secrets.add(wrong)
    client = Client(srv)
    user = client.new_user()
    posts = [client.create_post(user, f"kept {i} {hexid()}") for i in range(5)]
    assert len(posts) == 5

    # the cause, logged (and not the password)
    def refused_logged():
        return REFUSED in srv.stderr_text()
    wait_until(refused_logged, 30, what="the refused-credentials log line")
    line = next(ln for ln in srv.stderr_text().splitlines() if REFUSED in ln)
    assert "client=bsocial-outbox-relay" in line and "bsocial-relay" in line, line
    assert "Authentication failed" in line or "invalid credentials" in line, line
    assert wrong not in srv.stderr_text()

    # the relay keeps trying; the rows stay unsent; /readyz tells why
    time.sleep(7)  # > two message timeouts (3 s): at least two rounds refused
    rows = srv.db.outbox_after(0)
    assert len(rows) == 7 and len(unsent(rows)) == 7, [(r["event_type"], r["sent_at"]) for r in rows]
    r = client.get("/readyz")
    kafka_check = ((r.json or {}).get("outbox") or {}).get("kafka", "")
    assert kafka_check.startswith("unreachable") and "Authentication failed" in kafka_check, r.json
    refusals = [ln for ln in srv.stderr_text().splitlines() if REFUSED in ln]
    assert len(refusals) <= 2, f"the same refusal logged {len(refusals)} times in ~10 s"
    print(f"\nrefused: {line.split(' ', 2)[-1][:300]}\nreadyz kafka: {kafka_check[:300]}")
    srv.stop()  # exit 0, no password in the log

    # the right password: everything goes out, once
    relay = start_relay(srv)
    ids = {row["event_id"] for row in rows}
    found = []
    for topic in {row["topic"] for row in rows}:
        want = {row["event_id"] for row in rows if row["topic"] == topic}
        found += wait_for_events(kafka.bootstrap, topic, want, timeout=90)
    counts = Counter(m.event_id for m in found)
    assert set(counts) == ids, f"lost: {ids - set(counts)}"
    assert set(counts.values()) == {1}, f"duplicated: {counts}"
    wait_until(lambda: not unsent(srv.db.outbox_after(0)), 30, what="rows marked sent")
    assert relay.stop() == 0, relay.stderr_tail()
    assert REFUSED not in relay.stderr_text()
    print(f"fault=wrong_password produced={len(ids)} in_kafka={len(counts)} "
          f"lost={len(ids - set(counts))} duplicated={sum(counts.values()) - len(counts)}")


def test_notifier_with_wrong_password_says_so(kafka, start_server):
    srv = start_server(env={"BSOCIAL_FEED_CACHE_USERS": "0"})
    wrong = "wrong-" + uuid.uuid4().hex
    notifier = NotifierProcess(srv, {"BSOCIAL_KAFKA_BROKERS": kafka.bootstrap,
                                     **kafka.client_env("notifier"),
                                     "BSOCIAL_KAFKA_PASSWORD": wrong}).start()
    try:
        wait_until(lambda: REFUSED in notifier.all_stderr_text(), 30,
                   what="the notifier's refused-credentials line")
        r = Client(notifier).get("/readyz")
        assert r.status == 503, r
    finally:
        notifier.stop()
    text = notifier.all_stderr_text()
    line = next(ln for ln in text.splitlines() if REFUSED in ln)
    assert "client=bsocial-notifier" in line and "cause=" in line, line
    assert wrong not in text


def test_acls_each_user_only_what_it_needs(kafka):
    """Only the relay's user writes event topics; the notifier reads bsocial.comments only."""
    marker = f"acl-probe-{uuid.uuid4().hex}"
    for role in ("notifier", "telemetry"):
        r = _produce(kafka, role, "bsocial.posts", marker)
        assert r.returncode != 0, f"{role} could write bsocial.posts: {r.stderr}"
        assert "Topic authorization failed" in r.stderr, r.stderr[-1000:]
    assert all(m.payload != marker for m in read_topic(kafka.bootstrap, "bsocial.posts")), \
        "a refused message is on the topic"

    # the notifier's user reads its topic, not another one
    r = subprocess.run([kcat(), "-b", kafka.bootstrap, *kafka.kcat_args("notifier"),
                        "-C", "-t", "bsocial.posts", "-o", "beginning", "-e", "-q"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "authorization failed" in r.stderr.lower(), r.stderr[-1000:]
    r = subprocess.run([kcat(), "-b", kafka.bootstrap, *kafka.kcat_args("notifier"),
                        "-L", "-t", "bsocial.comments"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "bsocial.comments" in r.stdout, r.stderr[-1000:]

    # the relay's user can (the control: the refusals above are ACLs, not a broken client)
    r = _produce(kafka, "relay", "bsocial.follows", marker)
    assert r.returncode == 0, r.stderr[-1000:]

    # no plaintext way in
    r = subprocess.run([kcat(), "-b", kafka.bootstrap, "-L", "-m", "5"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0, "a plaintext client got metadata from the SASL_SSL listener"
    assert KCAT_ARGS, "kcat reads as the admin over sasl_ssl"
