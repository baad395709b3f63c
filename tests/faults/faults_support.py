"""Helpers of the faults suite (`make test-faults`): the deployment a team runs, one
steady load through both API instances, the faults, and the audit that prints one line
per fault.

Deployment (one per session, tests/faults/conftest.py): PostgreSQL, Kafka (1 broker) and
Elasticsearch (or OpenSearch: BSOCIAL_TEST_ENGINE) from stack/bstack.py; two `bsocial
serve` on the same database with their outbox relays on; `bsocial notifier`; `bsocial
telemetry`.

Imported from the test kit (tests/pylib/bsocial_testkit), not copied:
  server       ServerProcess (kill9), NotifierProcess
  http, api    Client, User, check_error_shape
  kafka        read_all (kcat, every message with its headers)
  telemetry    TelemetryProcess, start_search/stop_search
  reliability  Sql (psql), es_docs, wait_recovered, wait_until
  stack        bstack (Stack, pid_alive)

Standard library only (plus kcat, psql and java on PATH, as the other suites)."""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import threading
import time
import http.client
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import bsocial_testkit.reliability as rs
from bsocial_testkit.api import User, check_error_shape, hexid, q
from bsocial_testkit.http import Client
from bsocial_testkit.kafka import read_all
from bsocial_testkit.server import NotifierProcess, ServerProcess
from bsocial_testkit.stack import bstack
from bsocial_testkit.telemetry import (
    TelemetryProcess, engine_choice, engine_under_test, start_search, stop_search)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


WRITE_RATE = env_float("BSOCIAL_FAULTS_WRITE_RATE", 120)   # posts + comments + follows / s
READ_RATE = env_float("BSOCIAL_FAULTS_READ_RATE", 40)      # feed pages / s
USERS = int(env_float("BSOCIAL_FAULTS_USERS", 80))
OUTAGE_S = env_float("BSOCIAL_FAULTS_OUTAGE_S", 30)        # Kafka and Elasticsearch down
BEFORE_S = env_float("BSOCIAL_FAULTS_BEFORE_S", 6)         # load before the fault
AFTER_S = env_float("BSOCIAL_FAULTS_AFTER_S", 8)           # load after the fault is over
SETTLE_S = env_float("BSOCIAL_FAULTS_SETTLE_S", 120)       # bounded wait for downstream
REQUEST_TIMEOUT_S = env_float("BSOCIAL_FAULTS_REQUEST_TIMEOUT_S", 30)  # longer = hung
RESUME_BOUND_S = env_float("BSOCIAL_FAULTS_RESUME_BOUND_S", 60)  # serving again after a fault
PG_DOWN_S = env_float("BSOCIAL_FAULTS_PG_DOWN_S", 3)       # PostgreSQL away between stop and start


# --------------------------------------------------------------------------- client


class LoadClient(Client):
    """bsocial_testkit.http.Client that hands a 5xx answer back to the caller (the load
    classifies it) instead of failing the request; every other check stays."""

    def check_response(self, r) -> None:
        if r.status >= 500:
            return
        super().check_response(r)


# --------------------------------------------------------------------------- deployment


