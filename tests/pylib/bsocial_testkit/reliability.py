"""Helpers of the reliability suite: the whole pipeline in one object, a steady mixed
load through the HTTP API, and the end-to-end audit that prints the fault line.

Everything that already exists is imported, not copied:
  server     ServerProcess, NotifierProcess, RelayProcess
  http, api  Client, User
  kafka      read_all (kcat)
  telemetry  TelemetryProcess, es_request/es_count, run_query,
             SqlTruth (the analytics computed in SQL)
  stack      Stack (Kafka 1|3 brokers, OpenSearch, PostgreSQL)

Standard library only (plus kcat and java on PATH, as the other suites)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import waiting
from .api import User, hexid  # noqa: F401 (User: for the suites)
from .database import db_kind_from_env
from .http import Client
from .kafka import read_all
from .server import NotifierProcess, RelayProcess, ServerProcess
from .stack import bstack
from .telemetry import (EVENTS_INDEX, SearchEndpoint, SqlTruth, TelemetryProcess,
                        engine_choice, engine_under_test, es_count, es_hits,
                        start_search, stop_search)


# --------------------------------------------------------------------------- SQL


class Sql:
    """Read-only queries on the API's database: SQLite file or PostgreSQL URL (psql).
    rows() returns tuples in column order; `?` placeholders take ints or strings."""

    def __init__(self, server: ServerProcess):
        self.sqlite_path = None if server.db_url else server.sqlite_path
        self.pg_url = server.db_url

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        if self.pg_url is None:
            import sqlite3

            con = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                return list(con.execute(sql, args))
            finally:
                con.close()
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, (sql, args)
        text = parts[0]
        for a, rest in zip(args, parts[1:]):
            lit = str(int(a)) if isinstance(a, int) else "'" + str(a).replace("'", "''") + "'"
            text += lit + rest
        wrapped = f"select coalesce(json_agg(row_to_json(t)), '[]') from ({text}) t"
        out = subprocess.run(["psql", self.pg_url, "-X", "-At", "-v", "ON_ERROR_STOP=1",
                              "-c", wrapped], check=True, capture_output=True, text=True,
                             timeout=60).stdout
        result = []
        for obj in json.loads(out):
            result.append(tuple(json.dumps(v) if isinstance(v, (dict, list)) else v
                                for v in obj.values()))
        return result

    def scalar(self, sql: str, args: tuple = ()):
        return self.rows(sql, args)[0][0]


class DbTruth(SqlTruth):
    """telemetry.SqlTruth (q1/q2/q3 computed in SQL) on SQLite or PostgreSQL."""

    def __init__(self, sql: Sql):
        super().__init__(sql.sqlite_path or Path("/nonexistent"))
        self.sql = sql

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.sql.rows(sql, args)


# --------------------------------------------------------------------------- waiting


def wait_until(pred, timeout: float, interval: float = 0.5, what: str = "condition"):
    """waiting.wait_until; any exception of pred (a server restarting) counts as "not yet"."""
    return waiting.wait_until(pred, timeout, interval, what, tolerate=(Exception,))

# --------------------------------------------------------------------------- pipeline


db_kind = db_kind_from_env


class Pipeline:
    """One private deployment: Kafka (1 or 3 brokers) + Elasticsearch or OpenSearch
    (BSOCIAL_TEST_ENGINE) (+ PostgreSQL) from
    stack/bstack.py in a tmp dir, `bsocial serve` (relay inside unless relay_in_serve is
    False), `bsocial notifier` and `bsocial telemetry`. Fresh per test, so topics, the
    index, the consumer groups and the notifications table hold only this test's data."""

    def __init__(self, workdir: Path, brokers: int = 1, relay_in_serve: bool = True,
                 telemetry_env: dict | None = None):
        self.workdir = workdir
        self.kind = db_kind()
        t0 = time.monotonic()
        self.engine = engine_under_test()
        self.stack = bstack.Stack(workdir / "stack")
        ep = self.stack.start(kafka=True, **engine_choice(self.engine),
                              postgres=self.kind == "postgresql", brokers=brokers)
        self.kafka: str = ep["kafka"]
        self.search: SearchEndpoint = start_search(self.stack, self.engine)  # already running
        self.brokers = brokers
        db_url = (self.stack.create_database(f"bsocial_rel_{hexid(4)}")
                  if self.kind == "postgresql" else None)
        env = {"BSOCIAL_KAFKA_BROKERS": self.kafka,
               "BSOCIAL_LOGIN_MAX_FAILURES": "100000",
               "BSOCIAL_LOGIN_WINDOW_SECONDS": "900"}
        if not relay_in_serve:
            env["BSOCIAL_RELAY"] = "false"
        self.api = ServerProcess(workdir=workdir / "api", db_url=db_url, env_overrides=env)
        self.api.start()
        self.notifier = NotifierProcess(self.api, {"BSOCIAL_KAFKA_BROKERS": self.kafka})
        self.notifier.start()
        (workdir / "telemetry").mkdir(exist_ok=True)
        self.telemetry = TelemetryProcess(workdir / "telemetry", self.kafka, self.search,
                                          env=telemetry_env)
        self.telemetry.start()
        self.relays: list[RelayProcess] = []
        self.client = Client(self.api)  # follows the API's port across restarts
        self.sql = Sql(self.api)
        self.startup_seconds = time.monotonic() - t0

    # -- faults ----------------------------------------------------------------
    def stop_search(self) -> None:
        """Stop the search engine (Elasticsearch or OpenSearch); data kept."""
        stop_search(self.stack, self.engine)

    def restart_search(self) -> None:
        again = start_search(self.stack, self.engine)
        assert again == self.search, f"{self.engine} came back as {again}, not {self.search}"

    def kill9_api(self) -> None:
        """SIGKILL `bsocial serve` (and the relay inside it); bookkeeping as stop()."""
        self.api.kill9()

    def restart_api(self) -> None:
        """Same data dir (or database) and JWT secret; `--port 0`, so a new port: the
        Client follows it."""
        self.api.start()

    def start_relay(self, env: dict | None = None, name: str = "relay") -> RelayProcess:
        merged = {"BSOCIAL_KAFKA_BROKERS": self.kafka}
        merged.update(env or {})
        r = RelayProcess(self.api, merged, f"{name}-{len(self.relays)}").start()
        self.relays.append(r)
        return r

    # -- Kafka metadata ----------------------------------------------------------
    def metadata(self) -> dict:
        k = shutil.which("kcat") or shutil.which("kafkacat")
        r = subprocess.run([k, "-L", "-J", "-b", self.kafka, "-m", "5"], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=30)
        assert r.returncode == 0, r.stderr[-1000:]
        return json.loads(r.stdout)

    def leader_of(self, topic: str, partition: int = 0) -> int:
        for t in self.metadata()["topics"]:
            if t["topic"] == topic:
                for p in t["partitions"]:
                    if p["partition"] == partition:
                        return int(p["leader"])
        raise AssertionError(f"no leader for {topic}/{partition}")

    def all_isr_full(self) -> bool:
        for t in self.metadata()["topics"]:
            if not t["topic"].startswith("bsocial."):
                continue
            for p in t["partitions"]:
                if p.get("leader", -1) < 0 or len(p.get("isrs", [])) < self.brokers:
                    return False
        return True

    def consumer_lag(self) -> dict[str, int]:
        """{group: total lag} from Kafka's own kafka-consumer-groups tool (one JVM)."""
        cdir = bstack.fetch("kafka", quiet=True)
        cmd = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1",
               "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", "-cp", bstack._classpath(cdir),
               "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
               "--bootstrap-server", self.kafka, "--describe", "--all-groups"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr[-2000:]
        lag: dict[str, int] = defaultdict(int)
        for line in r.stdout.splitlines():
            cols = line.split()
            if len(cols) >= 6 and cols[1].startswith("bsocial.") and cols[2].isdigit():
                group, lg = cols[0], cols[5]
                lag[group] += int(lg) if lg.isdigit() else 10**9  # "-": nothing committed
        return dict(lag)

    # -- teardown ----------------------------------------------------------------
    def close(self) -> list[str]:
        problems = []
        for r in self.relays:
            r.kill()
        if self.telemetry.running():
            rc = self.telemetry.stop()
            if rc != 0:
                problems.append(f"telemetry exited {rc} after SIGTERM")
        rc = self.notifier.stop()
        if rc != 0:
            problems.append(f"notifier exited {rc} after SIGTERM")
        problems += stop_server(self.api)
        self.stack.stop_all()
        return problems


