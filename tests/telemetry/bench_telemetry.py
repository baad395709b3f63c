#!/usr/bin/env python3
"""Benchmark of `bsocial telemetry` on a real local stack (not part of the test suite).

Prints two numbers:
  throughput  N crafted events produced to Kafka first (kcat), then telemetry started on a
              fresh group: events/s from its ready line until all N are searchable.
  lag         posts written through the HTTP API (relay on) at --rate posts/s for
              --seconds (4 writer threads, paced): time from the 201 response to the post
              being searchable (ids query every 10 ms), p50 / p99 / max, after --warmup
              seconds at the same rate (printed apart), and the p99 by 5-second window.

  python3 tests/telemetry/bench_telemetry.py [--events 20000] [--rate 200] [--seconds 30]
      [--warmup 5] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "integration", REPO / "stack"):
    sys.path.insert(0, str(p))

from bsocial_support import Client, ServerProcess, hexid  # noqa: E402
from telemetry_support import (  # noqa: E402
    TelemetryProcess, crafted_comment, crafted_login, engine_choice, engine_under_test, es_count,
    es_request, kcat_produce, ms_to_rfc3339, start_search)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=200.0, help="posts/s of the lag phase")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the lag phase")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds at the same rate before the measured lag phase (printed apart)")
    args = ap.parse_args()
    from bstack import Stack  # type: ignore

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
                "BSOCIAL_TELEMETRY_GROUP": f"bench-{hexid(4)}"}, name="bench").start()
            t0 = time.monotonic()
            while es_count(es) < args.events:
                time.sleep(0.05)
            took = time.monotonic() - t0
            print(f"throughput events={args.events} batch={args.batch} seconds={took:.2f} "
                  f"events_per_s={args.events / took:.0f}")

            # ---- lag: API write -> searchable
            srv = ServerProcess(workdir=tmp / "srv", env_overrides={
                "BSOCIAL_KAFKA_BROKERS": kafka, "BSOCIAL_LOGIN_MAX_FAILURES": "1000"}).start()
            client = Client(srv)
            user = client.new_user(username=f"bench_{hexid(3)}")
            pending: dict[str, float] = {}
            lags: list[float] = []
            sent_at: list[float] = []  # when each post of `lags` was created
            lock = threading.Lock()
            done = threading.Event()

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
                                    lags.append(seen - sent)
                                    sent_at.append(sent)
                    time.sleep(0.01)

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

            ws = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
            for t in ws:
                t.start()
            for t in ws:
                t.join()
            achieved = total / (time.monotonic() - t_begin)
            done.set()
            poller.join(timeout=120)
            # The first 5-10 s after a cold start are slower (measured: p99 ~2.5 s, with a
            # 20,000- or a 200-event backlog alike; cause not found). They are printed
            # apart (--warmup 0 measures them in); the per-window line shows them too.
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
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
