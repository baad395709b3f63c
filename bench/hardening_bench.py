#!/usr/bin/env python3
"""Issue 9 acceptance figures for accounts (prints figures, asserts nothing on timing).

1. Registration storm: 32 clients register as fast as they can for --seconds (30), each from
   its own loopback source address (127.10.0.1 .. 127.10.0.32, all of 127.0.0.0/8 is
   loopback on Linux), against the server's REAL default limits (registrations per address,
   hashing pool and queue). Meanwhile a reader fetches its feed in a loop. Prints the
   reader's p50/p99, and the registrations/s answered 201, 429 and 503.
2. Failed-login memory: --logins (5000) failed logins, each from its own loopback source
   address (127.1.x.y) and for its own unknown identifier; prints the server's RSS growth
   (VmRSS before and after, after a warm-up).

    python3 bench/hardening_bench.py --bin build/release/bsocial [--seconds 30] [--logins 5000]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import multiprocessing
import os
import secrets
import sys
import tempfile
import threading
import time

from benchlib.server import start_server
from bsocial_testkit.http import NO_BODY, Client

def connect(port: int, source: str | None = None) -> Client:
    """One keep-alive connection from `source` (a loopback address), no test checks."""
    return Client(port, source, checks=False, keep_alive=True, timeout=60)


def call(conn: Client, method: str, path: str, body=None, token: str | None = None):
    r = conn.request(method, path, NO_BODY if body is None else body, token=token)
    return r.status, r.json


def registration(tag: str) -> dict:
    username = f"b_{tag}_{secrets.token_hex(5)}"
    password = "bench-" + secrets.token_hex(8)
    return {"first_name": "Bench", "last_name": "User", "username": username,
            "email": f"{username}@example.com", "password": password,
            "password_confirmation": password}


def must(status_body, want: int):
    status, body = status_body
    if status != want:
        raise RuntimeError(f"expected {want}, got {status}: {body}")
    return body


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------- processes


def reader_process(port: int, token: str, seconds: float, out) -> None:
    """Own process, so the registrants' threads never hold this one's interpreter."""
    conn = connect(port, "127.0.0.2")
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        status, _ = call(conn, "GET", "/api/v1/feed?limit=20", token=token)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            out.put(("error", status))
            return
        time.sleep(0.01)  # a person scrolling, not a load generator
    out.put(("ok", latencies))


def registrants_process(port: int, clients: int, seconds: float, out) -> None:
    counts: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        source = f"127.10.{i // 250}.{i % 250 + 1}"
        conn = connect(port, source)
        while time.monotonic() < deadline:
            try:
                status, _ = call(conn, "POST", "/api/v1/users", registration(str(i)))
            except (http.client.HTTPException, OSError):
                conn.close()  # the next request opens a new connection
                status = -1
            with lock:
                counts[status] = counts.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(counts)


# --------------------------------------------------------------------------- runs


@contextlib.contextmanager
def serving(binary: str):
    """`bsocial serve` on a temp data dir with the server's real default limits (not the
    kit's BSOCIAL_REGISTRATIONS_PER_MINUTE=0); stopped and removed at the end."""
    with tempfile.TemporaryDirectory(prefix="bsocial-hardening-") as data:
        srv = start_server(binary, data, ["--log-level", "warn"],
                           env={"BSOCIAL_REGISTRATIONS_PER_MINUTE": None})
        try:
            yield srv
        finally:
            srv.stop(check=False, timeout=15)


def registration_storm(binary: str, seconds: float, clients: int) -> None:
    print(f"== registration storm: {clients} clients x {seconds:.0f} s, each from its own "
          f"address 127.10.0.x, real default limits; one reader ==")
    with serving(binary) as srv:
        port = srv.port
        conn = connect(port, "127.0.0.2")
        reader_fields, author_fields = registration("reader"), registration("author")
        reader = must(call(conn, "POST", "/api/v1/users", reader_fields), 201)["user"]
        must(call(conn, "POST", "/api/v1/users", author_fields), 201)
        tokens = {}
        for f in (reader_fields, author_fields):
            tokens[f["username"]] = must(call(conn, "POST", "/api/v1/sessions", {
                "login": f["username"], "password": f["password"]}), 200)["token"]
        reader_token = tokens[reader["username"]]
        must(call(conn, "PUT", f"/api/v1/users/me/following/{author_fields['username']}",
                  token=reader_token), 204)
        for k in range(50):
            must(call(conn, "POST", "/api/v1/posts", {"content": f"post {k}"},
                      token=tokens[author_fields["username"]]), 201)
        conn.close()

        ctx = multiprocessing.get_context("fork")
        out_r, out_w = ctx.Queue(), ctx.Queue()
        r = ctx.Process(target=reader_process, args=(port, reader_token, seconds, out_r))
        w = ctx.Process(target=registrants_process, args=(port, clients, seconds, out_w))
        t0 = time.monotonic()
        r.start()
        w.start()
        kind, latencies = out_r.get()
        counts = out_w.get()
        elapsed = time.monotonic() - t0
        r.join()
        w.join()
        if kind != "ok":
            print(f"reader failed: HTTP {latencies}")
            return
        lat = sorted(x * 1000 for x in latencies)
        print(f"reader: {len(lat)} feed requests, p50 {percentile(lat, 50):.1f} ms, "
              f"p99 {percentile(lat, 99):.1f} ms, max {lat[-1]:.1f} ms")
        total = sum(counts.values())
        print(f"registrations: {total} answered in {elapsed:.1f} s; "
              f"201: {counts.get(201, 0)} ({counts.get(201, 0) / elapsed:.1f}/s), "
              f"429: {counts.get(429, 0)}, 503: {counts.get(503, 0)}, "
              f"other: { {k: v for k, v in counts.items() if k not in (201, 429, 503)} }")


def failed_login_memory(binary: str, logins: int, parallel: int) -> None:
    print(f"== failed-login memory: {logins} failed logins, each from its own address "
          f"127.1.x.y and for its own unknown identifier ==")
    with serving(binary) as srv:
        port = srv.port
        def fail(i: int, base: int) -> int:
            n = base + i
            source = f"127.{base // 60000 + 1}.{n // 250 % 250}.{n % 250 + 1}"
            conn = connect(port, source)
            try:
                status, _ = call(conn, "POST", "/api/v1/sessions", {
                    "login": f"ghost_{n}_" + "x" * 150, "password": "wrong-password"})
                return status
            finally:
                conn.close()

        def run(count: int, base: int) -> dict[int, int]:
            counts: dict[int, int] = {}
            with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                for status in pool.map(lambda i: fail(i, base), range(count)):
                    counts[status] = counts.get(status, 0) + 1
            return counts

        warm = run(200, 60000)  # warm-up from another range (127.2.x.y)
        before = rss_kib(srv.proc.pid)
        t0 = time.monotonic()
        counts = run(logins, 0)
        elapsed = time.monotonic() - t0
        after = rss_kib(srv.proc.pid)
        print(f"warm-up answers {warm}; answers {counts} in {elapsed:.1f} s")
        print(f"server RSS: before {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB, "
              f"growth {(after - before) / 1024:.2f} MiB (bound: < 16 MiB)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--logins", type=int, default=5000)
    ap.add_argument("--parallel", type=int, default=8, help="concurrent failed logins")
    ap.add_argument("--only", choices=["storm", "memory"], default=None)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs (shared machines give noisy timings)")
    if args.only in (None, "storm"):
        registration_storm(args.bin, args.seconds, args.clients)
    if args.only in (None, "memory"):
        failed_login_memory(args.bin, args.logins, args.parallel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