def _children_of(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


class Deployment:
    """The deployment under test, started once per session in `workdir`."""

    def __init__(self, workdir: Path):
        t0 = time.monotonic()
        self.workdir = workdir
        self.engine = engine_under_test()
        self.stack = bstack.Stack(workdir / "stack")
        ep = self.stack.start(kafka=True, postgres=True, **engine_choice(self.engine))
        self.kafka: str = ep["kafka"]
        self.search = start_search(self.stack, self.engine)  # already running: its endpoint
        self.db_url = self.stack.create_database("bsocial_faults")
        # The stack runs PostgreSQL with synchronous_commit=off (fast tests): a commit may be
        # answered before its WAL leaves shared memory, so a postmaster kill -9 loses the
        # last acknowledged writes by configuration. Production runs with it on; so do we.
        self.stack.postgres.psql("ALTER DATABASE bsocial_faults SET synchronous_commit = on")
        self.pg_port = int(self.stack.postgres.st["port"])
        env = {"BSOCIAL_KAFKA_BROKERS": self.kafka,
               "BSOCIAL_LOGIN_MAX_FAILURES": "100000"}
        jwt_secret, shared_secrets = secrets.token_hex(32), set()
        self.apis = [ServerProcess(workdir=workdir / f"api{i}", db_url=self.db_url,
                                   env_overrides=env, jwt_secret=jwt_secret,
                                   secrets=shared_secrets) for i in (1, 2)]
        for api in self.apis:  # one after the other: the first one migrates
            api.start()
        self.notifier = NotifierProcess(self.apis[0], {"BSOCIAL_KAFKA_BROKERS": self.kafka})
        self.notifier.start()
        (workdir / "telemetry").mkdir(exist_ok=True)
        self.telemetry = TelemetryProcess(workdir / "telemetry", self.kafka, self.search)
        self.telemetry.start()
        self.clients = [LoadClient(api) for api in self.apis]  # follow restarts (new ports)
        self.sql = rs.Sql(self.apis[0])  # psql on the shared database
        self.startup_seconds = time.monotonic() - t0
        self.users: list[User] = []
        self.follows: set[tuple[str, str]] = set()
        self.posts: list[tuple[str, User]] = []

    def describe(self) -> str:
        return (f"kafka={self.kafka} {self.engine}={self.search.url} db={self.db_url} "
                f"apis={[a.base_url for a in self.apis]} notifier={self.notifier.base_url}")

    # -- the network the load writes into ----------------------------------------------
    def populate(self, users: int = USERS, follows_each: int = 5) -> float:
        """`users` registered and logged in (through both instances), each following
        `follows_each` others and with one post. Returns the seconds it took."""
        t0 = time.monotonic()

        def make(i: int) -> User:
            c = self.clients[i % 2]
            u = c.register()
            c.login(u)
            return u

        with ThreadPoolExecutor(4) as ex:
            self.users = list(ex.map(make, range(users)))
        rng = random.Random(7)
        pairs = [(a, b) for a in self.users
                 for b in rng.sample([u for u in self.users if u is not a], follows_each)]

        def follow(i: int) -> None:
            a, b = pairs[i]
            r = self.clients[i % 2].follow(a, b)
            assert r.status == 204, r

        def post(i: int) -> tuple[str, User]:
            u = self.users[i]
            return self.clients[i % 2].create_post(u, f"hello from {u.username}")["id"], u

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(follow, range(len(pairs))))
            self.posts = list(ex.map(post, range(len(self.users))))
        self.follows = {(a.id, b.id) for a, b in pairs}
        return time.monotonic() - t0

    # -- faults ----------------------------------------------------------------------
    def pg_restart(self) -> None:
        """`pg_ctl stop -m fast`, PG_DOWN_S away, then start on the same port and data."""
        self.stack.stop_postgres()
        time.sleep(PG_DOWN_S)
        self.start_pg()

    def pg_kill9(self) -> None:
        """SIGKILL of the postmaster only (its backends notice and exit), then (PG_DOWN_S
        after the kill) start: crash recovery on the same port and data."""
        pid = int(self.stack.postgres.st["pid"])
        children = _children_of(pid)
        os.kill(pid, signal.SIGKILL)
        t = time.monotonic()
        # gone from /proc, not only dead: the new postmaster refuses to start while the
        # pid of its lock file exists, and a zombie does until init reaps it
        rs.wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in [pid, *children]),
                      30, interval=0.05, what="the postmaster and its backends gone")
        time.sleep(max(0.0, PG_DOWN_S - (time.monotonic() - t)))
        self.start_pg()

    def start_pg(self) -> None:
        url = self.stack.start_postgres(port=self.pg_port)
        assert f":{self.pg_port}/" in url, f"PostgreSQL came back as {url}, not on {self.pg_port}"

    def stop_kafka(self) -> None:
        self.stack.stop_kafka()

    def start_kafka(self) -> None:
        again = self.stack.start_kafka(brokers=1)
        assert again == self.kafka, f"Kafka came back on {again}, not {self.kafka}"

    def stop_search(self) -> None:
        stop_search(self.stack, self.engine)

    def start_search(self) -> None:
        again = start_search(self.stack, self.engine)
        assert again == self.search, f"{self.engine} came back as {again}, not {self.search}"

    # -- between tests ------------------------------------------------------------------
    def heal(self, restart_apps: bool) -> list[str]:
        """Whatever a failed test left down is started again (servers on their ports and
        data; bSocial processes that died or, with restart_apps, all of them), so the next
        fault starts from a whole deployment. Returns what it did."""
        did = []
        if not self.stack.postgres_running():
            self.start_pg()
            did.append("postgresql started")
        if not self.stack.kafka_running():
            self.start_kafka()
            did.append("kafka started")
        if not self.stack.servers[self.engine].running():
            self.start_search()
            did.append(f"{self.engine} started")
        for api in self.apis:
            if restart_apps or not api.running():
                if api.proc is not None:
                    api.stop(check=False)
                api.start()
                did.append(f"{api.workdir.name} restarted")
        for proc in (self.notifier, self.telemetry):
            if restart_apps or not proc.running():
                if proc.running():
                    proc.stop()
                proc.start()
                did.append(f"{proc.name} restarted")
        return did

    def close(self) -> list[str]:
        problems = []
        for proc in (self.telemetry, self.notifier):
            rc = proc.stop() if proc.running() else 0
            if rc != 0:
                problems.append(f"{proc.name} exited {rc} after SIGTERM")
        for api in self.apis:
            problems += rs.stop_server(api)
        self.stack.stop_all()
        return problems