def stop_server(srv: ServerProcess) -> list[str]:
    """SIGTERM with ServerProcess.stop's checks (exit 0, one stdout line, no secret in
    the log); returns what failed, as text (nothing if it was not running)."""
    if srv.proc is None:
        return []
    try:
        srv.stop()
    except AssertionError as e:
        return [str(e)[:500]]
    return []


# --------------------------------------------------------------------------- load


def start_threads(target, n: int, name: str = "load") -> list[threading.Thread]:
    """n daemon threads running target(), started."""
    threads = [threading.Thread(target=target, name=f"{name}-{k}", daemon=True)
               for k in range(n)]
    for t in threads:
        t.start()
    return threads


@dataclass
class Produced:
    """Writes answered 2xx; each made exactly one outbox event."""
    registered: list = field(default_factory=list)      # user ids
    logins: Counter = field(default_factory=Counter)    # user id -> 2xx logins
    follows: list = field(default_factory=list)         # (follower id, followee id)
    posts: list = field(default_factory=list)           # post ids
    comments: list = field(default_factory=list)        # (comment id, commenter id, author id)

    def total(self) -> int:
        return (len(self.registered) + sum(self.logins.values()) + len(self.follows)
                + len(self.posts) + len(self.comments))

    def by_kind(self) -> dict:
        return {"register": len(self.registered), "login": sum(self.logins.values()),
                "follow": len(self.follows), "post": len(self.posts),
                "comment": len(self.comments)}


