#!/usr/bin/env python3
"""Benchmark of the analytics at scale (issue 29), on a real local stack (Kafka + the search
engine from stack/bstack.py; BSOCIAL_TEST_ENGINE picks it, Elasticsearch by default).

Prints:
  indexer     --indexer-events crafted events (logins, posts, comments) produced to Kafka
              first, then `bsocial telemetry` started on a fresh group: events/s from its
              ready line until every event is searchable in the events alias.
  queries     for each size of --sizes (events): the documents written with _bulk directly
              (the same documents telemetry writes: monthly event indices under the alias,
              the posts' and comments' entity documents), then each analytics API call of
              the dashboard (GET /api/v1/analytics/logins?days=7|30, top-posts, extremes of
              the heaviest poster and of an ordinary user) --repeat times through `bsocial
              serve`: p50 / p95 / max in ms.
  The load average of the machine before each phase (2 cores shared with other engineers).

  python3 bench/analytics_bench.py [--sizes 1000000,10000000] [--indexer-events 100000]
      [--repeat 20] [--bin build/release/bsocial]

The event -> searchable lag from a cold start is bench/telemetry_bench.py's
(`--events 200 --warmup 0 --seconds 30`); `make bench-analytics` runs both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
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
    """N events over `days` days ending now: 40 % logins of N/20 users, 20 % posts (1 % of
    them by user 1, "heavy"), 40 % comments on earlier posts (the recent ones more)."""

    def __init__(self, events: int, days: int = 30, seed: int = 29, id_base: int = 0):
        self.id_base = id_base  # post and comment ids start above it (a second size adds)
        self.events = events
        self.users = max(100, events // 20)
        self.days = days
        self.rnd = random.Random(seed)
        self.now_ms = int(time.time() * 1000)
        self.start_ms = self.now_ms - days * 86_400_000

    def batches(self, size: int = 20_000):
        """NDJSON _bulk bodies (bytes) and how many events each holds."""
        rnd, users = self.rnd, self.users
        span = self.now_ms - self.start_ms
        posts: list[tuple[int, int]] = []  # (post id, author)
        lines: list[str] = []
        n_in = 0
        next_post, next_comment = self.id_base + 1, self.id_base + 1
        # the heavy user's username, for extremes by username
        for u, name in ((1, "heavy"), (2, "ordinary")):
            lines.append(self._event("user.registered", self.start_ms,
                                     f'"user_id":"{u}","username":"{name}"'))
        for i in range(self.events):
            at = self.start_ms + span * i // self.events
            r = rnd.random()
            if r < 0.4 or not posts:
                u = rnd.randrange(1, users + 1)
                lines.append(self._event("user.logged_in", at, f'"user_id":"{u}","username":"u{u}"'))
            elif r < 0.6:
                author = 1 if rnd.random() < 0.01 else (2 if rnd.random() < 0.0005 else
                                                         rnd.randrange(3, users + 1))
                pid = next_post
                next_post += 1
                posts.append((pid, author))
                fields = f'"post_id":"{pid}","user_id":"{author}","username":"u{author}"'
                lines.append(self._event("post.created", at, fields))
                lines.append(self._entity("post", pid, at,
                                          f'"post_id":"{pid}","user_id":"{author}"'))
            else:
                # recent posts more often: the last 2,000 half of the time
                k = len(posts)
                j = rnd.randrange(max(0, k - 2000), k) if rnd.random() < 0.5 else rnd.randrange(k)
                pid, author = posts[j]
                cid = next_comment
                next_comment += 1
                u = rnd.randrange(1, users + 1)
                fields = (f'"comment_id":"{cid}","post_id":"{pid}","post_author_id":"{author}",'
                          f'"user_id":"{u}","username":"u{u}"')
                lines.append(self._event("comment.created", at, fields))
                lines.append(self._entity("comment", cid, at,
                                          f'"comment_id":"{cid}","post_id":"{pid}",'
                                          f'"post_author_id":"{author}","user_id":"{u}"'))
            n_in += 1
            if len(lines) >= size:
                yield ("".join(lines)).encode(), n_in
                lines, n_in = [], 0
        if lines:
            yield ("".join(lines)).encode(), n_in

    @staticmethod
    def _iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{ms % 1000:03d}Z"

    def _event(self, type_: str, at: int, fields: str) -> str:
        iso = self._iso(at)
        eid = uuid.uuid4().hex
        return (f'{{"create":{{"_index":"{INDEX}-{iso[:4]}.{iso[5:7]}","_id":"{eid}"}}}}\n'
                f'{{"event_id":"{eid}","type":"{type_}","version":1,"occurred_at":"{iso}",'
                f'{fields}}}\n')

    def _entity(self, kind: str, n: int, at: int, fields: str) -> str:
        return (f'{{"create":{{"_index":"{INDEX}-entities","_id":"{kind}:{n}"}}}}\n'
                f'{{"kind":"{kind}","deleted":false,"created_at":"{self._iso(at)}",{fields}}}\n')


def bulk(search, body: bytes) -> None:
    req = urllib.request.Request(search.url + "/_bulk", data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    with search.open(req, 600) as r:
        answer = json.loads(r.read())
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


def make_admin(bin_path: str, srv: ServerProcess, client: Client) -> str:
    admin = client.new_user(username="analyst")
    p = subprocess.run([bin_path, "admin", "grant", "analyst", "--data-dir", str(srv.data_dir)],
                       capture_output=True, text=True, env=srv.env(), timeout=60)
    assert p.returncode == 0, p.stderr
    deadline = time.monotonic() + 15
    while not client.get("/api/v1/users/me", token=admin.token).json["is_admin"]:
        if time.monotonic() > deadline:
            raise RuntimeError("admin role not seen")
        time.sleep(0.5)
    return admin.token


def queries_phase(client: Client, token: str, repeat: int) -> dict:
    calls = {
        "q1 logins?days=7": "/api/v1/analytics/logins?days=7",
        "q1 logins?days=30": "/api/v1/analytics/logins?days=30",
        "q2 top-posts (10 days)": "/api/v1/analytics/top-posts",
        "q3 extremes, heaviest poster": "/api/v1/analytics/users/heavy/extremes",
        "q3 extremes, ordinary user": "/api/v1/analytics/users/ordinary/extremes",
    }
    out = {}
    client.checks = False  # a 503 (timeout) is a figure here, not a crash
    for name, path in calls.items():
        t0 = time.perf_counter()
        r = client.request("GET", path, token=token, timeout=120)  # the first, apart
        first = (time.perf_counter() - t0) * 1000
        ms, statuses = [], {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.request("GET", path, token=token, timeout=120)
            ms.append((time.perf_counter() - t0) * 1000)
            statuses[r.status] = statuses.get(r.status, 0) + 1
        out[name] = {"p50": round(statistics.median(ms)), "p95": round(pct(ms, 95)),
                     "max": round(max(ms)), "first": round(first), "statuses": statuses}
        log(f"  {name}: {out[name]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--indexer-events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
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
            srv = ServerProcess(workdir=work / "srv", env_overrides={
                **search.env(), "BSOCIAL_QUERIES_DIR": str(REPO / "queries"),
                "BSOCIAL_ANALYTICS_TIMEOUT_MS": "60000"})
            srv.start()
            try:
                client = Client(srv)
                token = make_admin(args.bin, srv, client)
                written = 0
                for size in [int(s) for s in args.sizes.split(",")]:
                    net = Network(size - written, seed=size, id_base=written)
                    t0 = time.monotonic()
                    for body, n in net.batches():
                        bulk(search, body)
                        written += n
                    es_request(search, "POST", "/_refresh")
                    secs = time.monotonic() - t0
                    total = es_count(search, INDEX)
                    log(f"{total} events in the alias ({secs:.0f} s to write); load {load()}")
                    load_before = load()
                    q = queries_phase(client, token, args.repeat)
                    results.setdefault("queries", {})[str(size)] = {
                        "events": total, "load": load_before, "calls": q}
                    for name, v in q.items():
                        print(f"query engine={engine} events={total} call=\"{name}\" "
                              f"p50_ms={v['p50']} p95_ms={v['p95']} max_ms={v['max']} "
                              f"first_ms={v['first']} statuses={v['statuses']} "
                              f"load_before={load_before}", flush=True)
            finally:
                srv.stop()
        finally:
            stack.stop_all()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
