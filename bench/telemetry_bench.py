#!/usr/bin/env python3
"""Benchmark of `bsocial telemetry` on a real local stack (not part of the test suite).

Prints two numbers:
  throughput  N crafted events produced to Kafka first (kcat), then telemetry started on a
              fresh group: events/s from its ready line until all N are searchable.
  lag         posts written through the HTTP API (relay on) at --rate posts/s for
              --seconds (4 writer threads, paced): time from the 201 response to the post
              being searchable (ids query every 10 ms), p50 / p99 / max, after --warmup
              seconds at the same rate (printed apart), the p99 by 5-second window, and the
              lag split at Kafka (201 -> produced by the relay; produced -> searchable).

  python3 bench/telemetry_bench.py [--events 20000] [--rate 200] [--seconds 30]
      [--warmup 5] [--batch 500] [--probe-ms 10] [--telemetry-log-level debug] [--keep-logs DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.stack import Stack
from bsocial_testkit.telemetry import (
    TelemetryProcess, crafted_comment, crafted_login, engine_choice, engine_under_test, es_count,
    es_request, kcat_produce, ms_to_rfc3339, start_search)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def print_stages(kafka: str, wall201: dict[str, float], wallseen: dict[str, float]) -> None:
    """Splits the lag at Kafka: 201 -> in Kafka (the relay; the event's Kafka timestamp is the
    relay's produce time) and in Kafka -> searchable (telemetry, bulk, refresh)."""
    out = subprocess.run(["kcat", "-b", kafka, "-C", "-t", "bsocial.posts", "-e", "-q",
                          "-f", "%T\t%s\n"], capture_output=True, text=True, check=True).stdout
    relay, indexing = [], []
    for line in out.splitlines():
        ts, payload = line.split("\t", 1)
        pid = str(json.loads(payload)["data"]["post_id"])
        if pid in wall201 and pid in wallseen:
            produced = int(ts) / 1000
            relay.append(max(0.0, produced - wall201[pid]) * 1000)
            indexing.append((wallseen[pid] - produced) * 1000)
    if relay:
        print(f"lag stages posts={len(relay)} (whole run): 201->Kafka p50_ms={statistics.median(relay):.0f} "
              f"p99_ms={percentile(relay, 99):.0f}; Kafka->searchable "
              f"p50_ms={statistics.median(indexing):.0f} p99_ms={percentile(indexing, 99):.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=200.0, help="posts/s of the lag phase")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the lag phase")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds at the same rate before the measured lag phase (printed apart)")
    ap.add_argument("--probe-ms", type=float, default=10.0,
                    help="how often the lag phase searches for the pending posts")
    ap.add_argument("--telemetry-log-level", default="info",
                    help="debug logs each bulk request's size and time")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs to DIR")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmp:
        tmp = Path(tmp)
        stack = Stack(tmp / "stack")
        engine = engine_under_test()
        ep = stack.start(kafka=True, **engine_choice(engine))
        kafka, es = ep["kafka"], start_search(stack, engine)
        try:
            # ---- throughput: a backlog of N events, then start telemetry
            now = int(time.time() * 1000)
            half = args.events // 2
            logins = [json.dumps(crafted_login(100000 + i % 5000, ms_to_rfc3339(now - i))).encode()
                      for i in range(half)]
            comments = [json.dumps(crafted_comment(i, 500000 + i % 3000,
                                                   ms_to_rfc3339(now - i))).encode()
                        for i in range(args.events - half)]
            kcat_produce(kafka, "bsocial.users", "k", logins)
            kcat_produce(kafka, "bsocial.comments", "k", comments)
            tel = TelemetryProcess(tmp, kafka, es, {
                "BSOCIAL_TELEMETRY_BATCH_EVENTS": str(args.batch),
                "BSOCIAL_TELEMETRY_GROUP": f"bench-{hexid(4)}",
                "BSOCIAL_LOG_LEVEL": args.telemetry_log_level},
                name="bench").start()
            t0 = time.monotonic()
            while es_count(es) < args.events:
                time.sleep(0.05)
            took = time.monotonic() - t0
            print(f"throughput events={args.events} batch={args.batch} seconds={took:.2f} "
                  f"events_per_s={args.events / took:.0f}")

            # ---- lag: API write -> searchable
            srv = ServerProcess(workdir=tmp / "srv", env_overrides={
                "BSOCIAL_KAFKA_BROKERS": kafka, "BSOCIAL_LOGIN_MAX_FAILURES": "1000",
                # one user posts --rate/s for the whole run: no per-user post limit
                "BSOCIAL_POSTS_PER_MINUTE": "0"}).start()
            client = Client(srv)
            user = client.new_user(username=f"bench_{hexid(3)}")
            pending: dict[str, float] = {}
            lags: list[float] = []
            sent_at: list[float] = []  # when each post of `lags` was created
            lock = threading.Lock()
            done = threading.Event()
            wall201: dict[str, float] = {}  # post id -> wall clock of its 201
            wallseen: dict[str, float] = {}  # post id -> wall clock it was first found

            def poll():
                while not done.is_set() or pending:
                    with lock:
                        ids = list(pending)
                    if ids:
                        st, body = es_request(es, "POST", "/bsocial-events/_search", {
                            "size": len(ids), "_source": ["post_id"],
                            "query": {"bool": {"filter": [
                                {"term": {"type": "post.created"}},
                                {"terms": {"post_id": ids}}]}}})
                        seen = time.monotonic()
                        for h in body["hits"]["hits"]:
                            pid = h["_source"]["post_id"]
                            with lock:
                                if pid in pending:
                                    sent = pending.pop(pid)
                                    wallseen[pid] = time.time()
                                    lags.append(seen - sent)
                                    sent_at.append(sent)
                    time.sleep(args.probe_ms / 1000)

            poller = threading.Thread(target=poll)
            poller.start()
            total = int(args.rate * (args.warmup + args.seconds))
            writers = 4
            t_begin = time.monotonic() + 0.2

            def write(k):
                c = Client(srv)
                for i in range(k, total, writers):
                    pause = t_begin + i / args.rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    post = c.create_post(user, f"bench {i}")
                    with lock:
                        pending[post["id"]] = time.monotonic()
                        wall201[post["id"]] = time.time()

            ws = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
            for t in ws:
                t.start()
            for t in ws:
                t.join()
            achieved = total / (time.monotonic() - t_begin)
            done.set()
            poller.join(timeout=120)
            # The first 5-10 s after a cold start are slower (OpenSearch's first bulk requests
            # take several times longer: a cold JVM). They are printed apart (--warmup 0
            # measures them in); the per-window line shows them too.
            measured_from = t_begin + args.warmup
            warm = [lag * 1000 for sent, lag in zip(sent_at, lags) if sent < measured_from]
            ms = [lag * 1000 for sent, lag in zip(sent_at, lags) if sent >= measured_from]
            if warm:
                print(f"lag warm-up posts={len(warm)} ({args.warmup:g}s) "
                      f"p50_ms={statistics.median(warm):.0f} p99_ms={percentile(warm, 99):.0f} "
                      f"max_ms={max(warm):.0f}")
            print(f"lag posts={len(ms)} ({args.seconds:g}s after the warm-up) rate={args.rate:g}/s "
                  f"achieved={achieved:.0f}/s "
                  f"p50_ms={statistics.median(ms):.0f} p99_ms={percentile(ms, 99):.0f} "
                  f"max_ms={max(ms):.0f} missing={len(pending)} "
                  f"(API 201 -> searchable: relay, Kafka, batch wait, bulk, refresh)")
            # The lag along the run, by 5-second window: a warm-up or a stall shows here.
            windows: dict[int, list[float]] = {}
            for sent, lag in zip(sent_at, lags):
                windows.setdefault(int((sent - t_begin) // 5), []).append(lag * 1000)
            print("lag by 5 s window from the first post, warm-up included (p99 ms): " + " ".join(
                f"{5 * w}s:{percentile(v, 99):.0f}" for w, v in sorted(windows.items())))
            srv.stop(check=False)
            tel.stop()
            print_stages(kafka, wall201, wallseen)
            if args.keep_logs:
                shutil.copytree(tmp, args.keep_logs, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.jar", "data", "kafka-logs*", "*.db*"))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
