"""Helpers for the telemetry suite: the search engine (Elasticsearch 8 over https with a
password, or OpenSearch over plain HTTP: BSOCIAL_TEST_ENGINE), the `bsocial telemetry`
process, `bsocial query`, crafted envelopes produced with kcat, and the same analytics
computed from the API's SQLite file. Standard library only (plus kcat on PATH)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import waiting
from .paths import REPO, binary_path
from .process import BsocialProcess, clean_env

READY_PREFIX = "bsocial telemetry consuming "
EVENTS_INDEX = "bsocial-events"
DEAD_LETTER_INDEX = "bsocial-events-deadletter"
# The administrator of the telemetry suite's servers (BSOCIAL_ADMINS): sees /api/v1/analytics/*.
ADMIN = "analyst"


# --------------------------------------------------------------------------- search engine

ENGINES = ("elasticsearch", "opensearch")


def engine_under_test() -> str:
    """The engine the suites run against: BSOCIAL_TEST_ENGINE, default elasticsearch."""
    engine = os.environ.get("BSOCIAL_TEST_ENGINE", "elasticsearch")
    if engine not in ENGINES:
        raise ValueError(f"BSOCIAL_TEST_ENGINE must be one of {ENGINES}, not {engine!r}")
    return engine


@dataclass(frozen=True)
class SearchEndpoint:
    """Where the engine answers and how to log in: Elasticsearch is https with user
    `elastic`, a password and the stack's CA; OpenSearch plain HTTP without them."""
    engine: str
    url: str
    user: str = ""
    password: str = ""
    ca_file: str = ""

    def env(self) -> dict[str, str]:
        """The BSOCIAL_ELASTICSEARCH_* variables of `bsocial telemetry` and `bsocial query`."""
        env = {"BSOCIAL_ELASTICSEARCH_URL": self.url}
        for key, value in (("USER", self.user), ("PASSWORD", self.password),
                           ("CA_FILE", self.ca_file)):
            if value:
                env[f"BSOCIAL_ELASTICSEARCH_{key}"] = value
        return env

    def open(self, req: urllib.request.Request, timeout: float):
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        return urllib.request.urlopen(req, timeout=timeout, context=ctx)


def engine_choice(engine: str) -> dict[str, bool]:
    """Stack.start() keywords that start `engine` and not the other one."""
    return {name: name == engine for name in ENGINES}


def search_endpoint(stack, engine: str) -> SearchEndpoint:
    """The endpoint of the engine running in `stack` (a bstack.Stack)."""
    if engine == "elasticsearch":
        return SearchEndpoint(engine, stack.elasticsearch.endpoint(),
                              **stack.elasticsearch.credentials())
    return SearchEndpoint(engine, stack.opensearch.endpoint())


def start_search(stack, engine: str) -> SearchEndpoint:
    """Start `engine` in `stack` (again: same port, data, CA and password)."""
    getattr(stack, f"start_{engine}")()
    return search_endpoint(stack, engine)


def stop_search(stack, engine: str) -> None:
    getattr(stack, f"stop_{engine}")()


def es_request(base: SearchEndpoint, method: str, path: str, body=None, timeout: float = 30.0):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base.url + path, data=data, method=method, headers=headers)
    try:
        with base.open(req, timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"null")
        except ValueError:  # not from the engine (a proxy's page): the text
            return e.code, raw.decode("utf-8", "replace")


def es_count(base: SearchEndpoint, index: str = EVENTS_INDEX, query: dict | None = None) -> int:
    st, body = es_request(base, "POST", f"/{index}/_count", {"query": query or {"match_all": {}}})
    assert st == 200, body
    return int(body["count"])


def es_hits(base: SearchEndpoint, index: str = EVENTS_INDEX, source=False,
            timeout: float = 30.0) -> list[dict]:
    """Every hit of the index, `_source` limited to `source` (False: none, or a field list);
    search_after on the event id, fine for test sizes."""
    out: list[dict] = []
    after = None
    while True:
        q = {"size": 5000, "_source": source, "sort": [{"event_id": "asc"}],
             "query": {"match_all": {}}}
        if after:
            q["search_after"] = after
        st, body = es_request(base, "POST", f"/{index}/_search", q, timeout=timeout)
        assert st == 200, body
        hits = body["hits"]["hits"]
        if not hits:
            return out
        out.extend(hits)
        after = hits[-1]["sort"]