# --------------------------------------------------------------------------- load


@dataclass
class Request:
    t0: float           # monotonic, sent
    t1: float           # monotonic, answered or failed
    target: int         # index of the API instance
    kind: str           # post | comment | follow | feed
    outcome: str        # the HTTP status ("201"), or refused | reset | timeout | error:<type>

    @property
    def ok(self) -> bool:
        return self.outcome.startswith("2")


@dataclass
class Acked:
    """Writes the API answered 2xx, by entity."""
    posts: dict = field(default_factory=dict)      # post id -> author id
    comments: dict = field(default_factory=dict)   # comment id -> (commenter id, post author id)
    follows: set = field(default_factory=set)      # (follower id, followee id)

    def total(self) -> int:
        return len(self.posts) + len(self.comments) + len(self.follows)


class Load:
    """An open-loop load through both API instances (request i goes to instance i % 2):
    writes (post 45 %, comment 45 %, follow 10 %) at `write_rate` and feed pages at
    `read_rate`, request i due at t0 + i / (write_rate + read_rate), until stop().
    Comments go to recent posts by a follower of the author (1 in 10 by the author: no
    notification). Nothing is retried: a failed write is never sent again, and a follow
    pair is sent at most once. Every request is recorded with its outcome."""

    WRITES = (("post", 45), ("comment", 45), ("follow", 10))

    def __init__(self, dep: Deployment, name: str, write_rate: float = WRITE_RATE,
                 read_rate: float = READ_RATE, threads: int = 24, seed: int = 1):
        self.dep = dep
        self.name = name
        self.write_rate = write_rate
        self.read_rate = read_rate
        self.threads = threads
        self.rng = random.Random(f"{name}-{seed}")
        self.lock = threading.Lock()
        self.acked = Acked()
        self.requests: list[Request] = []
        self.attempted_pairs: set = set()
        self.followers_of: dict = defaultdict(list)
        for a, b in dep.follows:
            self.followers_of[b].append(a)
        self.by_id = {u.id: u for u in dep.users}
        self.recent_posts: list[tuple[str, User]] = list(dep.posts[-300:])
        self.tag = f"flt-{name}-{hexid(3)}"  # in every post and comment of this run
        self.seq = 0
        self.next_op = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.t0 = self.t_end = 0.0
        self.fault_at = None  # seconds after t0
        self.sent: dict = {}  # acked entity -> (sent, answered) seconds after t0, instance

    # -- the run ---------------------------------------------------------------------
    def start(self) -> "Load":
        self.t0 = time.monotonic()
        self._threads = rs.start_threads(self._worker, self.threads)
        return self

    def stop(self) -> None:
        """Stops sending; waits for the requests in flight (each bounded by its timeout)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=REQUEST_TIMEOUT_S + 30)
        assert not any(t.is_alive() for t in self._threads), "load threads did not finish"
        self.t_end = time.monotonic()

    def _take(self) -> int | None:
        with self.lock:
            if self._stop.is_set():
                return None
            i = self.next_op
            self.next_op += 1
            return i

    def _worker(self) -> None:
        rate = self.write_rate + self.read_rate
        while (i := self._take()) is not None:
            pause = self.t0 + i / rate - time.monotonic()
            if pause > 0 and self._stop.wait(pause):
                return
            with self.lock:
                if self.rng.random() * rate < self.read_rate:
                    kind = "feed"
                else:
                    kind = self.rng.choices([k for k, _ in self.WRITES],
                                            [w for _, w in self.WRITES])[0]
                job = getattr(self, f"_plan_{kind}")()
            if job is None:
                continue
            kind, method, path, body, user, on_ok = job
            self._send(i % 2, kind, method, path, body, user, on_ok)

    def _send(self, target: int, kind: str, method: str, path: str, body, user: User,
              on_ok) -> None:
        client = self.dep.clients[target]
        t0 = time.monotonic()
        try:
            kw = {} if body is None else {"body": body}
            r = client.request(method, path, token=user.token, timeout=REQUEST_TIMEOUT_S, **kw)
            outcome = str(r.status)
            if r.status in (502, 503):
                check_error_shape(r)  # a clear answer: {"error": {...}}
            elif r.status // 100 == 2:
                entity = on_ok(r)
                if entity is not None:
                    with self.lock:
                        self.sent[entity] = (t0 - self.t0, time.monotonic() - self.t0,
                                             f"api{target + 1}")
            else:
                outcome = f"{r.status}:{r.raw[:200].decode('utf-8', 'replace')}"
        except ConnectionRefusedError:
            outcome = "refused"
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            outcome = "reset"
        except (socket.timeout, TimeoutError):
            outcome = "timeout"
        except Exception as e:  # noqa: BLE001 - recorded; the test fails on it
            outcome = f"error:{type(e).__name__}:{str(e)[:200]}"
        with self.lock:
            self.requests.append(Request(t0, time.monotonic(), target, kind, outcome))

    # -- what to send (called under the lock) ------------------------------------------------
    def _content(self, what: str) -> str:
        self.seq += 1
        return f"{self.tag} {what} {self.seq}"

    def _user(self) -> User:
        return self.rng.choice(self.dep.users)

    def _plan_feed(self):
        return ("feed", "GET", "/api/v1/feed?limit=20", None, self._user(), lambda r: None)

    def _plan_post(self):
        u = self._user()

        def ok(r, u=u):
            pid = r.json["post"]["id"]
            with self.lock:
                self.acked.posts[pid] = u.id
                self.recent_posts.append((pid, u))
                del self.recent_posts[:-300]
            return ("post", pid)
        return ("post", "POST", "/api/v1/posts", {"content": self._content("post")}, u, ok)

    def _plan_comment(self):
        post_id, author = self.rng.choice(self.recent_posts)
        followers = self.followers_of[author.id]
        if followers and self.rng.random() >= 0.1:
            who = self.by_id[self.rng.choice(followers)]
        else:
            who = author

        def ok(r, who=who, author=author):
            cid = r.json["comment"]["id"]
            with self.lock:
                self.acked.comments[cid] = (who.id, author.id)
            return ("comment", cid)
        return ("comment", "POST", f"/api/v1/posts/{post_id}/comments",
                {"content": self._content("comment")}, who, ok)

    def _plan_follow(self):
        for _ in range(20):
            a, b = self._user(), self._user()
            pair = (a.id, b.id)
            if a is not b and pair not in self.dep.follows and pair not in self.attempted_pairs:
                break
        else:
            return self._plan_post()
        self.attempted_pairs.add(pair)

        def ok(r, a=a, b=b):
            with self.lock:
                self.acked.follows.add((a.id, b.id))
                self.dep.follows.add((a.id, b.id))
                self.followers_of[b.id].append(a.id)
            return ("follow", (a.id, b.id))
        return ("follow", "PUT", f"/api/v1/users/me/following/{q(b.username)}", None, a, ok)

    # -- what the clients saw ------------------------------------------------------------
    def writes_per_second(self) -> float:
        writes = sum(1 for r in self.requests if r.kind != "feed")
        return writes / max(1e-9, self.t_end - self.t0)

    def failures(self) -> Counter:
        return Counter(f"{r.kind}:{r.outcome}" for r in self.requests if not r.ok)

    def unclear(self, killed: set[int] = frozenset()) -> list[Request]:
        """Failures that are not a clear answer: anything but 502/503 with the error body,
        except that an instance the test killed refuses or drops connections."""
        bad = []
        for r in self.requests:
            if r.ok or r.outcome in ("502", "503"):
                continue
            if r.target in killed and r.outcome in ("refused", "reset"):
                continue
            bad.append(r)
        return bad

    def unavailable_s(self) -> tuple[float, dict]:
        """The longest stretch, on one instance, from a failed request to the next request
        that succeeded there (or to the end of the load), and the same per instance."""
        per = {}
        for target in (0, 1):
            worst, start = 0.0, None
            for r in sorted((r for r in self.requests if r.target == target),
                            key=lambda r: r.t0):
                if not r.ok and start is None:
                    start = r.t0
                elif r.ok and start is not None:
                    worst, start = max(worst, r.t0 - start), None
            if start is not None:
                worst = max(worst, self.t_end - start)
            per[f"api{target + 1}"] = round(worst, 1)
        return max(per.values()), per

    def first_success_after(self, t: float) -> float | None:
        """Seconds from t until every instance answered a request 2xx (sent after t)."""
        firsts = []
        for target in (0, 1):
            oks = [r.t1 for r in self.requests if r.target == target and r.ok and r.t0 >= t]
            if not oks:
                return None
            firsts.append(min(oks))
        return max(firsts) - t

    def latency_summary(self) -> str:
        d = sorted(r.t1 - r.t0 for r in self.requests if r.ok)
        if not d:
            return "latency=none"
        return (f"latency_p50={d[len(d) // 2] * 1000:.0f}ms p99={d[int(len(d) * 0.99)] * 1000:.0f}ms "
                f"max={d[-1]:.1f}s")


# --------------------------------------------------------------------------- audit


@dataclass
class Audit:
    line: str
    details: str
    lost: int
    duplicated: int
    problems: list


def _entity_of_event(envelope: dict) -> tuple | None:
    t, d = envelope.get("type"), envelope.get("data") or {}
    if t == "post.created":
        return ("post", d["post_id"])
    if t == "comment.created":
        return ("comment", d["comment_id"])
    if t == "follow.created":
        return ("follow", (d["follower_id"], d["followee_id"]))
    return None


def _entity_of_doc(doc: dict) -> tuple | None:
    return _entity_of_event({"type": doc.get("type"), "data": doc})


def settle(dep: Deployment) -> float:
    """Bounded wait (SETTLE_S) for the outbox to drain, the index to hold every event and
    every comment by someone else to have its notification (bsocial_testkit.reliability's)."""
    return rs.wait_recovered(dep, timeout=SETTLE_S)


def audit(dep: Deployment, load: Load, name: str, extra: str = "") -> Audit:
    """Every write of `load` the API acknowledged, looked up in PostgreSQL, on the Kafka
    topics, in the index and (comments) in the notifications; prints the fault line and
    a details line."""
    acked = load.acked
    tag = load.tag.replace("'", "")
    problems: list[str] = []

    # PostgreSQL: the rows this run wrote (found by the tag in their content)
    # (Sql.rows goes through row_to_json: every column needs its own name)
    posts = dep.sql.rows(f"select id::text as id, user_id::text as author, content from posts "
                         f"where content like '{tag} %'")
    comments = dep.sql.rows(f"select c.id::text as id, c.user_id::text as commenter, "
                            f"p.user_id::text as author, c.content as content "
                            f"from comments c join posts p on p.id = c.post_id "
                            f"where c.content like '{tag} %'")
    follow_rows = {(a, b) for a, b in dep.sql.rows(
        "select follower_id::text as a, followee_id::text as b from follows")}
    db_posts = {r[0] for r in posts}
    db_comments = {r[0]: (r[1], r[2]) for r in comments}
    content_twice = (sum(c - 1 for c in Counter(r[2] for r in posts).values())
                     + sum(c - 1 for c in Counter(r[3] for r in comments).values()))
    in_db = {("post", p) for p in acked.posts if p in db_posts}
    in_db |= {("comment", c) for c in acked.comments if c in db_comments}
    in_db |= {("follow", f) for f in acked.follows if f in follow_rows}
    committed_unacked = (len(db_posts - set(acked.posts)) + len(set(db_comments) - set(acked.comments))
                         + len((load.attempted_pairs & follow_rows) - acked.follows))

    # Kafka: messages per entity, and distinct event ids per entity
    messages = Counter()
    event_ids: dict = defaultdict(set)
    for m in read_all(dep.kafka):
        ent = _entity_of_event(json.loads(m.payload or "{}"))
        if ent is not None:
            messages[ent] += 1
            event_ids[ent].add(m.event_id)

    # the index: documents per entity (_id = event id, so one event is one document)
    docs = Counter(_entity_of_doc(d) for d in rs.es_docs(dep.search))

    # notifications of this run's comments
    notes = Counter()
    note_user = {}
    if db_comments:
        ids = ",".join(db_comments)
        for cid, uid in dep.sql.rows(f"select comment_id::text as c, user_id::text as u from notifications "
                                     f"where comment_id in ({ids})"):
            notes[cid] += 1
            note_user[cid] = uid

    entities = ([("post", p) for p in acked.posts] + [("comment", c) for c in acked.comments]
                + [("follow", f) for f in acked.follows])
    by_others = {c for c, (who, author) in acked.comments.items() if who != author}
    missing = Counter()
    lost_samples: list[str] = []
    for ent in entities:
        gaps = [where for where, ok in (("db", ent in in_db), ("kafka", messages[ent] > 0),
                                        ("es", docs[ent] > 0)) if not ok]
        if ent[0] == "comment" and ent[1] in by_others and notes[ent[1]] == 0:
            gaps.append("notification")
        for g in gaps:
            missing[f"{ent[0]}_not_in_{g}"] += 1
        missing["lost"] += bool(gaps)
        if gaps and len(lost_samples) < 5:
            lost_samples.append(f"{ent} {gaps} answered 2xx by {load.sent.get(ent)}")
    lost = missing.pop("lost", 0)

    wrong_user = sum(1 for c in by_others if c in note_user and note_user[c] != acked.comments[c][1])
    own_notified = sum(1 for c, (who, author) in db_comments.items() if who == author and notes[c])
    dup = Counter({
        "db_content_twice": content_twice,
        "kafka_events_per_entity": sum(len(event_ids[e]) - 1 for e in entities if event_ids[e]),
        "es_docs_per_entity": sum(docs[e] - 1 for e in entities if docs[e] > 1),
        "notifications_per_comment": sum(n - 1 for n in notes.values() if n > 1),
        "notifications_for_own_comments": own_notified,
    })
    duplicated = sum(dup.values())
    if wrong_user:
        problems.append(f"{wrong_user} notifications for someone else than the post's author")

    kafka_redelivered = sum(messages[e] - len(event_ids[e]) for e in entities)
    unavailable, per_instance = load.unavailable_s()
    notified = sum(1 for c in by_others if notes[c])
    line = (f"fault={name} acked={acked.total()} in_db={len(in_db)} "
            f"in_kafka>={sum(1 for e in entities if messages[e])} "
            f"in_es={sum(1 for e in entities if docs[e])} notified={notified} lost={lost} "
            f"duplicated={duplicated} unavailable_s={unavailable:.1f}")
    failures = load.failures()
    details = (f"  details: load_s={load.t_end - load.t0:.0f} "
               f"writes_per_s={load.writes_per_second():.0f} requests={len(load.requests)} "
               f"acked={{posts: {len(acked.posts)}, comments: {len(acked.comments)} "
               f"({len(by_others)} by others), follows: {len(acked.follows)}}} "
               f"failed={sum(failures.values())} {dict(failures.most_common(8))} "
               f"unavailable_by_instance={per_instance} {load.latency_summary()} "
               f"committed_without_2xx={committed_unacked} "
               f"kafka_redelivered_messages={kafka_redelivered} missing={dict(+missing)} "
               f"duplicates={dict(+dup)} {extra}")
    print("\n" + line)
    print(details)
    if lost_samples:
        print(f"  lost (sent, answered: seconds after the load began; the fault began at "
              f"{load.fault_at:.1f}): " + " | ".join(lost_samples))
    for p in problems:
        print(f"  PROBLEM: {p}")
    with open(os.environ.get("BSOCIAL_FAULTS_RESULTS", "/tmp/bsocial-faults-results.txt"),
              "a") as f:
        f.write(line + "\n")
    return Audit(line=line, details=details, lost=lost, duplicated=duplicated, problems=problems)


# --------------------------------------------------------------------------- one fault


def run_fault(dep: Deployment, name: str, fault, killed: set[int] = frozenset()) -> Audit:
    """The load for BEFORE_S, fault(load) (returns a dict of figures for the details
    line; "back_at": the monotonic time the failed part was back, to measure when every
    instance served again), the load for AFTER_S more, the bounded settle, the audit;
    then the common asserts: lost=0, duplicated=0, every failed request answered clearly
    (502/503 with the error body; refused or dropped only by an instance the fault
    killed) and none hung (no timing assert: a request that takes longer than
    REQUEST_TIMEOUT_S counts as hung)."""
    load = Load(dep, name).start()
    try:
        time.sleep(BEFORE_S)
        load.fault_at = time.monotonic() - load.t0
        figures = fault(load) or {}
        time.sleep(AFTER_S)
    finally:
        load.stop()
    back_at = figures.pop("back_at", None)
    again = None
    if back_at is not None:
        again = serving_again(dep, load, back_at)
        figures["serving_again_s"] = "never" if again is None else round(again, 1)
    settled = settle(dep)
    extra = " ".join(f"{k}={v}" for k, v in figures.items())
    a = audit(dep, load, name, extra=f"{extra} settle_s={settled:.0f}")
    unclear = load.unclear(killed)
    assert a.lost == 0, f"{a.lost} acknowledged writes missing downstream\n{a.details}"
    assert a.duplicated == 0, f"{a.duplicated} duplicates downstream\n{a.details}"
    assert not unclear, (f"{len(unclear)} requests failed without a clear answer (502/503), "
                         f"e.g. {Counter(f'{r.kind}:{r.outcome}' for r in unclear).most_common(5)}")
    assert not a.problems, a.problems
    assert load.acked.total() > 0, "no write was acknowledged"
    assert back_at is None or again is not None, (
        f"an API instance did not serve again within {RESUME_BOUND_S:.0f}s after the fault "
        f"was over\n{a.details}")
    return a


def serving_again(dep: Deployment, load: Load, back_at: float) -> float | None:
    """Seconds from back_at until both instances answered a request 2xx: from the load's
    own requests, else (not within the load) by asking both for a feed page until they
    do, bounded by RESUME_BOUND_S; None if one never did."""
    again = load.first_success_after(back_at)
    if again is not None:
        return again
    user = dep.users[0]

    def both_serve() -> bool:
        return all(c.request("GET", "/api/v1/feed?limit=1", token=user.token,
                             timeout=10).status == 200 for c in dep.clients)
    try:
        rs.wait_until(both_serve, RESUME_BOUND_S - (time.monotonic() - back_at), interval=0.5,
                      what="both instances serving again")
    except AssertionError:
        return None
    return time.monotonic() - back_at
