#!/usr/bin/env python3
"""bSocial local stack manager: real Kafka (KRaft), OpenSearch or Elasticsearch, and PostgreSQL
without Docker.

Python 3.11, standard library only. Used by humans (`python3 stack/bstack.py up`)
and by test suites (`from bstack import Stack`). See stack/README.md.

This file is the command line and the names tests import; the work is done in
bstacklib/ (one module per server, the state file, the jar cache, processes and ports).

Layout of a stack directory D (default: <repo>/.stack):
    D/stack.json                     state: ports, pids, endpoints, start-up times
    D/postgres/{data,postgres.log}
    D/kafka/broker-N/{server.properties,data/}, D/kafka/logs/broker-N.{log,out}
    D/opensearch/{home,data,logs/,log4j2.properties,opensearch.out}
Jars and compiled helpers live in the cache (BSOCIAL_STACK_CACHE, default
~/.cache/bsocial-stack/<name>-<version>/{lib,classes}).
"""
from __future__ import annotations

import argparse
import atexit
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

# The public names (tests, tools and benchmarks use them as bstack.X).
from bstacklib.common import (STOP_TIMEOUT, StackError, free_port, free_ports,  # noqa: F401
                              log, pid_alive, port_is_free, terminate)
from bstacklib.java import (COMPONENTS, cache_root, classpath as _classpath,  # noqa: F401
                            component_dir, component_version, fetch, fetch_all)
from bstacklib.kafka import TOPIC_PARTITIONS, TOPICS  # noqa: F401
from bstacklib.postgres import PG_DATABASE  # noqa: F401
from bstacklib.stack import DEFAULT_DIR, SERVERS, Stack  # noqa: F401

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent


# --------------------------------------------------------------------------- CLI

def _human(stack: Stack) -> str:
    lines = [s.describe() for s in stack.servers.values() if s.running()]
    for server in stack.servers.values():
        if server.running():
            lines += [f"  export {k}={v}" for k, v in server.exports().items()]
    return "\n".join(lines)


def _selection(args: argparse.Namespace) -> dict[str, bool]:
    """Which servers `up`/`start` start: the default-on ones (Kafka, OpenSearch) unless
    --no-X; naming one of them (--kafka) leaves the other default-on ones out; an opt-in
    server (--postgres) is added to whatever else is chosen."""
    on = [cls.name for cls in SERVERS if cls.default_on]
    selective = any(getattr(args, n) for n in on)
    chosen = {}
    for cls in SERVERS:
        flag = getattr(args, cls.name)
        if cls.default_on:
            chosen[cls.name] = bool(flag) if selective else flag is not False
        else:
            chosen[cls.name] = bool(flag)
    if args.engine == "elasticsearch" or args.es_nodes > 1:  # instead of OpenSearch, unless --opensearch is named too
        chosen["elasticsearch"] = True
        chosen["opensearch"] = bool(args.opensearch)
    return chosen


def _start_from_args(args: argparse.Namespace, stack: Stack) -> Stack:
    stack.prefer_conventional_ports = not args.free_ports
    chosen = _selection(args)
    if not any(chosen.values()):
        raise StackError("nothing to start")
    try:
        stack.start(brokers=args.brokers, kafka_security=args.kafka_security,
                    es_nodes=args.es_nodes, **chosen)
    except BaseException:
        stack.stop_all()
        raise
    out = stack.endpoints()
    out["startup_seconds"] = {k: v for k, v in stack.startup_seconds.items() if k in out}
    print(json.dumps(out), flush=True)
    print(_human(stack), flush=True)
    return stack


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bstack", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download jars into the cache and compile the helpers")
    for name, hlp in (("up", "start servers and stay in the foreground until Ctrl-C/SIGTERM"),
                      ("start", "start servers and return, leaving them running")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--dir", default=str(DEFAULT_DIR))
        for cls in SERVERS:
            if cls.default_on:
                p.add_argument(f"--{cls.name}", action=argparse.BooleanOptionalAction, default=None,
                               help=f"start {cls.title} (naming --kafka/--opensearch starts only those named)")
            else:
                p.add_argument(f"--{cls.name}", action="store_true",
                               help=f"also start {cls.title} (opt-in)")
        p.add_argument("--engine", choices=("opensearch", "elasticsearch"), default="opensearch",
                       help="the search engine: OpenSearch 2.19 (default) or Elasticsearch 8 "
                            "(https with user/password, behind nginx)")
        p.add_argument("--brokers", type=int, default=1, choices=(1, 3))
        p.add_argument("--es-nodes", type=int, default=1, choices=(1, 3),
                       help="Elasticsearch nodes: 3 starts a 3-node cluster (its own ports, data "
                            "and TLS proxy per node; the endpoint is the list of the three URLs)")
        p.add_argument("--kafka-security", choices=("plaintext", "sasl_ssl"), default="plaintext",
                       help="sasl_ssl: TLS + SCRAM-SHA-512 users + topic ACLs (credentials "
                            "printed as BSOCIAL_TEST_KAFKA_* exports)")
        p.add_argument("--free-ports", action="store_true",
                       help="random free ports instead of 9092/9200/5432")
    for name, hlp in (("stop", "stop the servers of --dir (data kept)"),
                      ("status", "print the state of --dir as JSON"),
                      ("wipe", "stop and delete all data and logs of --dir")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--dir", default=str(DEFAULT_DIR))
    return ap


def _up(args: argparse.Namespace) -> int:
    stack_box: list[Stack] = []

    def cleanup() -> None:
        # Idempotent. Runs from `finally` and again at exit, after any start
        # thread interrupted by Ctrl-C has finished: state is re-read from disk.
        if not stack_box:
            return
        fresh = Stack(stack_box[0].dir)
        if len(fresh.endpoints()) > 1:
            log("stopping servers ...")
            fresh.stop_all()
            log("stopped")

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(cleanup)
    try:
        stack_box.append(Stack(args.dir))
        _start_from_args(args, stack_box[0])
        print("Press Ctrl-C to stop.", flush=True)
        expected = set(stack_box[0].endpoints()) - {"dir"}
        while True:
            time.sleep(2)
            now = set(stack_box[0].endpoints()) - {"dir"}
            for gone in sorted(expected - now):
                log(f"{gone} is no longer running (see its logs under {stack_box[0].dir})")
            expected = now
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "fetch":
            for n, d in fetch_all().items():
                print(f"{n}: {d}")
            return 0
        if args.cmd == "start":
            _start_from_args(args, Stack(args.dir))
            return 0
        if args.cmd == "up":
            return _up(args)
        stack = Stack(args.dir)
        if args.cmd == "stop":
            stack.stop_all()
            return 0
        if args.cmd == "status":
            print(json.dumps(stack.status(), indent=2))
            return 0
        if args.cmd == "wipe":
            stack.wipe()
            return 0
    except StackError as e:
        log(f"error: {e}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