def es_ids(base: SearchEndpoint, index: str = EVENTS_INDEX) -> list[str]:
    """Every _id of the index."""
    return [h["_id"] for h in es_hits(base, index)]


def es_search(base: SearchEndpoint, index: str, query: dict) -> dict:
    st, body = es_request(base, "POST", f"/{index}/_search", query)
    assert st == 200, body
    return body


def wait_until(pred, timeout: float, interval: float = 0.3, what: str = "condition"):
    """waiting.wait_until, riding out search engine restarts."""
    return waiting.wait_until(pred, timeout, interval, what,
                              tolerate=(OSError, urllib.error.URLError))

# --------------------------------------------------------------------------- processes


class TelemetryProcess(BsocialProcess):
    """`bsocial telemetry` with the given Kafka and search engine; stdout's first line must
    be the ready line, naming the engine's URL."""

    stop_timeout = 30.0

    def __init__(self, workdir: Path, kafka: str, search: SearchEndpoint, env: dict | None = None,
                 name: str = "telemetry"):
        super().__init__("telemetry", workdir=workdir, env=env, name=name,
                         ready=re.compile("^" + re.escape(READY_PREFIX)))
        self.kafka = kafka
        self.search = search

    def env(self) -> dict:
        return clean_env({
            "BSOCIAL_KAFKA_BROKERS": self.kafka,
            **self.search.env(),
            "BSOCIAL_ELASTICSEARCH_REPLICAS": "0",
            "BSOCIAL_TELEMETRY_BATCH_WAIT_MS": "200",
            "BSOCIAL_TELEMETRY_MAX_BACKOFF_MS": "2000",
            # No start-up warm-up of the engine (thousands of throwaway documents, a few CPU
            # seconds on this shared machine at every start): the tests do not time the lag.
            # test_startup.py tests it; the benches pass None (the binary's default).
            "BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS": "0",
            **self.env_overrides,
        })

    def start(self) -> "TelemetryProcess":
        super().start()
        assert self.search.url in self.stdout_lines[0], self.stdout_lines
        return self

    def stop(self, timeout: float | None = None) -> int | None:
        rc = super().stop(timeout)
        self.proc = None
        return rc

    def kill(self) -> None:
        super().kill()
        self.proc = None

    def stderr_text(self) -> str:
        """The logs of every start."""
        return self.all_stderr_text()


def query_process(search: SearchEndpoint, *args: str, env: dict | None = None):
    """`bsocial query ARGS` from the repository root (so ./queries is found): the
    CompletedProcess, whatever its exit code."""
    full_env = clean_env({**search.env(), **(env or {})})
    cmd = [str(binary_path()), "query", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=REPO, timeout=60)


def db_url_of(server) -> str:
    """The database of a ServerProcess, as `bsocial query --db` takes it."""
    return server.db_url or f"sqlite:{server.sqlite_path}"


def run_query(search: SearchEndpoint, *args: str, as_json: bool = True,
              db: str | None = None) -> dict | str:
    """`bsocial query ARGS [--json]`, which must succeed; the parsed JSON or the table.
    `db`: the API's database (BSOCIAL_DB), where q2/q3 read the posts' details."""
    r = query_process(search, *args, *(["--json"] if as_json else []),
                      env={"BSOCIAL_DB": db} if db else None)
    assert r.returncode == 0, f"{r.args} failed ({r.returncode}): {r.stderr}"
    return json.loads(r.stdout) if as_json else r.stdout


# --------------------------------------------------------------------------- result shapes


# The rows of `bsocial query --json` (= the API's /api/v1/analytics/* bodies; shapes in
# src/bsocial/telemetry/analytics.hpp and docs/openapi.yaml).


def q1_result(rows: dict) -> dict[str, int]:
    """{day: distinct users}."""
    return {d["day"]: d["logged_in_users"] for d in rows["days"]}


def q2_result(rows: dict) -> dict[str, list[tuple[str, int]]]:
    """{day: [(post_id, comments that day), ...]} in rank order."""
    return {d["day"]: [(p["post_id"], p["comments"]) for p in d["posts"]] for d in rows["days"]}