class Load:
    """A steady mixed load through the HTTP API: `threads` client threads, operation i
    is due at t0 + i/rate. Mix: comment 40 %, post 25 %, follow 13 %, login 12 %,
    register 10 % (a few core users, all following each other, are made first; their
    registrations, logins and follows count as produced too). Any failure (non-2xx,
    connection refused or reset, a 5xx caught by the Client's checks) is counted by kind
    and the operation is not retried; only 2xx answers count as produced."""

    MIX = (("comment", 40), ("post", 25), ("follow", 13), ("login", 12), ("register", 10))

    def __init__(self, client: Client, n: int, rate: float, threads: int = 4,
                 core_users: int = 6, seed: int = 1):
        self.client = client
        self.n = n
        self.rate = rate
        self.threads = threads
        self.core_users = core_users
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.produced = Produced()
        self.failures: Counter = Counter()
        self.failure_samples: list[str] = []
        self.attempted = 0
        self.next_op = 0
        self.users: list[User] = []            # registered (2xx)
        self.with_token: list[User] = []
        self.token_ids: set = set()
        self.pairs: set = set()                # reserved follow pairs (never sent twice)
        self.followers_of: dict = defaultdict(list)
        self.recent_posts: list = []           # (post id, author User)
        self.by_id: dict = {}
        self.latencies: list = []              # (start offset s, kind, seconds) of 2xx ops
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.t0 = 0.0
        self.t_end = 0.0

    # -- set-up: a connected core ------------------------------------------------
    def setup(self) -> None:
        c = self.client
        core = []
        for _ in range(self.core_users):
            u = c.register()
            self._add_user(u)
            c.login(u)
            self._logged_in(u)
            core.append(u)
        for a in core:
            for b in core:
                if a is not b:
                    r = c.follow(a, b)
                    assert r.status == 204, r
                    self._followed(a, b)
        for u in core:
            p = c.create_post(u, f"first post by {u.username}")
            self._posted(p, u)

    def _add_user(self, u: User) -> None:
        with self.lock:
            self.users.append(u)
            self.by_id[u.id] = u
            self.produced.registered.append(u.id)

    def _logged_in(self, u: User) -> None:
        with self.lock:
            self.produced.logins[u.id] += 1
            if u.id not in self.token_ids:
                self.token_ids.add(u.id)
                self.with_token.append(u)

    def _followed(self, a: User, b: User) -> None:
        with self.lock:
            self.pairs.add((a.id, b.id))
            self.produced.follows.append((a.id, b.id))
            self.followers_of[b.id].append(a)

    def _posted(self, p: dict, u: User) -> None:
        with self.lock:
            self.produced.posts.append(p["id"])
            self.recent_posts.append((p["id"], u))
            del self.recent_posts[:-300]

    # -- the run -------------------------------------------------------------------
    def start(self) -> "Load":
        self.t0 = time.monotonic()
        self._threads = start_threads(self._worker, self.threads)
        return self

    def progress(self) -> int:
        return self.attempted

    def wait_progress(self, fraction: float, timeout: float = 600.0) -> None:
        wait_until(lambda: self.attempted >= int(self.n * fraction) or not self.running(),
                   timeout, interval=0.05, what=f"{fraction:.0%} of the load")

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout: float = 900.0) -> None:
        for t in self._threads:
            t.join(timeout=timeout)
        assert not self.running(), "load threads did not finish"
        self.t_end = time.monotonic()

    def _take(self) -> int | None:
        with self.lock:
            if self.next_op >= self.n or self._stop.is_set():
                return None
            i = self.next_op
            self.next_op += 1
            return i

    def _worker(self) -> None:
        while True:
            i = self._take()
            if i is None:
                return
            pause = self.t0 + i / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self.lock:
                kind = self.rng.choices([k for k, _ in self.MIX], [w for _, w in self.MIX])[0]
            t_op = time.monotonic()
            try:
                getattr(self, f"_op_{kind}")()
                with self.lock:
                    self.latencies.append((t_op - self.t0, kind, time.monotonic() - t_op))
            except Exception as e:  # noqa: BLE001 - counted, never fatal
                key = f"{kind}:{type(e).__name__}"
                with self.lock:
                    self.failures[key] += 1
                    if len(self.failure_samples) < 8:
                        self.failure_samples.append(
                            f"{key}: {str(e)[:300]}" if not isinstance(e, KeyError)
                            else traceback.format_exc()[-500:])
            finally:
                with self.lock:
                    self.attempted += 1

    def latency_summary(self) -> str:
        if not self.latencies:
            return "latency=none"
        d = sorted(x[2] for x in self.latencies)
        slow = [x for x in self.latencies if x[2] > 1.0]
        worst = max(self.latencies, key=lambda x: x[2])
        by_kind = defaultdict(list)
        for _, k, s in self.latencies:
            by_kind[k].append(s)
        kmax = {k: round(max(v), 2) for k, v in by_kind.items()}
        return (f"latency_p50={d[len(d) // 2] * 1000:.0f}ms "
                f"p99={d[int(len(d) * 0.99)] * 1000:.0f}ms max={worst[2]:.1f}s "
                f"({worst[1]} at +{worst[0]:.0f}s) over_1s={len(slow)} max_by_kind={kmax}")

    def _pick_token_user(self) -> User:
        with self.lock:
            return self.rng.choice(self.with_token)

    def _op_register(self) -> None:
        u = self.client.register()
        self._add_user(u)

    def _op_login(self) -> None:
        with self.lock:
            fresh = [u for u in self.users[-20:] if u.id not in self.token_ids]
            u = self.rng.choice(fresh) if fresh and self.rng.random() < 0.7 \
                else self.rng.choice(self.users)
        self.client.login(u)
        self._logged_in(u)

    def _op_follow(self) -> None:
        with self.lock:
            pair = None
            for _ in range(20):
                a = self.rng.choice(self.with_token)
                b = self.rng.choice(self.users)
                if a.id != b.id and (a.id, b.id) not in self.pairs:
                    pair = (a, b)
                    self.pairs.add((a.id, b.id))  # reserved: sent at most once
                    break
        if pair is None:
            return self._op_post()
        r = self.client.follow(*pair)
        assert r.status == 204, r
        self._followed(*pair)

    def _op_post(self) -> None:
        u = self._pick_token_user()
        p = self.client.create_post(u, f"post {hexid(3)} by {u.username}")
        self._posted(p, u)

    def _op_comment(self) -> None:
        with self.lock:
            post_id, author = self.rng.choice(self.recent_posts[-100:])
            candidates = [f for f in self.followers_of[author.id] if f.id in self.token_ids]
            own = author.id in self.token_ids and (not candidates or self.rng.random() < 0.1)
            if not candidates and not own:
                who = None
            else:
                who = author if own else self.rng.choice(candidates)
        if who is None:
            return self._op_post()
        cm = self.client.create_comment(who, post_id, f"comment {hexid(3)}")
        with self.lock:
            self.produced.comments.append((cm["id"], who.id, author.id))


