"""Helpers for the Kafka end-to-end tests: read topics with kcat, relay processes,
outbox peeks. Standard library only (plus kcat on PATH)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass

from bsocial_support import ServerProcess, binary_path, wait_until  # noqa: F401 (re-exported)

TOPIC_OF = {
    "user.registered": "bsocial.users",
    "user.logged_in": "bsocial.users",
    "user.logged_out": "bsocial.users",
    "post.created": "bsocial.posts",
    "comment.created": "bsocial.comments",
    "follow.created": "bsocial.follows",
    "follow.deleted": "bsocial.follows",
}
TOPICS = ("bsocial.users", "bsocial.posts", "bsocial.comments", "bsocial.follows")

# -X settings every kcat call adds (conftest sets the admin's for a sasl_ssl broker).
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


# --------------------------------------------------------------------------- relay process


class RelayProcess:
    """`bsocial relay --data-dir D [--db URL]` for the data of a ServerProcess."""

    def __init__(self, server: ServerProcess, env: dict, name: str):
        self.server = server
        self.env_overrides = env
        self.stderr_path = server.workdir / f"relay-{name}.stderr.log"
        self.stdout_lines: list[str] = []
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
        env["BSOCIAL_JWT_SECRET"] = self.server.jwt_secret
        env.update({k: str(v) for k, v in self.env_overrides.items()})
        return env

    def start(self) -> "RelayProcess":
        args = [str(binary_path()), "relay", "--data-dir", str(self.server.data_dir)]
        if self.server.db_url:
            args += ["--db", self.server.db_url]
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env(),
                                     cwd=self.server.workdir)
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for raw in iter(self.proc.stdout.readline, b""):
            self.stdout_lines.append(raw.decode("utf-8", "replace"))

    def wait(self, timeout: float) -> int:
        assert self.proc
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is not None:
                self._err.close()

    def terminate(self, timeout: float = 10.0) -> int | None:
        assert self.proc
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._err.close()
        return rc

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self.stderr_text().splitlines()[-n:])


# --------------------------------------------------------------------------- metrics


def metric_value(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})?\s+(\S+)\s*$", text, re.M)
    assert m, f"metric {name} missing from /metrics"
    return float(m.group(1))
