"""Kafka for the tests: the session's stack (KafkaStack), topics read with kcat, the
relay's fault line, /metrics values. Standard library only (plus kcat on PATH); the relay
process is server.RelayProcess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

from pathlib import Path

from .api import hexid
from .database import db_kind_from_env

TOPIC_OF = {
    "user.registered": "bsocial.users",
    "user.logged_in": "bsocial.users",
    "user.logged_out": "bsocial.users",
    "post.created": "bsocial.posts",
    "comment.created": "bsocial.comments",
    "post.deleted": "bsocial.posts",
    "comment.deleted": "bsocial.comments",
    "follow.created": "bsocial.follows",
    "follow.deleted": "bsocial.follows",
}
TOPICS = ("bsocial.users", "bsocial.posts", "bsocial.comments", "bsocial.follows")

# -X settings every kcat call of this module adds (KafkaStack sets the admin's for a
# sasl_ssl broker).
KCAT_ARGS: list[str] = []


def kcat() -> str:
    k = shutil.which("kcat") or shutil.which("kafkacat")
    assert k, "kcat is not installed (apt-get install kcat)"
    return k


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: str | None
    payload: str | None
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        vals = [v for k, v in self.headers if k == name]
        assert len(vals) <= 1, f"header {name} twice: {self.headers}"
        return vals[0] if vals else None

    @property
    def event_id(self) -> str | None:
        return self.header("event_id")


def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> list[Msg]:
    """Every message of every partition, from the beginning to the current end."""
    r = subprocess.run([kcat(), "-b", bootstrap, *KCAT_ARGS, "-C", "-t", topic, "-o", "beginning",
                        "-e", "-J", "-q"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"kcat failed on {topic}: {r.stderr[-2000:]}"
    out = []
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        flat = m.get("headers") or []
        assert len(flat) % 2 == 0, m
        out.append(Msg(topic=m["topic"], partition=m["partition"], offset=m["offset"],
                       key=m.get("key"), payload=m.get("payload"),
                       headers=list(zip(flat[0::2], flat[1::2]))))
    return out


def read_all(bootstrap: str) -> list[Msg]:
    msgs: list[Msg] = []
    for t in TOPICS:
        msgs.extend(read_topic(bootstrap, t))
    return msgs


def wait_for_events(bootstrap: str, topic: str, event_ids: set[str],
                    timeout: float = 60.0) -> list[Msg]:
    """Polls the topic until every id in event_ids is there (bounded); returns the
    messages carrying one of those ids."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = [m for m in read_topic(bootstrap, topic) if m.event_id in event_ids]
        if {m.event_id for m in msgs} >= event_ids or time.monotonic() > deadline:
            return msgs
        time.sleep(0.3)



def unsent(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["sent_at"] is None]


def fault_line(name: str, produced: int, in_sql: int, found: list[Msg],
               expected_ids: set[str]) -> tuple[str, int, int]:
    counts = Counter(m.event_id for m in found if m.event_id in expected_ids)
    in_kafka = len(counts)
    lost = len(expected_ids - set(counts))
    duplicated = sum(c - 1 for c in counts.values())
    line = (f"fault={name} produced={produced} in_sql={in_sql} in_kafka={in_kafka} "
            f"lost={lost} duplicated={duplicated}")
    return line, lost, duplicated


# --------------------------------------------------------------------------- stack


def security_from_env() -> str:
    """BSOCIAL_TEST_KAFKA_SECURITY: plaintext (default) or sasl_ssl; ValueError otherwise."""
    security = os.environ.get("BSOCIAL_TEST_KAFKA_SECURITY", "plaintext").strip().lower()
    if security not in KafkaStack.SECURITIES:
        raise ValueError("BSOCIAL_TEST_KAFKA_SECURITY must be plaintext or sasl_ssl, "
                         f"not {security!r}")
    return security


class KafkaStack:
    """A session's stack (stack/bstack.py in a tmp dir): Kafka (1 broker) always, PostgreSQL
    when BSOCIAL_TEST_DB asks for it. A backend of the pytest plugin: new_database().

    BSOCIAL_TEST_KAFKA_SECURITY=plaintext (default) | sasl_ssl: with sasl_ssl the broker has
    a SASL_SSL listener only, one user per bSocial process and topic ACLs, and OpenSearch
    starts too (telemetry over SASL_SSL); client_env(role) is what a process connecting as
    `role` needs, kcat (read_topic ...) reads as the admin (KCAT_ARGS)."""

    SECURITIES = ("plaintext", "sasl_ssl")

    def __init__(self, workdir: Path):
        from .stack import Stack

        self.db_kind = db_kind_from_env()
        self.kind = self.db_kind
        self.security = security_from_env()
        self.stack = Stack(workdir)
        if self.security == "sasl_ssl":
            # OpenSearch alongside (in parallel), for telemetry over SASL_SSL.
            self.stack.start(kafka=True, opensearch=True, postgres=self.db_kind == "postgresql",
                             kafka_security="sasl_ssl")
            self.bootstrap = self.stack.kafka.endpoint()
        else:
            self.bootstrap = self.stack.start_kafka(brokers=1)
            if self.db_kind == "postgresql":
                self.stack.start_postgres()
        # kcat (read_topic, read_all, wait_for_events) reads as the admin
        KCAT_ARGS[:] = self.stack.kafka.kcat_args("admin")

    def client_env(self, role: str) -> dict[str, str]:
        """BSOCIAL_KAFKA_* security variables of a process connecting as `role` (relay,
        notifier, telemetry); empty for plaintext."""
        return self.stack.kafka.client_env(role)

    def kcat_args(self, role: str = "admin") -> list[str]:
        """kcat -X settings to connect as `role` (none for plaintext)."""
        return self.stack.kafka.kcat_args(role)

    def passwords(self) -> set[str]:
        """Every SASL password of the stack (none may appear in a log); empty for plaintext."""
        c = self.stack.kafka.credentials()
        return {v["password"] for v in c.values() if isinstance(v, dict) and "password" in v}

    def stop_kafka(self) -> None:
        self.stack.stop_kafka()

    def start_kafka(self) -> str:
        """Start again (same data, same ports, same security); returns the bootstrap string."""
        again = self.stack.start_kafka(brokers=1, security=self.security)
        assert again == self.bootstrap, f"Kafka came back on {again}, not {self.bootstrap}"
        return again

    def kafka_running(self) -> bool:
        return bool(self.stack.kafka_running())

    def new_database(self) -> str | None:
        if self.db_kind == "sqlite":
            return None
        return self.stack.create_database(f"bsocial_kt_{hexid(6)}")

    def close(self) -> None:
        self.stack.stop_all()


# --------------------------------------------------------------------------- metrics


def metric_value(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})?\s+(\S+)\s*$", text, re.M)
    assert m, f"metric {name} missing from /metrics"
    return float(m.group(1))
