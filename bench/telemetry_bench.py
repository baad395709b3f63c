#!/usr/bin/env python3
"""Benchmark of `bsocial telemetry` on a real local stack (not part of the test suite).

Prints two numbers:
  throughput  N crafted events (40 % logins, 20 % posts, 40 % comments; a post or comment is
              two _bulk items) produced to Kafka first (kcat), then telemetry started on a
              fresh group: events/s from its ready line until all N are searchable, the
              sustained rate between 10 % and 90 % of the backlog, duplicates (must be 0),
              the CPU seconds of telemetry / the engine / its TLS proxy, the engine's bulk,
              indexing, refresh and merge times, telemetry's bulk request times and _bulk
              items per event (login-day updates skipped or folded: login_days_skipped=).
              --seconds 0 stops there (`make bench-telemetry` runs --events 1000000 so).
  lag         posts written through the HTTP API (relay on) at --rate posts/s for
              --seconds (4 writer threads, paced): time from the 201 response to the post
              being searchable (ids query every 10 ms), p50 / p99 / max, after --warmup
              seconds at the same rate (printed apart), the p99 by 5-second window, and the
              lag split at Kafka (201 -> produced by the relay; produced -> searchable).
  cold start  from telemetry's start to the end of the lag phase: its start-up timeline (from
              its log: subscribed, templates, warm-up, loop, assigned, first bulk) and the
              engine JVM's CPU by thread kind (JIT compiler threads, indexing/search pools,
              GC) with the documents indexed, by 5-second window. Telemetry runs with the
              binary's default engine warm-up (--telemetry-env
              BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS=0 for an A/B without it).

  python3 bench/telemetry_bench.py [--events 20000] [--rate 200] [--seconds 30]
      [--warmup 5] [--batch N] [--batch-wait-ms 100] [--telemetry-env K=V ...] [--perf FILE]
      [--jfr FILE]
      [--probe-ms 10] [--telemetry-log-level debug] [--keep-logs DIR]
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import signal
import shutil
import subprocess
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.stack import Stack
from bsocial_testkit.telemetry import (
    TelemetryProcess, engine_choice, engine_under_test, es_count, es_request, ms_to_rfc3339,
    start_search, wait_until)


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


def backlog_lines(n: int, now_ms: int, first: int = 0, last: int | None = None
                  ) -> dict[str, list[bytes]]:
    """n crafted envelopes, "key<TAB>payload" per line, by topic: 40 % logins of 5,000 users,
    20 % posts, 40 % comments on those posts (a post or a comment is two _bulk items: its
    event and its entity document), occurred_at the last n ms, keys spread over partitions.
    Events first..last-1 of the n."""
    out: dict[str, list[bytes]] = {"bsocial.users": [], "bsocial.posts": [], "bsocial.comments": []}
    for i in range(first, n if last is None else last):
        at = ms_to_rfc3339(now_ms - (n - i))
        eid = uuid.uuid4().hex
        r = i % 5
        if r < 2:
            u = 100000 + (i * 7919) % 5000
            topic = "bsocial.users"
            env = (f'{{"id":"{eid}","type":"user.logged_in","version":1,"occurred_at":"{at}",'
                   f'"data":{{"user_id":"{u}","username":"c{u}","email":"c{u}@example.com",'
                   f'"logged_in_at":"{at}"}}}}')
        elif r == 2:
            u = 200000 + (i * 31) % 3000
            topic = "bsocial.posts"
            env = (f'{{"id":"{eid}","type":"post.created","version":1,"occurred_at":"{at}",'
                   f'"data":{{"post_id":"{i}","user_id":"{u}","username":"c{u}",'
                   f'"email":"c{u}@example.com","content":"bench post number {i} with some words",'
                   f'"created_at":"{at}"}}}}')
        else:
            u = 300000 + (i * 13) % 5000
            post = i - r + 2
            topic = "bsocial.comments"
            env = (f'{{"id":"{eid}","type":"comment.created","version":1,"occurred_at":"{at}",'
                   f'"data":{{"comment_id":"{i}","post_id":"{post}","post_author_id":'
                   f'"{200000 + (post * 31) % 3000}","user_id":"{u}","username":"c{u}",'
                   f'"email":"c{u}@example.com","content":"nice one","created_at":"{at}"}}}}')
        out[topic].append(f"{u}\t{env}".encode())
    return out


def kcat_produce_keyed(kafka: str, topic: str, lines: list[bytes]) -> None:
    """Each line "key<TAB>payload" as one message (partition by key), in chunks."""
    for start in range(0, len(lines), 200_000):
        chunk = b"\n".join(lines[start:start + 200_000]) + b"\n"
        r = subprocess.run(["kcat", "-P", "-b", kafka, "-t", topic, "-K", "\t", "-z", "lz4",
                            "-X", "linger.ms=50", "-X", "batch.num.messages=10000"],
                           input=chunk, capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr


def cpu_seconds(pid: int | None, children: bool = False) -> float:
    """utime + stime of a process (and its reaped children; with `children` its live child
    processes too, e.g. nginx's workers) from /proc, in seconds."""
    if not pid:
        return 0.0
    if children:
        kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return cpu_seconds(pid) + sum(cpu_seconds(k) for k in kids)
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")


def node_stats(es) -> dict:
    st, body = es_request(es, "GET", "/_nodes/_local/stats/indices,thread_pool,jvm")
    assert st == 200, body
    node = next(iter(body["nodes"].values()))
    ix = node["indices"]
    return {"bulk_ops": ix.get("bulk", {}).get("total_operations", 0),
            "bulk_ms": ix.get("bulk", {}).get("total_time_in_millis", 0),
            "index_ms": ix["indexing"]["index_time_in_millis"],
            "refreshes": ix["refresh"]["total"], "refresh_ms": ix["refresh"]["total_time_in_millis"],
            "merge_ms": ix["merges"]["total_time_in_millis"],
            "flush_ms": ix["flush"]["total_time_in_millis"],
            "write_rejected": node["thread_pool"]["write"]["rejected"],
            "gc_ms": sum(c["collection_time_in_millis"]
                         for c in node["jvm"]["gc"]["collectors"].values())}


def jvm_threads_cpu(pid: int | None) -> dict[str, float]:
    """CPU seconds of a JVM's threads by kind, from /proc/PID/task/*/stat: jit (the C1/C2
    compiler threads), gc (GC, G1 and the VM thread), engine (the elasticsearch[...] /
    opensearch[...] pools: indexing, search, HTTP), other."""
    out = {"jit": 0.0, "gc": 0.0, "engine": 0.0, "other": 0.0}
    if not pid:
        return out
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for t in tasks:
        try:
            raw = (t / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        f = raw.rsplit(")", 1)[1].split()
        cpu = (int(f[11]) + int(f[12])) / tick
        kind = ("jit" if "CompilerThre" in name else
                "gc" if name.startswith(("GC Thread", "G1 ", "VM Thread")) else
                "engine" if name.startswith(("elasticsearch[", "opensearch[")) else "other")
        out[kind] += cpu
    return out


class ColdStartSampler:
    """From before telemetry starts to the end of the lag phase, once a second: the engine
    JVM's CPU by kind (jvm_threads_cpu) and the documents it indexed (node stats). Prints
    them by 5-second window: where a cold start's time goes (JIT compiling vs indexing vs
    CPU the machine did not give), measured rather than guessed."""

    def __init__(self, es, pid: int | None):
        self.es, self.pid = es, pid
        self.rows: list[tuple[float, dict[str, float], int, float]] = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _indexed(self) -> int:
        try:
            st, body = es_request(self.es, "GET", "/_nodes/_local/stats/indices/indexing")
            return next(iter(body["nodes"].values()))["indices"]["indexing"]["index_total"]
        except Exception:  # noqa: BLE001 (a slow answer under load: the next sample)
            return self.rows[-1][2] if self.rows else 0

    def _run(self) -> None:
        while not self.stop_flag.is_set():
            load1 = float(Path("/proc/loadavg").read_text().split()[0])
            self.rows.append((time.monotonic(), jvm_threads_cpu(self.pid), self._indexed(), load1))
            self.stop_flag.wait(1.0)

    def start(self) -> "ColdStartSampler":
        self.thread.start()
        return self

    def report(self, t0: float, t_traffic: float | None) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=30)
        rows = self.rows
        if len(rows) < 2:
            return
        print("cold start, engine JVM by 5 s window from telemetry's start (CPU s: jit=C1/C2 "
              "compiler threads, pools=indexing/search/HTTP threads, gc; docs indexed "
              "(warm-up included); pool CPU ms per doc; load1):", flush=True)
        start = rows[0]
        prev = start
        w = 1
        for r in rows[1:]:
            if r[0] < start[0] + 5 * w and r is not rows[-1]:
                continue
            d = {k: r[1][k] - prev[1][k] for k in r[1]}
            docs = r[2] - prev[2]
            tag = " <- traffic starts" if t_traffic and prev[0] <= t_traffic < r[0] else ""
            print(f"  {prev[0] - t0:5.1f}-{r[0] - t0:5.1f}s jit={d['jit']:.2f} "
                  f"pools={d['engine']:.2f} gc={d['gc']:.2f} other={d['other']:.2f} "
                  f"docs={docs} pool_ms_per_doc={1000 * d['engine'] / docs if docs else 0:.2f} "
                  f"load1={r[3]:.1f}{tag}", flush=True)
            prev = r
            w += 1
        total = {k: rows[-1][1][k] - start[1][k] for k in start[1]}
        print(f"cold start totals: jit={total['jit']:.1f} pools={total['engine']:.1f} "
              f"gc={total['gc']:.1f} other={total['other']:.1f} CPU s, "
              f"docs={rows[-1][2] - start[2]}", flush=True)


def telemetry_timeline(log: str, t0_wall: float) -> str:
    """telemetry's start-up from its log, in seconds after it was started: subscribed,
    templates installed, warm-up, loop started, partitions assigned, first bulk done."""
    marks = []
    for key, pat in (("subscribed", "event=subscribed"), ("templates", "event=templates_installed"),
                     ("warmup", "event=warmup "), ("loop", "event=started"),
                     ("assigned", "event=partitions_assigned"), ("first_bulk_done", "event=bulk ")):
        m = re.search(r"^(\S+) \S+ [^\n]*" + re.escape(pat) + r"[^\n]*", log, re.M)
        if not m:
            continue
        stamp = m.group(1)  # 2026-12-06T13:22:29.586Z
        ts = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
        ts += float(stamp[19:23]) if stamp[19:20] == "." else 0.0
        extra = ""
        if key == "warmup":
            extra = "(" + " ".join(re.findall(r"(?:documents|first_bulk_ms|last_bulk_ms|took_ms)=\d+",
                                              m.group(0))) + ")"
        if key == "first_bulk_done":
            extra = "(" + " ".join(re.findall(r"(?:items|took_ms)=\d+", m.group(0))) + ")"
        marks.append(f"{key}={ts - t0_wall:.2f}s{extra}")
    return " ".join(marks)


def throughput_phase(stack, kafka: str, es, tmp: Path, args) -> TelemetryProcess:
    """--events crafted events in Kafka first, then telemetry on a fresh group: events/s from
    its ready line until all are searchable, with where the time went (CPU of each process,
    the engine's bulk/refresh/merge times, telemetry's own bulk request times)."""
    n = args.events
    t0 = time.monotonic()
    now_ms = int(time.time() * 1000)
    for first in range(0, n, 200_000):  # in slices: 1M events never sit in memory at once
        for topic, lines in backlog_lines(n, now_ms, first, min(n, first + 200_000)).items():
            kcat_produce_keyed(kafka, topic, lines)
    print(f"backlog events={n} produced_in_s={time.monotonic() - t0:.1f}", flush=True)
    env = {"BSOCIAL_TELEMETRY_GROUP": f"bench-{hexid(4)}",
           "BSOCIAL_TELEMETRY_BATCH_WAIT_MS": str(args.batch_wait_ms),
           "BSOCIAL_LOG_LEVEL": "debug" if args.telemetry_log_level == "info" else
           args.telemetry_log_level}
    # The engine warm-up at start as deployed (the test kit turns it off for the tests);
    # --telemetry-env BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS=0 for an A/B without it.
    env["BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS"] = None
    if args.batch:
        env["BSOCIAL_TELEMETRY_BATCH_EVENTS"] = str(args.batch)
    for kv in args.telemetry_env:
        k, v = kv.split("=", 1)
        env[k] = v
    es_st = stack.elasticsearch.st if args.engine == "elasticsearch" else stack.opensearch.st
    engine_pids = [es_st.get("pid"), es_st.get("proxy_pid")]
    cpu0 = [cpu_seconds(p, True) for p in engine_pids]
    stats0 = node_stats(es)
    load0 = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    args.sampler = ColdStartSampler(es, es_st.get("pid")).start()
    args.t0, args.t0_wall = time.monotonic(), time.time()
    tel = TelemetryProcess(tmp, kafka, es, env, name="bench").start()
    ready = time.monotonic()
    print(f"telemetry ready_after_s={ready - args.t0:.2f} (from its start: templates, warm-up)",
          flush=True)
    if args.jfr:  # the engine JVM's own profile (Flight Recorder) over the drain
        # the engine's stacks are deeper than JFR's default 64 frames (the bottom, e.g.
        # DocumentParser.parseDocument or IndexWriter.addDocument, would be cut off)
        subprocess.run(["jcmd", str(es_st.get("pid")), "JFR.configure", "stackdepth=256"],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["jcmd", str(es_st.get("pid")), "JFR.start", "name=bench",
                        "settings=profile"], check=True, capture_output=True, timeout=60)
    perf = None
    if args.perf:
        perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(tel.proc.pid),
                                 "-o", args.perf], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    samples: list[tuple[float, int]] = []
    while True:
        c = es_count(es)
        samples.append((time.monotonic(), c))
        if c >= n:
            break
        if time.monotonic() - ready > 3600:
            raise RuntimeError(f"only {c} of {n} events searchable after an hour")
        time.sleep(0.2)
    took = samples[-1][0] - ready
    tel_cpu = cpu_seconds(tel.proc.pid)
    cpu1 = [cpu_seconds(p, True) for p in engine_pids]
    stats1 = node_stats(es)
    if args.jfr:
        subprocess.run(["jcmd", str(es_st.get("pid")), "JFR.stop", "name=bench",
                        f"filename={Path(args.jfr).resolve()}"], check=True, capture_output=True,
                       timeout=120)
        print(f"engine JFR recording: {args.jfr} (bench/jfr_top.py {args.jfr})", flush=True)
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=120)
    # sustained: between 10 % and 90 % of the backlog (start-up and the last refresh apart)
    lo = next(s for s in samples if s[1] >= n * 0.1)
    hi = next(s for s in samples if s[1] >= n * 0.9)
    sustained = (hi[1] - lo[1]) / max(1e-3, hi[0] - lo[0])
    in_es = es_count(es)
    expected_entities = sum(1 for i in range(n) if i % 5 >= 2)
    # the entities index refreshes on its own schedule: give its last documents a moment
    wait_until(lambda: es_count(es, "bsocial-events-entities") >= expected_entities, 30,
               interval=0.2, what="entity documents searchable")
    entities = es_count(es, "bsocial-events-entities")
    print(f"throughput events={n} seconds={took:.2f} events_per_s={n / took:.0f} "
          f"sustained_10_90_per_s={sustained:.0f} in_es={in_es} duplicates={in_es - n} "
          f"entities={entities}/{expected_entities} load_before={load0}", flush=True)
    d = {k: stats1[k] - stats0[k] for k in stats0}
    took_ms = [int(m.group(2)) for m in re.finditer(
        r"event=bulk items=(\d+) .*?took_ms=(\d+)", tel.stderr_text())]
    items = [int(m.group(1)) for m in re.finditer(r"event=bulk items=(\d+) ", tel.stderr_text())]
    if took_ms:
        print(f"telemetry bulks={len(took_ms)} items_per_bulk_avg={statistics.mean(items):.0f} "
              f"items_per_event={sum(items) / n:.2f} "
              f"bulk_ms p50={statistics.median(took_ms):.0f} p99={percentile(took_ms, 99):.0f} "
              f"sum_s={sum(took_ms) / 1000:.1f}", flush=True)
    print(f"cpu_s telemetry={tel_cpu:.1f} engine={cpu1[0] - cpu0[0]:.1f} "
          f"tls_proxy={cpu1[1] - cpu0[1]:.1f} (wall {took:.1f} s, {os.cpu_count()} cores)", flush=True)
    print(f"engine bulk_requests={d['bulk_ops']} bulk_s={d['bulk_ms'] / 1000:.1f} "
          f"index_s={d['index_ms'] / 1000:.1f} refreshes={d['refreshes']} "
          f"refresh_s={d['refresh_ms'] / 1000:.1f} merge_s={d['merge_ms'] / 1000:.1f} "
          f"flush_s={d['flush_ms'] / 1000:.1f} gc_s={d['gc_ms'] / 1000:.1f} "
          f"write_rejected={d['write_rejected']}", flush=True)
    return tel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=200.0, help="posts/s of the lag phase")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the lag phase")
    ap.add_argument("--batch", type=int, default=None,
                    help="BSOCIAL_TELEMETRY_BATCH_EVENTS (default: the binary's)")
    ap.add_argument("--batch-wait-ms", type=int, default=100,
                    help="BSOCIAL_TELEMETRY_BATCH_WAIT_MS (100: the binary's default)")
    ap.add_argument("--telemetry-env", action="append", default=[], metavar="K=V",
                    help="more environment for telemetry (A/B of its settings)")
    ap.add_argument("--perf", metavar="FILE",
                    help="perf record -g the telemetry process during the throughput phase")
    ap.add_argument("--jfr", metavar="FILE",
                    help="record the engine JVM with Java Flight Recorder (settings=profile) "
                         "during the throughput phase; bench/jfr_top.py FILE sums it up")
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
        engine = args.engine = engine_under_test()
        ep = stack.start(kafka=True, **engine_choice(engine))
        kafka, es = ep["kafka"], start_search(stack, engine)
        try:
            # ---- throughput: a backlog of N events, then start telemetry
            tel = throughput_phase(stack, kafka, es, tmp, args)
            if args.seconds <= 0:
                args.sampler.report(args.t0, None)
                tel.stop()
                # login_days_skipped / _merged: login-day updates not sent (docs/telemetry.md)
                for line in tel.stderr_text().splitlines():
                    if "event=stopped" in line:
                        print(f"telemetry {line.split('event=stopped', 1)[1].strip()}")
                return

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
            args.sampler.report(args.t0, t_begin)
            print("telemetry start-up (s after it was started): " +
                  telemetry_timeline(tel.stderr_text(), args.t0_wall), flush=True)
            tel.stop()
            print_stages(kafka, wall201, wallseen)
            if args.keep_logs:
                shutil.copytree(tmp, args.keep_logs, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.jar", "data", "kafka-logs*", "*.db*"))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