# --------------------------------------------------------------------------- audit


ES_FIELDS = ["event_id", "type", "user_id", "post_id", "comment_id", "follower_id",
             "followee_id"]


def es_docs(base: SearchEndpoint) -> list[dict]:
    """Every document of the events index (ES_FIELDS and `_id`)."""
    return [{**h["_source"], "_id": h["_id"]}
            for h in es_hits(base, EVENTS_INDEX, ES_FIELDS, timeout=60)]


def outbox_unsent(p: Pipeline) -> int:
    return int(p.sql.scalar("select count(*) from outbox where sent_at is null"))


def outbox_count(p: Pipeline) -> int:
    return int(p.sql.scalar("select count(*) from outbox"))


def comments_by_others(p: Pipeline) -> int:
    return int(p.sql.scalar(
        "select count(*) from comments c join posts p on p.id = c.post_id "
        "where c.user_id <> p.user_id"))


def notification_count(p: Pipeline) -> int:
    return int(p.sql.scalar("select count(*) from notifications"))


def wait_recovered(p: Pipeline, timeout: float = 300.0) -> float:
    """Bounded wait until the outbox is drained, the index holds as many documents as
    the outbox has rows and every comment by another user has its notification.
    Returns the seconds it took (the audit reports whatever state it ends in)."""
    t0 = time.monotonic()
    state = {}

    def done():
        state["unsent"] = outbox_unsent(p)
        state["rows"] = outbox_count(p)
        state["es"] = es_count(p.search)
        state["expected_notifications"] = comments_by_others(p)
        state["notifications"] = notification_count(p)
        return (state["unsent"] == 0 and state["es"] >= state["rows"]
                and state["notifications"] >= state["expected_notifications"])

    try:
        wait_until(done, timeout, interval=1.0, what="recovery")
    except AssertionError as e:
        print(f"\nNOT RECOVERED after {timeout:.0f}s: {state} ({e})")
    return time.monotonic() - t0


