"""Faults under load (issue 22, item 4): the deployment a team runs (PostgreSQL, two
`serve` with relays, notifier, telemetry, Kafka, Elasticsearch) under >= 100 writes/s
plus feed reads through both API instances; one fault per test. Each prints

  fault=<name> acked=N in_db=N in_kafka>=N in_es=N notified=N lost=0 duplicated=0 unavailable_s=X

and asserts lost=0, duplicated=0 and that every failed request got a clear answer
(faults_support.run_fault). The PostgreSQL faults come last: a server that never
reconnects leaves the API broken, and a broken deployment is restarted before the next
test anyway (conftest.dep)."""

from __future__ import annotations

import time

import faults_support as fs


def test_serve_kill9(dep):
    """SIGKILL of the second API instance (its relay with it), started again after 2 s
    on the same database (a new port: the load follows). The other instance keeps
    answering; the killed one refuses or drops connections meanwhile."""
    def fault(load):
        dep.apis[1].kill9()
        t = time.monotonic()
        time.sleep(2.0)
        dep.apis[1].start()
        return {"serve_down_s": round(time.monotonic() - t, 1), "back_at": time.monotonic()}
    fs.run_fault(dep, "serve_kill9", fault, killed={1})


def test_notifier_kill9(dep):
    """SIGKILL of the notifier (no chance to commit offsets or finish a batch), started
    again after 2 s: every comment by someone else still gets exactly one notification."""
    def fault(load):
        dep.notifier.kill()
        t = time.monotonic()
        time.sleep(2.0)
        dep.notifier.start()
        return {"notifier_down_s": round(time.monotonic() - t, 1)}
    fs.run_fault(dep, "notifier_kill9", fault)


def test_kafka_down(dep):
    """Kafka stopped for BSOCIAL_FAULTS_OUTAGE_S (30 s), then started on the same port and
    data: writes keep succeeding (the outbox holds their events), the relays drain it."""
    def fault(load):
        dep.stop_kafka()
        t = time.monotonic()
        time.sleep(fs.OUTAGE_S)
        backlog = fs.rs.outbox_unsent(dep)
        dep.start_kafka()
        return {"kafka_down_s": round(time.monotonic() - t, 1), "outbox_backlog": backlog}
    fs.run_fault(dep, "kafka_down", fault)


def test_elasticsearch_down(dep):
    """The search engine stopped for BSOCIAL_FAULTS_OUTAGE_S (30 s), then started on the
    same port and data: telemetry waits and indexes the backlog, nothing twice."""
    def fault(load):
        dep.stop_search()
        t = time.monotonic()
        time.sleep(fs.OUTAGE_S)
        assert dep.telemetry.running(), "telemetry must survive a search engine outage"
        dep.start_search()
        return {"es_down_s": round(time.monotonic() - t, 1)}
    fs.run_fault(dep, "es_down", fault)


def test_pg_restart(dep):
    """PostgreSQL fast restart (`pg_ctl stop -m fast`, start on the same port and data):
    requests fail with 503 while it is away, then both instances, their relays and the
    notifier serve again without a restart of theirs."""
    def fault(load):
        t = time.monotonic()
        dep.pg_restart()
        return {"pg_down_s": round(time.monotonic() - t, 1), "back_at": time.monotonic()}
    fs.run_fault(dep, "pg_restart", fault)


def test_pg_kill9(dep):
    """SIGKILL of the postmaster (its backends exit), then start: crash recovery on the
    same port and data; as pg_restart afterwards."""
    def fault(load):
        t = time.monotonic()
        dep.pg_kill9()
        return {"pg_down_s": round(time.monotonic() - t, 1), "back_at": time.monotonic()}
    fs.run_fault(dep, "pg_kill9", fault)
