#!/usr/bin/env python3
"""Connection benchmark (issue 9, acceptance "5,000 idle connections"; issue 10 caps).

Starts a `bsocial serve` (SQLite in a temp dir, no Kafka), then for each cap in --caps
(0 = the server's default, derived from its descriptor limit):

1. opens --connections TCP connections at once (non-blocking connects, all in flight
   together) that never send a byte, spread over distinct loopback source addresses
   (127.0.0.0/8 is all loopback on Linux), --per-address each, so the per-address cap
   (BSOCIAL_MAX_CONNECTIONS_PER_CLIENT) does not stop the benchmark;
2. while they are held, times --samples normal requests (a new connection from 127.0.0.1,
   GET /healthz, answer read): connect-to-last-byte, in ms;
3. prints the server's open descriptors (/proc/PID/fd) against its connection cap and its
   descriptor limit, how many of the idle connections the server closed (refused or shed
   at the cap), then waits past the header deadline and counts descriptors again.

    python3 bench/connections_bench.py --bin build/release/bsocial [--connections 5000]
        [--caps 0,2000] [--per-address 64] [--samples 20] [--header-timeout 10]

Numbers only; nothing here asserts on timing. Linux only (/proc, 127.0.0.0/8).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import select
import socket
import statistics
import tempfile
import time
from pathlib import Path

from benchlib.server import start_server

REPO = Path(__file__).resolve().parents[1]
LIMITS_RE = re.compile(r"event=limits max_connections=(\d+) max_connections_per_client=(\d+) "
                       r"fd_limit=(\d+)")


class Server:
    """`bsocial serve` (the kit's ServerProcess) at log level info, for its limits line."""

    def __init__(self, binary: str, workdir: Path, env: dict[str, str]):
        self.srv = start_server(binary, workdir, env={"BSOCIAL_LOG_LEVEL": "info", **env})
        self.port = self.srv.port
        deadline = time.monotonic() + 10
        while not self.limits() and time.monotonic() < deadline:
            time.sleep(0.05)

    def limits(self) -> tuple[int, int, int] | None:
        m = LIMITS_RE.search(self.srv.stderr_text())
        return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.srv.proc.pid}/fd"))

    def stop(self) -> None:
        self.srv.stop(check=False, timeout=20)


def source_address(i: int, per_address: int) -> str:
    n = i // per_address + 2  # 127.0.0.2 on; 127.0.0.1 is the measured client's
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def open_idle(port: int, count: int, per_address: int) -> tuple[list[socket.socket], float]:
    """`count` non-blocking connects in flight together; returns the sockets and seconds."""
    started = time.monotonic()
    socks = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((source_address(i, per_address), 0))
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    pending = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(1000):
            poller.unregister(fd)
            pending.pop(fd, None)
    return socks, time.monotonic() - started


def closed_by_server(socks: list[socket.socket]) -> int:
    """Connections the server closed or answered (refused at a cap, or shed)."""
    n = 0
    for s in socks:
        try:
            data = s.recv(4096)
            n += 1  # b"" = closed; data = a refusal answer
            del data
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n


def timed_request(port: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    ms = (time.perf_counter() - t0) * 1000
    return ms, data.split(b"\r\n", 1)[0].decode(errors="replace")


def run(args, cap: int) -> None:
    env = {"BSOCIAL_MAX_CONNECTIONS": str(cap),
           "BSOCIAL_HEADER_TIMEOUT_SECONDS": str(args.header_timeout)}
    with tempfile.TemporaryDirectory(prefix="bsocial-conn-bench-") as tmp:
        server = Server(args.bin, Path(tmp), env)
        try:
            limits = server.limits()
            max_conn, per_client, fd_limit = limits if limits else (0, 0, 0)
            fds_before = server.fds()
            before, _ = timed_request(server.port)
            socks, seconds = open_idle(server.port, args.connections, args.per_address)
            time.sleep(0.5)  # let the server accept the backlog
            samples, statuses = [], set()
            for _ in range(args.samples):
                ms, status = timed_request(server.port)
                samples.append(ms)
                statuses.add(status)
            fds_held = server.fds()
            gone = closed_by_server(socks)
            first = samples[0]
            samples.sort()
            label = "default (descriptor limit - headroom)" if cap == 0 else str(cap)
            print(f"cap={label}: max_connections={max_conn} per_client={per_client} "
                  f"fd_limit={fd_limit}")
            print(f"  idle connections: {args.connections} opened in {seconds:.2f} s from "
                  f"{(args.connections + args.per_address - 1) // args.per_address} "
                  f"addresses; closed or refused by the server: {gone}")
            print(f"  normal request (new connection, GET /healthz) before: {before:.1f} ms; "
                  f"with the idle connections held, {args.samples} samples: "
                  f"first {first:.1f} "
                  f"p50 {statistics.median(samples):.1f} max {samples[-1]:.1f} ms; "
                  f"answers {sorted(statuses)}")
            conns = fds_held - fds_before  # descriptors beyond the idle server's own
            print(f"  server fds (/proc/PID/fd): {fds_before} with no client, {fds_held} with "
                  f"the idle connections held, i.e. {conns} connections against the cap "
                  f"{max_conn} ({'within' if conns <= max_conn else 'OVER'}); fds against the "
                  f"descriptor limit {fd_limit}: {'under' if fds_held < fd_limit else 'OVER'}; "
                  f"fds {'under' if fds_held < max_conn else 'at or above'} the cap")
            time.sleep(args.header_timeout + 1.5)
            print(f"  server fds {args.header_timeout + 1.5:.1f} s later (header deadline "
                  f"{args.header_timeout} s): {server.fds()}")
            for s in socks:
                s.close()
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=str(REPO / "build" / "release" / "bsocial"))
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--caps", default="0,2000",
                   help="comma-separated BSOCIAL_MAX_CONNECTIONS values (0 = default)")
    p.add_argument("--per-address", type=int, default=64)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--header-timeout", type=int, default=10)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    print(f"connections benchmark: {args.connections} idle connections, {os.cpu_count()} CPUs "
          f"(shared machine: figures are noisy)")
    for cap in (int(c) for c in args.caps.split(",")):
        run(args, cap)


if __name__ == "__main__":
    main()