@dataclass
class Audit:
    name: str
    line: str
    details: str
    produced: int
    in_sql: int
    in_kafka: int
    kafka_messages: int
    in_es: int
    es_docs: int
    lost: int
    lost_notifications: int
    duplicated: int
    problems: list


def audit(p: Pipeline, load: Load, name: str, extra: str = "") -> Audit:
    """Compares what the API acknowledged (load.produced) with SQL, Kafka (kcat), the
    index and the notifications table; prints the fault line and a details line."""
    prod = load.produced
    problems: list[str] = []

    # SQL: the outbox and the notification truth
    outbox = p.sql.rows("select event_id, event_type, sent_at from outbox")
    sql_ids = {r[0] for r in outbox}
    if len(sql_ids) != len(outbox):
        problems.append(f"outbox holds {len(outbox) - len(sql_ids)} repeated event ids")
    unsent = sum(1 for r in outbox if r[2] is None)
    if unsent:
        problems.append(f"{unsent} outbox rows never marked sent")

    # Kafka: distinct event ids (header event_id) over every bsocial.* topic
    msgs = read_all(p.kafka)
    kafka_counts = Counter(m.event_id for m in msgs)
    in_kafka = len(set(kafka_counts) & sql_ids)
    if sql_ids - set(kafka_counts):
        problems.append(f"{len(sql_ids - set(kafka_counts))} outbox events not in Kafka")
    foreign = set(kafka_counts) - sql_ids
    if foreign:
        problems.append(f"{len(foreign)} event ids in Kafka that are not outbox rows")
    kafka_dups = sum(c - 1 for c in kafka_counts.values())

    # the search engine: documents, distinct ids, and each one's entity
    docs = es_docs(p.search)
    es_ids = Counter(d["_id"] for d in docs)
    dup_docs = sum(c - 1 for c in es_ids.values())
    bad_id = [d for d in docs if d["_id"] != d.get("event_id")]
    if bad_id:
        problems.append(f"{len(bad_id)} documents whose _id is not their event_id")
    in_es = len(set(es_ids) & sql_ids)
    missing_in_es = sql_ids - set(es_ids)
    if missing_in_es:
        problems.append(f"{len(missing_in_es)} outbox events not in the index")
    if set(es_ids) - sql_ids:
        problems.append(f"{len(set(es_ids) - sql_ids)} documents that are not outbox rows")

    by_type: dict[str, Counter] = defaultdict(Counter)
    for d in docs:
        t = d.get("type")
        if t == "user.registered":
            by_type[t][d["user_id"]] += 1
        elif t == "user.logged_in":
            by_type[t][d["user_id"]] += 1
        elif t == "post.created":
            by_type[t][d["post_id"]] += 1
        elif t == "comment.created":
            by_type[t][d["comment_id"]] += 1
        elif t == "follow.created":
            by_type[t][(d["follower_id"], d["followee_id"])] += 1
    # one entity, several events = the API wrote two outbox rows for one change
    entity_dups = sum(c - 1 for t, cnt in by_type.items() if t != "user.logged_in"
                      for c in cnt.values())

    # produced (2xx) writes missing from the index, matched by entity
    lost_parts = Counter()
    for uid in prod.registered:
        lost_parts["register"] += by_type["user.registered"][uid] == 0
    for uid, n in prod.logins.items():
        lost_parts["login"] += max(0, n - by_type["user.logged_in"][uid])
    for pair in prod.follows:
        lost_parts["follow"] += by_type["follow.created"][pair] == 0
    for pid in prod.posts:
        lost_parts["post"] += by_type["post.created"][pid] == 0
    for cid, _, _ in prod.comments:
        lost_parts["comment"] += by_type["comment.created"][cid] == 0
    lost = sum(lost_parts.values())

    # notifications: exactly one per comment by someone else, to the post's author
    truth = p.sql.rows("select c.id as cid, c.user_id as commenter, p.user_id as author "
                       "from comments c join posts p on p.id = c.post_id")
    notes = p.sql.rows("select comment_id, user_id from notifications")
    note_count = Counter(str(n[0]) for n in notes)
    note_user = {str(n[0]): str(n[1]) for n in notes}
    expected = {str(c): str(a) for c, u, a in truth if u != a}
    own = {str(c) for c, u, a in truth if u == a}
    extra_notes = (sum(c - 1 for c in note_count.values())
                   + sum(1 for cid in note_count if cid not in expected))
    missing_notes = sum(1 for cid in expected if cid not in note_count)
    wrong_user = sum(1 for cid, a in expected.items() if cid in note_user and note_user[cid] != a)
    prod_comment_ids = {cid for cid, _, _ in prod.comments}
    sql_comment_ids = {str(r[0]) for r in truth}
    if prod_comment_ids - sql_comment_ids:
        problems.append(f"{len(prod_comment_ids - sql_comment_ids)} comments answered 201 "
                        f"are not in SQL")
    lost_notes = sum(1 for cid, u, a in prod.comments if u != a and cid not in note_count)
    if missing_notes:
        problems.append(f"{missing_notes} comments by others without a notification")
    if wrong_user:
        problems.append(f"{wrong_user} notifications for the wrong user")
    if own & set(note_count):
        problems.append(f"{len(own & set(note_count))} notifications for own comments")

    duplicated = dup_docs + entity_dups + extra_notes
    n_prod = prod.total()
    line = (f"fault={name} produced={n_prod} in_sql={len(outbox)} in_kafka>={in_kafka} "
            f"in_es={in_es} lost={lost} duplicated={duplicated}")
    if n_prod > len(outbox):
        problems.append(f"more writes answered 2xx ({n_prod}) than outbox rows ({len(outbox)})")
    elapsed = (load.t_end or time.monotonic()) - load.t0
    details = (f"  details: N={load.n} attempted={load.attempted} rate={load.rate:g}/s "
               f"threads={load.threads} db={p.kind} brokers={p.brokers} "
               f"load_seconds={elapsed:.0f} produced_by_kind={prod.by_kind()} "
               f"failed={sum(load.failures.values())} {dict(load.failures)} "
               f"{load.latency_summary()} "
               f"kafka_messages={len(msgs)} kafka_duplicates={kafka_dups} "
               f"es_docs={len(docs)} es_extra_docs={dup_docs} entity_duplicates={entity_dups} "
               f"lost_by_kind={dict(+lost_parts)} notifications={len(notes)} "
               f"expected_notifications={len(expected)} missing_notifications={missing_notes} "
               f"lost_notifications_of_2xx_comments={lost_notes} "
               f"extra_notifications={extra_notes} {extra}")
    print("\n" + line)
    print(details)
    if load.failure_samples:
        print("  failure samples: " + " | ".join(load.failure_samples[:4]))
    for pr in problems:
        print(f"  PROBLEM: {pr}")
    return Audit(name=name, line=line, details=details, produced=n_prod, in_sql=len(outbox),
                 in_kafka=in_kafka, kafka_messages=len(msgs), in_es=in_es,
                 es_docs=len(docs), lost=lost, lost_notifications=lost_notes, duplicated=duplicated,
                 problems=problems)