def q3_result(rows: dict) -> dict[str, tuple[str, int] | None]:
    """{"top_post"|"worst_post": (post_id, comments) or None} (the "best"/"worst" rows; a
    post whose creation event is not indexed is never an answer)."""
    return {key: (rows[which]["post_id"], rows[which]["comments"]) if rows[which] else None
            for key, which in (("top_post", "best"), ("worst_post", "worst"))}


# --------------------------------------------------------------------------- crafted events


def kcat_produce(bootstrap: str, topic: str, key: str, payloads: list[bytes]) -> None:
    """Each payload as one message (kcat -D with a delimiter no payload contains)."""
    k = shutil.which("kcat") or shutil.which("kafkacat")
    assert k, "kcat is not installed"
    delim = b"\x1e\x1d\x1e"
    data = delim.join(payloads)
    r = subprocess.run([k, "-P", "-b", bootstrap, "-t", topic, "-k", key, "-D", delim.decode()],
                       input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def ms_to_rfc3339(ms: int) -> str:
    d = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_ms(s: str) -> int:
    d = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return int(round(d.timestamp() * 1000))


def envelope(type_: str, at: str, data: dict) -> dict:
    return {"id": str(uuid.uuid4()), "type": type_, "version": 1, "occurred_at": at, "data": data}


def crafted_login(user_id: int, at: str) -> dict:
    return envelope("user.logged_in", at, {"user_id": str(user_id), "username": f"c{user_id}",
                                           "email": f"c{user_id}@example.com", "logged_in_at": at})


def crafted_registration(user_id: int, at: str) -> dict:
    return envelope("user.registered", at, {
        "user_id": str(user_id), "username": f"c{user_id}", "email": f"c{user_id}@example.com",
        "first_name": "C", "last_name": "R", "registered_at": at})


def crafted_comment(comment_id: int, post_id: int, at: str, author: int = 990000) -> dict:
    return envelope("comment.created", at, {
        "comment_id": str(comment_id), "post_id": str(post_id), "post_author_id": str(author),
        "user_id": "990001", "username": "c990001", "email": "c990001@example.com",
        "content": "crafted", "created_at": at})


# --------------------------------------------------------------------------- SQL side


class SqlTruth:
    """The same analytics computed from the API's SQLite file (read-only)."""

    def __init__(self, path: Path):
        self.path = path

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def outbox_event_ids(self) -> list[str]:
        return [r[0] for r in self.rows("select event_id from outbox order by id")]

    @staticmethod
    def day(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")

    def logged_in_users_per_day(self) -> dict[str, int]:
        """Q1 in UTC: logins exist only as outbox rows."""
        users = defaultdict(set)
        for payload, created_at in self.rows(
                "select payload, created_at from outbox where event_type = 'user.logged_in'"):
            users[self.day(created_at)].add(json.loads(payload)["data"]["user_id"])
        return {d: len(u) for d, u in users.items()}

    def top_posts_per_day(self, n: int = 10) -> dict[str, list[tuple[str, int]]]:
        """Q2 in UTC: comments per post per day; ties -> lower post id first."""
        counts = defaultdict(lambda: defaultdict(int))
        for post_id, created_at in self.rows("select post_id, created_at from comments"):
            counts[self.day(created_at)][post_id] += 1
        return {d: [(str(p), c) for p, c in sorted(per.items(), key=lambda x: (-x[1], x[0]))[:n]]
                for d, per in counts.items()}

    def top_and_worst(self, user_id: str) -> dict[str, tuple[str, int] | None]:
        """Q3: (post id, comments); best: ties -> older post, then lower id; worst: ties ->
        newer post, then higher id (two different posts whenever there are two)."""
        posts = self.rows("select id, created_at, comment_count from posts where user_id = ?",
                          (int(user_id),))
        if not posts:
            return {"top_post": None, "worst_post": None}
        # comment_count is kept by the API; count the comments table too and insist they agree
        real = dict(self.rows("select post_id, count(*) from comments c join posts p "
                              "on p.id = c.post_id where p.user_id = ? group by post_id",
                              (int(user_id),)))
        for pid, _, cc in posts:
            assert real.get(pid, 0) == cc, f"posts.comment_count disagrees for post {pid}"
        top = min(posts, key=lambda p: (-p[2], p[1], p[0]))
        worst = min(posts, key=lambda p: (p[2], -p[1], -p[0]))
        return {"top_post": (str(top[0]), top[2]), "worst_post": (str(worst[0]), worst[2])}
