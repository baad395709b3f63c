#!/usr/bin/env python3
"""Benchmark of the analytics at scale (issue 29), on a real local stack (Kafka + the search
engine from stack/bstack.py; BSOCIAL_TEST_ENGINE picks it, Elasticsearch by default).

Prints:
  indexer     --indexer-events crafted events (logins, posts, comments) produced to Kafka
              first, then `bsocial telemetry` started on a fresh group: events/s from its
              ready line until every event is searchable in the events alias.
  queries     for each size of --sizes (events): a social network's events (Network: logins,
              logouts, posts, comments, follows, skewed users) written with _bulk directly
              into the indices telemetry makes (the monthly event indices under the alias,
              the posts' and comments' entity documents, the login-day documents as
              telemetry's updates leave them), two requests in flight, refresh off and the
              translog async during the load (as for any bulk load; put back after); then
              each analytics API call of the dashboard (logins?days=7|30|90 in UTC and in
              the browser's zone, top-posts, extremes of the heaviest poster and of an
              ordinary user; q1 in Asia/Kathmandu too, which reads the events) --repeat
              times through `bsocial serve`: p50 / p95 / max in ms. --event-docs logins
              writes only the event documents a query reads (the logins and logouts, for
              q1 in Kathmandu); --event-docs none (--no-event-docs) only the registrations'
              (the fastest load; the events alias then holds no login).
  The load average of the machine before each phase (2 cores shared with other engineers).

  python3 bench/analytics_bench.py [--sizes 1000000,10000000] [--indexer-events 100000]
      [--repeat 20] [--bin build/release/bsocial] [--event-docs all|logins|none]
      [--compare-bin OTHER/bsocial --compare-queries OTHER/queries --rounds 2]

  "first" is each call's first answer on a fresh serve (q2: its warm zones' closed days
  asked at the start, others not: docs/analytics.md, "Closed days"); p50/p95 are the
  --repeat answers after it. Then (--no-deletions to skip) q2 after a comment's and a post's
  deletion through the API, the post made a ranked one (deletion_phase). --wait-for FILE:
  load, then wait for FILE before timing (a build may finish meanwhile).

The event -> searchable lag from a cold start is bench/telemetry_bench.py's
(`--events 200 --warmup 0 --seconds 30`); `make bench-analytics` runs both.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import threading
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pylib"))

from benchlib.common import log  # noqa: E402
from bsocial_testkit.http import Client  # noqa: E402
from bsocial_testkit.paths import REPO  # noqa: E402
from bsocial_testkit.server import ServerProcess  # noqa: E402
from bsocial_testkit.stack import Stack  # noqa: E402
from bsocial_testkit.telemetry import (  # noqa: E402
    TelemetryProcess, engine_choice, engine_under_test, es_count, es_request, kcat_produce,
    start_search)

INDEX = "bsocial-events"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------ the synthetic network


class Network:
    """N events over `days` days ending now, a social network's mix (shares of the events):
    35 % logins, 5 % logouts, 10 % posts, 40 % comments, 10 % follows (and unfollows), of
    N/50 users whose activity is skewed (Pareto weights: a few users do much, most little),
    user 1 ("heavy") writing 1 % of the posts (10,000 at 10M events). A comment goes to a
    post of the last 2,000 half of the time (fresh posts get the comments), else to a post
    drawn by its author's weight (popular authors' posts get more).

    The documents are what `bsocial telemetry` writes (docs/telemetry.md): each event in
    its month's index under the alias, the posts' and comments' entity documents, and the
    login-day documents (one per user and UTC day, b<k>/a<k> as telemetry's partial updates
    leave them: written here whole, once each day is complete)."""

    def __init__(self, events: int, days: int = 30, seed: int = 29, id_base: int = 0,
                 users: int | None = None, event_docs: str = "all"):
        self.id_base = id_base  # post and comment ids start above it (a second size adds)
        self.events = events
        self.users = users or max(100, events // 50)
        self.days = days
        self.event_docs = event_docs
        self.rnd = random.Random(seed)
        self.now_ms = int(time.time() * 1000)
        self.start_ms = self.now_ms - days * 86_400_000
        w = [self.rnd.paretovariate(1.2) for _ in range(self.users)]
        self.cum = list(itertools.accumulate(w))
        self.counts: dict[str, int] = {}

    def user(self) -> int:
        return bisect.bisect_left(self.cum, self.rnd.random() * self.cum[-1]) + 1

    def batches(self, size: int = 20_000):
        """NDJSON _bulk bodies (bytes) and how many events each holds."""
        rnd, users = self.rnd, self.users
        span = self.now_ms - self.start_ms
        posts: list[tuple[int, int]] = []  # (post id, author)
        by_author_weight: list[int] = []   # indices into posts, drawn by author weight
        lines: list[str] = []
        n_in = 0
        next_post, next_comment = self.id_base + 1, self.id_base + 1
        counts = self.counts
        # login days: (user) -> lowest slot of the current UTC day / highest of the day before
        day = None
        today: dict[int, int] = {}
        yesterday: dict[int, int] = {}
        for u, name in ((1, "heavy"), (2, "ordinary")):
            lines.append(self._event("user.registered", self.start_ms,
                                     f'"user_id":"{u}","username":"{name}"'))
        for i in range(self.events):
            at = self.start_ms + span * i // self.events
            d = at // 86_400_000
            if d != day:
                if day is not None:
                    lines.extend(self._login_days(day, today, yesterday))
                    yesterday, today = today, {}
                day = d
            r = rnd.random()
            if r < 0.35:
                u = self.user()
                kind = "user.logged_in"
                lines.append(self._event(kind, at, f'"user_id":"{u}","username":"u{u}"'))
                slot = (at % 86_400_000) // 1_800_000
                if slot < today.get(u, 48):
                    today[u] = slot
                # the highest slot of the day, for the next day's a<k>
                today.setdefault(-u, slot)
                today[-u] = max(today[-u], slot)
            elif r < 0.40:
                u = self.user()
                kind = "user.logged_out"
                lines.append(self._event(kind, at, f'"user_id":"{u}","username":"u{u}"'))
            elif r < 0.50 or not posts:
                author = 1 if rnd.random() < 0.01 else (2 if rnd.random() < 0.0005 else
                                                         self.user())
                kind = "post.created"
                pid = next_post
                next_post += 1
                posts.append((pid, author))
                if author > 2 and self.cum[author - 1] - (self.cum[author - 2] if author > 1
                                                          else 0) > 5:
                    by_author_weight.append(len(posts) - 1)  # a popular author's post
                fields = f'"post_id":"{pid}","user_id":"{author}","username":"u{author}"'
                lines.append(self._event(kind, at, fields))
                lines.append(self._entity("post", pid, at,
                                          f'"post_id":"{pid}","user_id":"{author}"'))
            elif r < 0.90:
                k = len(posts)
                x = rnd.random()
                if x < 0.5:
                    j = rnd.randrange(max(0, k - 2000), k)
                elif x < 0.8 and by_author_weight:
                    j = by_author_weight[rnd.randrange(len(by_author_weight))]
                else:
                    j = rnd.randrange(k)
                pid, author = posts[j]
                kind = "comment.created"
                cid = next_comment
                next_comment += 1
                u = self.user()
                fields = (f'"comment_id":"{cid}","post_id":"{pid}","post_author_id":"{author}",'
                          f'"user_id":"{u}","username":"u{u}"')
                lines.append(self._event(kind, at, fields))
                lines.append(self._entity("comment", cid, at,
                                          f'"comment_id":"{cid}","post_id":"{pid}",'
                                          f'"post_author_id":"{author}","user_id":"{u}"'))
            else:
                a, b = self.user(), self.user()
                kind = "follow.created" if rnd.random() < 0.85 else "follow.deleted"
                lines.append(self._event(kind, at,
                                         f'"follower_id":"{a}","follower_username":"u{a}",'
                                         f'"followee_id":"{b}","followee_username":"u{b}"'))
            counts[kind] = counts.get(kind, 0) + 1
            n_in += 1
            if len(lines) >= size:
                yield ("".join(lines)).encode(), n_in
                lines, n_in = [], 0
        if day is not None:  # the last day, and the day after it (a<k> of the last logins)
            lines.extend(self._login_days(day, today, yesterday))
            lines.extend(self._login_days(day + 1, {}, today))
        if lines:
            yield ("".join(lines)).encode(), n_in

    def _login_days(self, day: int, today: dict[int, int], yesterday: dict[int, int]):
        """The login-day documents of UTC day `day` (what telemetry's updates leave)."""
        date = self._iso(day * 86_400_000)[:10]
        index = f"{INDEX}-logins-{date[:4]}.{date[5:7]}"
        out = []
        ids = {u for u in today if u > 0} | {u for u in yesterday if u > 0}
        for u in ids:
            doc = {"user_id": str(u), "day": date}
            if u in today:
                for k in range(today[u] + 1, 49):
                    doc[f"b{k}"] = True
            if -u in yesterday:
                for k in range(0, yesterday[-u] + 1):
                    doc[f"a{k}"] = True
            out.append(f'{{"index":{{"_index":"{index}","_id":"{u}:{date}"}}}}\n'
                       f'{json.dumps(doc, separators=(",", ":"))}\n')
        self.counts["login_day_documents"] = self.counts.get("login_day_documents", 0) + len(out)
        return out

    _second = (None, "")

    def _iso(self, ms: int) -> str:
        s = ms // 1000
        if self._second[0] != s:  # one strftime per second of events, not per event
            self._second = (s, datetime.fromtimestamp(s, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S."))
        return f"{self._second[1]}{ms % 1000:03d}Z"

    def _event(self, type_: str, at: int, fields: str) -> str:
        if type_ != "user.registered" and not (
                self.event_docs == "all" or (self.event_docs == "logins"
                                             and type_ in ("user.logged_in", "user.logged_out"))):
            return ""
        iso = self._iso(at)
        self.serial = getattr(self, "serial", 0) + 1
        eid = f"{self.id_base:x}-{self.serial:x}-{self.events:x}"  # unique, cheap
        return (f'{{"create":{{"_index":"{INDEX}-{iso[:4]}.{iso[5:7]}","_id":"{eid}"}}}}\n'
                f'{{"event_id":"{eid}","type":"{type_}","version":1,"occurred_at":"{iso}",'
                f'{fields}}}\n')

    def _entity(self, kind: str, n: int, at: int, fields: str) -> str:
        return (f'{{"create":{{"_index":"{INDEX}-entities","_id":"{kind}:{n}"}}}}\n'
                f'{{"kind":"{kind}","deleted":false,"created_at":"{self._iso(at)}",{fields}}}\n')


def load_network(search, net: Network, threads: int = 2) -> int:
    """Writes `net` with _bulk directly, `threads` requests in flight (the generator runs
    meanwhile), refresh off and the translog async while loading (put back after), as one
    would for a bulk load. Returns the number of events."""
    idx = f"{INDEX}*"
    es_request(search, "PUT", f"/{idx}/_settings",
               {"index": {"refresh_interval": "-1", "translog.durability": "async"}})
    work: "queue.Queue[bytes | None]" = queue.Queue(maxsize=4)
    errors: list[BaseException] = []

    def sender() -> None:
        while (body := work.get()) is not None:
            try:
                if not errors:
                    bulk(search, body)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

    workers = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    n = 0
    seen_indices = 0
    for body, k in net.batches():
        if errors:
            break
        for part in pieces(body):  # a day's login documents come at once: a 512 MB heap
            work.put(part)         # breaks (429) on one request that large
        n += k
        # indices made since (a new month): refresh off there too
        now_indices = len(es_request(search, "GET", f"/_cat/indices/{idx}?format=json")[1])
        if now_indices != seen_indices:
            seen_indices = now_indices
            es_request(search, "PUT", f"/{idx}/_settings",
                       {"index": {"refresh_interval": "-1", "translog.durability": "async"}})
    for _ in workers:
        work.put(None)
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    es_request(search, "PUT", f"/{idx}/_settings",
               {"index": {"refresh_interval": "500ms", "translog.durability": "request"}})
    es_request(search, "POST", f"/{idx}/_refresh")
    return n


def pieces(body: bytes, limit: int = 4 << 20):
    """`body` (NDJSON action + document pairs) in requests of at most ~`limit` bytes."""
    if len(body) <= limit:
        yield body
        return
    lines = body.split(b"\n")
    part: list[bytes] = []
    size = 0
    for i in range(0, len(lines) - 1, 2):
        pair = lines[i] + b"\n" + lines[i + 1] + b"\n"
        part.append(pair)
        size += len(pair)
        if size >= limit:
            yield b"".join(part)
            part, size = [], 0
    if part:
        yield b"".join(part)


def bulk(search, body: bytes) -> None:
    for attempt in range(30):
        req = urllib.request.Request(search.url + "/_bulk", data=body, method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
        try:
            with search.open(req, 600) as r:
                answer = json.loads(r.read())
            break
        except urllib.error.HTTPError as e:
            if e.code != 429 or attempt == 29:  # the engine pushes back: wait, send again
                raise
            time.sleep(min(10, 0.5 * 2 ** attempt))
    if answer["errors"]:
        bad = [it for it in answer["items"] if "error" in next(iter(it.values()))][:2]
        raise RuntimeError(f"bulk errors: {bad}")


# ------------------------------------------------------------------ phases


def indexer_phase(stack: Stack, search, kafka: str, n: int, workdir: Path) -> dict:
    """n crafted events in Kafka, then telemetry from a fresh group: events/s."""
    rnd = random.Random(7)
    now = datetime.now(timezone.utc)
    payloads: dict[str, list[bytes]] = {"bsocial.users": [], "bsocial.posts": [],
                                        "bsocial.comments": []}
    for i in range(n):
        at = (now - timedelta(seconds=n - i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        eid = str(uuid.uuid4())
        r = i % 5
        if r < 2:
            u = rnd.randrange(1, 5000)
            e = {"type": "user.logged_in", "topic": "bsocial.users", "data": {
                "user_id": str(u), "username": f"u{u}", "email": f"u{u}@x.org", "logged_in_at": at}}
        elif r < 3:
            e = {"type": "post.created", "topic": "bsocial.posts", "data": {
                "post_id": str(i), "user_id": "5", "username": "u5", "email": "u5@x.org",
                "content": "bench post " * 5, "created_at": at}}
        else:
            e = {"type": "comment.created", "topic": "bsocial.comments", "data": {
                "comment_id": str(i), "post_id": str(i - i % 5 + 2), "post_author_id": "5",
                "user_id": "6", "username": "u6", "email": "u6@x.org", "content": "nice",
                "created_at": at}}
        payloads[e["topic"]].append(json.dumps({"id": eid, "type": e["type"], "version": 1,
                                                "occurred_at": at, "data": e["data"]}).encode())
    for topic, ps in payloads.items():
        kcat_produce(kafka, topic, "1", ps)
    log(f"indexer: {n} events in Kafka; load {load()}")
    index = "tput"
    t = TelemetryProcess(workdir, kafka, search, {
        "BSOCIAL_ELASTICSEARCH_INDEX": index, "BSOCIAL_TELEMETRY_GROUP": "bench-tput",
        "BSOCIAL_TELEMETRY_BATCH_WAIT_MS": "100", "BSOCIAL_LOG_LEVEL": "warn"}, "tput")
    load_before = load()
    t0 = time.monotonic()
    t.start()
    ready = time.monotonic()
    while es_count(search, index) < n:
        time.sleep(0.25)
        if time.monotonic() - ready > 1800:
            raise RuntimeError("indexing did not finish in 30 min")
    # refresh every 500 ms: the last documents were searchable within that long
    secs = time.monotonic() - ready
    t.stop()
    docs = es_count(search, index) + es_count(search, f"{index}-entities")
    return {"events": n, "seconds": round(secs, 1), "events_per_s": round(n / secs),
            "documents": docs, "start_s": round(ready - t0, 1), "load": load_before}


def make_admin(bin_path: str, srv: ServerProcess, client: Client):
    admin = client.new_user(username="analyst")
    p = subprocess.run([bin_path, "admin", "grant", "analyst", "--data-dir", str(srv.data_dir)],
                       capture_output=True, text=True, env=srv.env(), timeout=60)
    assert p.returncode == 0, p.stderr
    deadline = time.monotonic() + 15
    while not client.get("/api/v1/users/me", token=admin.token).json["is_admin"]:
        if time.monotonic() > deadline:
            raise RuntimeError("admin role not seen")
        time.sleep(0.5)
    return admin


def queries_phase(client: Client, token: str, repeat: int) -> dict:
    """The dashboard's calls (web/src/api.ts: logins?days=7|30|90&tz=<the browser's zone>,
    top-posts?days=10&tz=, extremes), and the same in UTC and in a zone whose midnight is
    not on a half hour of UTC (q1 then reads the events: docs/telemetry.md)."""
    calls = {
        "q1 logins?days=7": "/api/v1/analytics/logins?days=7",
        "q1 logins?days=30": "/api/v1/analytics/logins?days=30",
        "q1 logins?days=7&tz=Europe/Paris": "/api/v1/analytics/logins?days=7&tz=Europe/Paris",
        "q1 logins?days=30&tz=Europe/Paris": "/api/v1/analytics/logins?days=30&tz=Europe/Paris",
        "q1 logins?days=90&tz=America/New_York":
            "/api/v1/analytics/logins?days=90&tz=America/New_York",
        "q1 logins?days=30&tz=Asia/Kathmandu (events)":
            "/api/v1/analytics/logins?days=30&tz=Asia/Kathmandu",
        "q2 top-posts?days=10": "/api/v1/analytics/top-posts?days=10",
        "q2 top-posts (30 days, the API's default)": "/api/v1/analytics/top-posts",
        "q2 top-posts?days=10&tz=Europe/Paris": "/api/v1/analytics/top-posts?days=10&tz=Europe/Paris",
        "q3 extremes, heaviest poster": "/api/v1/analytics/users/heavy/extremes",
        "q3 extremes, ordinary user": "/api/v1/analytics/users/ordinary/extremes",
    }
    out = {}
    client.checks = False  # a 503 (timeout) is a figure here, not a crash
    for name, path in calls.items():
        out[name] = timed(client, token, path, repeat)
        log(f"  {name}: {out[name]}")
    return out


def timed(client: Client, token: str, path: str, repeat: int) -> dict:
    """The first answer apart, then `repeat` more: p50/p95/max ms."""
    t0 = time.perf_counter()
    client.request("GET", path, token=token, timeout=120)
    first = (time.perf_counter() - t0) * 1000
    ms, statuses = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.request("GET", path, token=token, timeout=120)
        ms.append((time.perf_counter() - t0) * 1000)
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {"p50": round(statistics.median(ms)), "p95": round(pct(ms, 95)),
            "max": round(max(ms)), "first": round(first), "statuses": statuses}


def deletion_phase(client: Client, admin, search, repeat: int) -> dict:
    """q2 after deletions (docs/analytics.md, "Closed days"): the admin writes a post and a
    comment through the API (SQL ids), and the post is made a popular one in the search
    engine: 500 comments on it on each of the 2 days before today (UTC), so that it is
    ranked first there. Then, each through the API (the bus's comment.deleted /
    post.deleted), the comment and then the post are deleted, and the search engine
    learns it as telemetry would tell it a moment later (the documents' `deleted`); q2's
    calls are timed right after each (first + repeat), and once more after the 30 s hold."""
    path = "/api/v1/analytics/top-posts?days=10"
    post = client.create_post(admin, "a bench post that many comment on")
    comment = client.create_comment(admin, post["id"], "a comment to delete")
    pid = post["id"]
    today = int(time.time() * 1000) // 86_400_000
    lines = []
    for back in (1, 2):
        day0 = (today - back) * 86_400_000
        for i in range(500):
            at = datetime.fromtimestamp((day0 + 36_000_000 + i * 1000) / 1000, timezone.utc)
            iso = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            cid = str(4_000_000_000 + back * 1000 + i)  # numeric: comment_id.num
            lines.append(json.dumps({"index": {"_index": f"{INDEX}-entities",
                                               "_id": f"comment:{cid}"}}))
            lines.append(json.dumps({"kind": "comment", "deleted": False, "created_at": iso,
                                     "comment_id": cid, "post_id": pid,
                                     "post_author_id": admin.id, "user_id": admin.id}))
    lines.append(json.dumps({"index": {"_index": f"{INDEX}-entities", "_id": f"post:{pid}"}}))
    lines.append(json.dumps({"kind": "post", "deleted": False, "post_id": pid,
                             "user_id": admin.id,
                             "created_at": datetime.fromtimestamp(
                                 (today - 2) * 86_400, timezone.utc).strftime(
                                 "%Y-%m-%dT%H:%M:%S.000Z")}))
    bulk(search, ("\n".join(lines) + "\n").encode())
    es_request(search, "POST", f"/{INDEX}-entities/_refresh")
    # the closed days' cache holds the days with the post ranked (stored a minute after
    # the injected comments' days ended: they did long ago)
    client.request("GET", path, token=admin.token, timeout=120)
    time.sleep(2)
    out = {"q2 days=10, post ranked on 2 days: steady": timed(client, admin.token, path, repeat)}

    def telemetry_learns(doc_id: str) -> None:
        es_request(search, "POST", f"/{INDEX}-entities/_update/{doc_id}",
                   {"doc": {"deleted": True}})
        es_request(search, "POST", f"/{INDEX}-entities/_refresh")

    deletions = [("comment", f"/api/v1/comments/{comment['id']}",
                  f"comment:{4_000_000_000 + 1000}", 35),
                 ("post", f"/api/v1/posts/{pid}", f"post:{pid}", 3)]
    for kind, url, doc_id, settle_s in deletions:
        r = client.delete(url, token=admin.token)
        assert r.status in (200, 204), r
        telemetry_learns(doc_id)
        out[f"q2 days=10 after a {kind} deletion (ranked post)"] = timed(
            client, admin.token, path, repeat)
        time.sleep(settle_s)
        out[f"q2 days=10, {settle_s} s after the {kind} deletion"] = timed(
            client, admin.token, path, repeat)
    for name, v in out.items():
        log(f"  {name}: {v}")
    return out


# ------------------------------------------------------------------ q1 in Kathmandu: where the time goes

DAY_MS, SLOT_MS = 86_400_000, 1_800_000


def es_timed(search, path: str, body, ndjson: bool = False):
    """POST `body` to `path`: (the answer, wall ms of the request, answer bytes)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        search.url + path, data=data, method="POST",
        headers={"Content-Type": "application/x-ndjson" if ndjson else "application/json"})
    t0 = time.perf_counter()
    with search.open(req, 120) as r:
        raw = r.read()
    ms = (time.perf_counter() - t0) * 1000
    return json.loads(raw), ms, len(raw)


def split_inner(start: int, end: int) -> dict:
    """analytics.cpp's split_inner: the UTC day of the end, the half-hour slots, the ends."""
    day_start = (end - 1) // DAY_MS * DAY_MS
    tail_start = day_start + (end - day_start) // SLOT_MS * SLOT_MS
    start_slot = -(-(start - (day_start - DAY_MS)) // SLOT_MS)
    head_end = day_start - DAY_MS + start_slot * SLOT_MS
    return {"utc_day": datetime.fromtimestamp(day_start / 1000, timezone.utc).strftime("%Y-%m-%d"),
            "start_slot": start_slot, "end_slot": (tail_start - day_start) // SLOT_MS,
            "ends": [(start, head_end), (tail_start, end)]}


def q1_profile_phase(search, repeat: int, tz: str = "Asia/Kathmandu", days: int = 30) -> dict:
    """Replays q1's requests for `tz` (a zone whose days do not start on a half hour) as
    analytics.cpp sends them, and variants of them, each `repeat` times: median wall ms (the
    request as a client sees it), median `took` (the engine's time), answer bytes, buckets;
    once with the engines' shard request cache (the default: the same body on unchanged
    shards is answered from it) and once without (`request_cache=false`: what a request
    costs when telemetry's refreshes have emptied it)."""
    qdir = REPO / "queries"

    def fill(name: str, params: dict) -> dict:
        text = (qdir / name).read_text()
        for k, v in params.items():
            text = text.replace("{{" + k + "}}", str(v))
        return json.loads(text)

    params = {"tz": tz, "from": f"now-{days - 1}d/d", "to": "now/d", "to_next": "now/d+1d"}
    bounds, _, _ = es_timed(search, f"/{INDEX}-logins/_search", fill("q1_days.json", params))
    keys = bounds["aggregations"]["days"]["buckets"]
    splits = [split_inner(keys[i]["key"], keys[i + 1]["key"]) for i in range(len(keys) - 1)]
    first, last = splits[0]["utc_day"], splits[-1]["utc_day"]
    slots = {"start_slot": splits[0]["start_slot"], "end_slot": splits[0]["end_slot"]}
    q1_file = fill("q1_logged_in_users_per_day.json",
                   {**params, **slots, "first_utc_day": first, "last_utc_day": last})
    ends_filter = {"bool": {"should": [
        {"range": {"occurred_at": {"gte": a, "lt": b, "format": "epoch_millis"}}}
        for sp in splits for a, b in sp["ends"] if a < b], "minimum_should_match": 1}}
    login = {"term": {"type": "user.logged_in"}}
    user_source = {"user": {"terms": {"field": "user_id.num"}}}

    def one_composite(page: int, after=None) -> dict:
        comp = {"size": page, "sources": [
            {"day": {"date_histogram": {"field": "occurred_at", "calendar_interval": "day",
                                        "time_zone": tz, "format": "yyyy-MM-dd"}}},
            user_source]}
        if after:
            comp["after"] = after
        return {"size": 0, "track_total_hits": False,
                "query": {"bool": {"filter": [login, ends_filter]}},
                "aggs": {"users": {"composite": comp}}}

    def per_day_composite(sp: dict) -> dict:
        return {"size": 0, "track_total_hits": False,
                "query": {"bool": {"filter": [login, {"bool": {"should": [
                    {"range": {"occurred_at": {"gte": a, "lt": b, "format": "epoch_millis"}}}
                    for a, b in sp["ends"] if a < b], "minimum_should_match": 1}}]}},
                "aggs": {"day_users": {"composite": {"size": 50_000, "sources": [user_source]}}}}

    def msearch(pairs, cache: bool, filter_path: str = ""):
        lines = []
        for index, body in pairs:
            lines.append(json.dumps({"index": index, **({} if cache else {"request_cache": False})}))
            lines.append(json.dumps(body))
        path = "/_msearch" + (f"?filter_path=took,responses.status,{filter_path}" if filter_path else "")
        return es_timed(search, path, ("\n".join(lines) + "\n").encode(), ndjson=True)

    # the users of each day's ends, once (for already_counted's bodies)
    ends_users: list[list[int]] = []
    answer, _, _ = msearch([(INDEX, per_day_composite(sp)) for sp in splits], True)
    for r in answer["responses"]:
        ends_users.append([b["key"]["user"] for b in r["aggregations"]["day_users"]["buckets"]])

    def counted(field: str) -> dict:
        clauses = []
        for sp, users in zip(splits, ends_users):
            ids = [str(u) for u in users] if field == "user_id" else users
            clauses.append({"bool": {"filter": [
                {"term": {"day": sp["utc_day"]}}, {"terms": {field: ids}},
                {"bool": {"should": [{"term": {f"b{sp['end_slot']}": True}},
                                     {"term": {f"a{sp['start_slot']}": True}}],
                          "minimum_should_match": 1}}]}})
        return {"size": 0, "track_total_hits": False,
                "query": {"bool": {"should": clauses, "minimum_should_match": 1}},
                "aggs": {"per_day": {"date_histogram": {
                    "field": "day", "calendar_interval": "day", "format": "yyyy-MM-dd"}}}}

    def counted_by_id() -> dict:
        ids = [f"{u}:{sp['utc_day']}" for sp, users in zip(splits, ends_users) for u in users]
        return {"size": 0, "track_total_hits": False,
                "query": {"bool": {"filter": [{"ids": {"values": ids}}, {"bool": {"should": [
                    {"term": {f"b{splits[0]['end_slot']}": True}},
                    {"term": {f"a{splits[0]['start_slot']}": True}}],
                    "minimum_should_match": 1}}]}},
                "aggs": {"per_day": {"date_histogram": {
                    "field": "day", "calendar_interval": "day", "format": "yyyy-MM-dd"}}}}

    def search_one(index: str, body: dict, cache: bool):
        return es_timed(search, f"/{index}/_search" + ("" if cache else "?request_cache=false"),
                        body)

    def paged(page: int, cache: bool, after=None):
        ms = took = size = n = pages = 0
        while True:
            a, m, b = search_one(INDEX, one_composite(page, after), cache)
            agg = a["aggregations"]["users"]
            ms, took, size, pages = ms + m, took + a["took"], size + b, pages + 1
            n += len(agg["buckets"])
            after = agg.get("after_key")
            if not after or len(agg["buckets"]) < page:
                return {"ms": ms, "took": took, "bytes": size, "buckets": n, "requests": pages}

    ends_fp = ("responses.aggregations.day_users.after_key,"
               "responses.aggregations.day_users.buckets.key")
    days_fp = ("responses.aggregations.per_day.buckets.key_as_string,"
               "responses.aggregations.per_day.buckets.doc_count")

    def step(kind, cache):
        if kind == "bounds":
            a, m, b = search_one(f"{INDEX}-logins", fill("q1_days.json", params), cache)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "days_msearch (q1 file)":
            a, m, b = msearch([(f"{INDEX}-logins", q1_file)], cache, days_fp)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "ends composite, pages of 10,000 (before)":
            return paged(10_000, cache)
        if kind == "ends composite, pages of 50,000":
            return paged(50_000, cache)
        if kind == "ends per day, one _msearch (after)":
            a, m, b = msearch([(INDEX, per_day_composite(sp)) for sp in splits], cache, ends_fp)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "days + ends per day, one _msearch (after)":
            a, m, b = msearch([(f"{INDEX}-logins", q1_file)] +
                              [(INDEX, per_day_composite(sp)) for sp in splits], cache,
                              days_fp + "," + ends_fp)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "days + ends composite in pages of 50,000, one _msearch then pages":
            a, m, b = msearch([(f"{INDEX}-logins", q1_file), (INDEX, one_composite(50_000))],
                              cache, days_fp + ",responses.aggregations.users.after_key,"
                              "responses.aggregations.users.buckets.key")
            agg = a["responses"][1].get("aggregations", {}).get("users", {})
            row = {"ms": m, "took": a["took"], "bytes": b, "requests": 1}
            if len(agg.get("buckets", [])) == 50_000 and agg.get("after_key"):
                more = paged(50_000, cache, agg["after_key"])
                row = {k: row[k] + more[k] for k in row}
            return row
        if kind == "already_counted, terms on user_id (before)":
            a, m, b = search_one(f"{INDEX}-logins", counted("user_id"), cache)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "already_counted, terms on user_id.num":
            a, m, b = search_one(f"{INDEX}-logins", counted("user_id.num"), cache)
            return {"ms": m, "took": a["took"], "bytes": b}
        if kind == "already_counted, ids":
            a, m, b = search_one(f"{INDEX}-logins", counted_by_id(), cache)
            return {"ms": m, "took": a["took"], "bytes": b}
        raise ValueError(kind)

    kinds = ["bounds", "days_msearch (q1 file)", "ends composite, pages of 10,000 (before)",
             "ends composite, pages of 50,000", "ends per day, one _msearch (after)",
             "days + ends per day, one _msearch (after)",
             "days + ends composite in pages of 50,000, one _msearch then pages",
             "already_counted, terms on user_id (before)", "already_counted, terms on user_id.num",
             "already_counted, ids"]
    out = {"tz": tz, "days": len(splits), "end_users": sum(map(len, ends_users)),
           "end_users_max_day": max(map(len, ends_users))}
    log(f"q1 profile {tz}: {out}")
    for cache in (True, False):
        for kind in kinds:
            runs = [step(kind, cache) for _ in range(repeat + 1)][1:]  # the first apart
            row = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
            out[f"{kind}, {'cache' if cache else 'no cache'}"] = row
            print(f"q1_profile tz={tz} request_cache={'on' if cache else 'off'} "
                  f"step=\"{kind}\" " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return out


def q1_profile_serve(bin_path: str, search, work: Path, repeat: int,
                     path: str = "/api/v1/analytics/logins?days=30&tz=Asia/Kathmandu") -> dict:
    """`bin_path`'s serve at log level debug: `path` once, then `repeat` times; its
    `event=q1_step` lines (analytics.cpp) summed per call and step, medians over the repeats
    (the steps' ms include parsing the answer; `total` is q1's whole run in serve)."""
    srv = ServerProcess(workdir=work / f"profile-{time.time_ns()}", binary=bin_path,
                        env_overrides={**search.env(), "BSOCIAL_QUERIES_DIR": str(REPO / "queries"),
                                       "BSOCIAL_ANALYTICS_TIMEOUT_MS": "60000",
                                       "BSOCIAL_LOG_LEVEL": "debug"})
    os.environ["BSOCIAL_BIN"] = bin_path
    srv.start()
    try:
        client = Client(srv)
        client.checks = False
        admin = make_admin(bin_path, srv, client)
        http_ms = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            client.request("GET", path, token=admin.token, timeout=120)
            http_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        srv.stop(check=False)
    calls: list[dict] = [{}]
    for line in srv.all_stderr_text().splitlines():
        if "event=q1_step" not in line:
            continue
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        one = calls[-1].setdefault(f["step"], {"ms": 0.0, "took": 0, "bytes": 0, "buckets": 0,
                                               "requests": 0})
        one["ms"] += float(f["ms"])
        one["requests"] += 1
        for k in ("took", "bytes", "buckets"):
            one[k] += int(f.get(k, 0))
        if f["step"] == "total":
            calls.append({})
    calls = [c for c in calls if c][1:]  # the first call apart
    out = {"http_ms": round(statistics.median(http_ms[1:]), 1)}
    for name in dict.fromkeys(k for c in calls for k in c):
        rows = [c[name] for c in calls if name in c]
        out[name] = {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
    for name, row in out.items():
        print(f"q1_serve_profile bin={bin_path} step={name} " +
              (" ".join(f"{k}={v}" for k, v in row.items()) if isinstance(row, dict)
               else f"ms={row}"), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--indexer-events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--event-docs", choices=("all", "logins", "none"), default="all",
                    help="the event documents written besides the entities and login days: "
                         "every event's (all, as telemetry leaves them), the logins' and "
                         "logouts' only (logins: every event document a query reads, q1 in "
                         "a zone whose days do not start on a half hour; a load a third as "
                         "long), or the registrations' only (none)")
    ap.add_argument("--no-event-docs", dest="event_docs", action="store_const", const="none",
                    help="the same as --event-docs none")
    ap.add_argument("--compare-bin", default="",
                    help="another build's bsocial: its serve answers the same calls after "
                         "--bin's, alternated --rounds times (A/B in the same minutes)")
    ap.add_argument("--compare-queries", default="",
                    help="the queries directory of --compare-bin (default: this repository's)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--wait-for", default="",
                    help="after loading, wait until this file exists before timing (lets a "
                         "build finish while a long load runs)")
    ap.add_argument("--deletions", action=argparse.BooleanOptionalAction, default=True,
                    help="after the dashboard's calls, time q2 after a comment's and a "
                         "post's deletion (deletion_phase)")
    ap.add_argument("--profile-q1", action="store_true",
                    help="after loading, replay q1's requests in Asia/Kathmandu and variants "
                         "of them (q1_profile_phase), --repeat times each")
    ap.add_argument("--profile-bins", default="",
                    help="comma-separated builds whose serve (log level debug) answers q1 in "
                         "Asia/Kathmandu --repeat times, their q1_step lines summed per step "
                         "(q1_profile_serve)")
    ap.add_argument("--bin", default=os.environ.get("BSOCIAL_BIN",
                                                    str(REPO / "build" / "release" / "bsocial")))
    args = ap.parse_args()
    os.environ["BSOCIAL_BIN"] = str(Path(args.bin).resolve())
    engine = engine_under_test()
    results: dict = {"engine": engine, "bin": args.bin, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp:
        work = Path(tmp)
        stack = Stack(work / "stack")
        ep = stack.start(kafka=True, **engine_choice(engine))
        try:
            search = start_search(stack, engine)
            if args.indexer_events:
                results["indexer"] = indexer_phase(stack, search, ep["kafka"],
                                                   args.indexer_events, work)
                ix = results["indexer"]
                print(f"indexer engine={engine} events={ix['events']} seconds={ix['seconds']} "
                      f"events_per_s={ix['events_per_s']} documents={ix['documents']} "
                      f"load_before={ix['load']}", flush=True)
            # templates for INDEX: one telemetry start
            TelemetryProcess(work, ep["kafka"], search, {"BSOCIAL_TELEMETRY_GROUP": "bench-x"},
                             "installer").start().stop()
            written = 0
            for size in [int(s) for s in args.sizes.split(",")]:
                net = Network(size - written, seed=size, id_base=written,
                              users=max(100, size // 50), event_docs=args.event_docs)
                t0 = time.monotonic()
                written += load_network(search, net)
                secs = time.monotonic() - t0
                total = es_count(search, INDEX)
                counts = {k: es_count(search, f"{INDEX}-{k}") for k in ("entities", "logins")}
                log(f"{total} events in the alias ({secs:.0f} s to write); {counts}; "
                    f"generated {net.counts}; load {load()}")
                print(f"loaded engine={engine} size={size} events_in_alias={total} "
                      f"entities={counts['entities']} login_days={counts['logins']} "
                      f"seconds={secs:.0f} generated={json.dumps(net.counts)}", flush=True)
                if args.profile_q1:
                    results.setdefault("q1_profile", {})[str(size)] = q1_profile_phase(
                        search, args.repeat)
                if args.wait_for:  # e.g. a build still compiling while the load ran
                    log(f"waiting for {args.wait_for}")
                    while not Path(args.wait_for).exists():
                        time.sleep(5)
                for b in filter(None, args.profile_bins.split(",")):
                    results.setdefault("q1_serve_profile", {}).setdefault(str(size), {})[b] = \
                        q1_profile_serve(str(Path(b).resolve()), search, work, args.repeat)
                # each build (--compare-bin: A/B in the same minutes) on a serve of its
                # own (a cold cache of closed days: "first" is an uncached answer)
                builds = [(args.bin, str(REPO / "queries"))]
                if args.compare_bin:
                    builds.append((str(Path(args.compare_bin).resolve()),
                                   args.compare_queries or str(REPO / "queries")))
                for rnd in range(args.rounds):
                    for bin_path, queries in builds:
                        os.environ["BSOCIAL_BIN"] = bin_path
                        srv = ServerProcess(
                            workdir=work / f"srv-{size}-{rnd}-{len(bin_path)}-{time.time_ns()}",
                            env_overrides={**search.env(), "BSOCIAL_QUERIES_DIR": queries,
                                           "BSOCIAL_ANALYTICS_TIMEOUT_MS": "60000"})
                        srv.start()
                        try:
                            client = Client(srv)
                            admin = make_admin(bin_path, srv, client)
                            token = admin.token
                            load_before = load()
                            q = queries_phase(client, token, args.repeat)
                            if args.deletions:
                                try:
                                    q.update(deletion_phase(client, admin, search,
                                                            args.repeat))
                                except Exception as e:  # noqa: BLE001 - a figure is missing
                                    log(f"deletion phase failed: {e!r}")
                        finally:
                            srv.stop()
                        results.setdefault("queries", {}).setdefault(str(size), []).append({
                            "bin": bin_path, "round": rnd, "events": total,
                            "load": load_before, "calls": q, "generated": net.counts,
                            **counts})
                        for name, v in q.items():
                            print(f"query engine={engine} size={size} events={total} "
                                  f"bin={bin_path} round={rnd} call=\"{name}\" "
                                  f"p50_ms={v['p50']} p95_ms={v['p95']} max_ms={v['max']} "
                                  f"first_ms={v['first']} statuses={v['statuses']} "
                                  f"load_before={load_before}", flush=True)
        finally:
            stack.stop_all()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