def lag_zero(p: Pipeline, timeout: float = 90.0) -> dict:
    """Bounded wait until both consumer groups have committed up to the end."""
    last = {}

    def zero():
        nonlocal last
        last = p.consumer_lag()
        groups = {"bsocial-telemetry", "bsocial-notifier"}
        return groups <= set(last) and all(last[g] == 0 for g in groups)

    try:
        wait_until(zero, timeout, interval=2.0, what="consumer lag 0")
    except AssertionError:
        pass
    return last


def append_result(line: str) -> None:
    """Also collect the fault lines in <tmp>/bsocial-reliability-results.txt."""
    path = Path(os.environ.get("BSOCIAL_RELIABILITY_RESULTS",
                               "/tmp/bsocial-reliability-results.txt"))
    with open(path, "a") as f:
        f.write(line + "\n")


def scaled(n: int) -> int:
    return max(200, int(n * float(os.environ.get("BSOCIAL_RELIABILITY_SCALE", "1"))))


def assert_pass(a: Audit) -> None:
    """The common pass criteria: every outbox row in Kafka and exactly once in the index,
    every 2xx write indexed, one notification per comment by someone else, nothing twice
    downstream."""
    append_result(a.line)
    assert a.lost == 0, f"{a.lost} events answered 2xx are missing from the index\n{a.details}"
    assert a.lost_notifications == 0, f"notifications lost\n{a.details}"
    assert a.duplicated == 0, f"{a.duplicated} duplicates downstream\n{a.details}"
    assert a.in_es == a.in_sql == a.es_docs, f"index != outbox\n{a.details}"
    assert a.in_kafka == a.in_sql, f"Kafka misses outbox events\n{a.details}"
    assert a.produced <= a.in_sql
    assert not a.problems, a.problems
