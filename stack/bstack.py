#!/usr/bin/env python3
"""bSocial local stack manager: real Kafka (KRaft), OpenSearch and PostgreSQL
without Docker.

Python 3.11, standard library only. Used by humans (`python3 stack/bstack.py up`)
and by test suites (`from bstack import Stack`). See stack/README.md.

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
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DEFAULT_DIR = REPO_ROOT / ".stack"

TOPICS = ("bsocial.users", "bsocial.posts", "bsocial.comments", "bsocial.follows")
TOPIC_PARTITIONS = 3
PG_DATABASE = "bsocial"
PG_OS_USER = "postgres"

# Conventional ports used by the CLI (when free) unless --free-ports.
CONVENTIONAL = {
    "kafka": 9092,        # broker i (1-based): 9092 + 2*(i-1); its controller: +1
    "opensearch": 9200,   # transport: 9300
    "postgres": 5432,     # else 5433..5439, else any free port
}

KAFKA_HEAP = "512m"
OPENSEARCH_HEAP = "512m"
STOP_TIMEOUT = 30.0
KAFKA_READY_TIMEOUT = 180
OPENSEARCH_READY_TIMEOUT = 180

NS = "{http://maven.apache.org/POM/4.0.0}"


class StackError(RuntimeError):
    """A server could not be fetched, started or stopped."""


def log(msg: str) -> None:
    print(f"[bstack] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- cache / fetch

COMPONENTS = {
    # name: (pom dir, version property, java sources to compile)
    "kafka": (HERE / "kafka", "kafka.version", ("TopicSetup.java",)),
    "opensearch": (HERE / "opensearch", "opensearch.version", ("Launcher.java",)),
}


def cache_root() -> Path:
    env = os.environ.get("BSOCIAL_STACK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bsocial-stack"


def component_version(name: str) -> str:
    pom_dir, prop, _ = COMPONENTS[name]
    root = ET.parse(pom_dir / "pom.xml").getroot()
    el = root.find(f"{NS}properties/{NS}{prop}")
    if el is None or not (el.text or "").strip():
        raise StackError(f"{pom_dir / 'pom.xml'}: property {prop} missing")
    return el.text.strip()


def component_dir(name: str) -> Path:
    return cache_root() / f"{name}-{component_version(name)}"


def _sha(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


_fetch_lock = threading.Lock()


def fetch(name: str, quiet: bool = False) -> Path:
    """Make sure the jars of `name` ('kafka' or 'opensearch') are in the cache and
    its Java helpers compiled. Returns the component's cache dir (with lib/ and
    classes/). Does nothing when already done for the same pom and sources."""
    with _fetch_lock:
        pom_dir, _, sources = COMPONENTS[name]
        cdir = component_dir(name)
        lib = cdir / "lib"
        pom = pom_dir / "pom.xml"
        marker = cdir / ".lib-complete"
        pom_hash = _sha(pom)
        if not (marker.exists() and marker.read_text().strip() == pom_hash and lib.is_dir()):
            mvn = shutil.which("mvn")
            if not mvn:
                raise StackError("mvn not found (apt-get install maven)")
            if not quiet:
                log(f"fetching {name} {component_version(name)} jars into {lib}")
            cdir.mkdir(parents=True, exist_ok=True)
            tmp = cdir / "lib.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            r = subprocess.run(
                [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                 f"-DoutputDirectory={tmp}"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if r.returncode != 0 or not tmp.is_dir():
                raise StackError(f"mvn failed for {name}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
            shutil.rmtree(lib, ignore_errors=True)
            tmp.rename(lib)
            marker.write_text(pom_hash + "\n")
        classes = cdir / "classes"
        srcs = [pom_dir / s for s in sources]
        cmarker = cdir / ".classes-complete"
        src_hash = _sha(*srcs) if srcs else ""
        if srcs and not (cmarker.exists() and cmarker.read_text().strip() == src_hash):
            javac = _java_tool("javac")
            shutil.rmtree(classes, ignore_errors=True)
            classes.mkdir(parents=True)
            r = subprocess.run(
                [javac, "-nowarn", "-d", str(classes), "-cp", str(lib / "*"), *map(str, srcs)],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if r.returncode != 0:
                raise StackError(f"javac failed for {name}:\n{r.stdout}\n{r.stderr}")
            cmarker.write_text(src_hash + "\n")
        return cdir


def fetch_all(quiet: bool = False) -> dict[str, Path]:
    return {n: fetch(n, quiet=quiet) for n in COMPONENTS}


def _java_tool(tool: str) -> str:
    jh = os.environ.get("JAVA_HOME")
    if jh and (Path(jh) / "bin" / tool).exists():
        return str(Path(jh) / "bin" / tool)
    found = shutil.which(tool)
    if not found:
        raise StackError(f"{tool} not found (install a Java 17 JDK)")
    return found


def _classpath(cdir: Path) -> str:
    return f"{cdir / 'classes'}{os.pathsep}{cdir / 'lib' / '*'}"


# --------------------------------------------------------------------------- ports

def port_is_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port. SO_REUSEADDR like the servers use, so
    TIME_WAIT leftovers of a server we just stopped do not count as busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_handed_out: set[int] = set()
_ports_lock = threading.Lock()


def free_ports(n: int) -> list[int]:
    """n distinct ports the kernel says are free right now, never one this process
    handed out before (servers started concurrently must not pick the same one)."""
    socks, ports = [], []
    with _ports_lock:
        try:
            while len(ports) < n:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.1", 0))
                socks.append(s)
                p = s.getsockname()[1]
                if p not in _handed_out:
                    ports.append(p)
        finally:
            for s in socks:
                s.close()
        _handed_out.update(ports)
    return ports


def free_port() -> int:
    return free_ports(1)[0]


# --------------------------------------------------------------------------- processes

def _proc_state(pid: int) -> str | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()[0]


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """True when pid runs (not a zombie) and, if given, its command line
    contains `marker` (guards against pid reuse)."""
    if not pid:
        return False
    _reap(pid)
    st = _proc_state(pid)
    if st is None or st in ("Z", "X"):
        return False
    if marker:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        if marker not in cmd:
            return False
    return True


def _start_time(pid: int) -> str | None:
    """Kernel start time of pid (field 22 of /proc/pid/stat): tells a reused pid apart."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()[19]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait_dead(procs: dict[int, str | None], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout

    def same_alive(p: int) -> bool:
        return pid_alive(p) and _start_time(p) == procs[p]
    left = list(procs)
    while left and time.monotonic() < deadline:
        left = [p for p in left if same_alive(p)]
        if left:
            time.sleep(0.1)
    return [p for p in left if same_alive(p)]


def terminate(pids: list[int], timeout: float = STOP_TIMEOUT, sig: int = signal.SIGTERM) -> None:
    """Send `sig` to each process group, SIGKILL whatever is left after timeout.
    A pid is only signalled again while it is the same process (start time)."""
    procs = {p: _start_time(p) for p in pids if p and pid_alive(p)}
    for p in procs:
        _signal_group(p, sig)
    if sig == signal.SIGKILL:
        _wait_dead(procs, 10)
        return
    left = _wait_dead(procs, timeout)
    for p in left:
        log(f"pid {p} ignored SIGTERM for {timeout:.0f}s: SIGKILL")
        _signal_group(p, signal.SIGKILL)
    _wait_dead({p: procs[p] for p in left}, 10)


def _spawn(cmd: list[str], out_path: Path, cwd: Path | None = None,
           env: dict[str, str] | None = None) -> subprocess.Popen:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, start_new_session=True)


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path})"
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- Stack

class Stack:
    """Local servers under one directory. Every method is safe to call again;
    start_* return the endpoint of an already running server."""

    def __init__(self, dir: str | os.PathLike | None = None):
        self.dir = Path(dir or DEFAULT_DIR).expanduser().resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "stack.json"
        self._lock = threading.RLock()
        self.state: dict[str, Any] = {}
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text())
            except json.JSONDecodeError:
                self.state = {}
        self.prefer_conventional_ports = False  # the CLI sets this

    # ---- state
    def _save(self) -> None:
        with self._lock:
            tmp = self.state_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n")
            tmp.replace(self.state_path)

    def _set(self, key: str, value: dict | None) -> None:
        with self._lock:
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value
            self._save()

    def _get(self, key: str) -> dict:
        with self._lock:
            return dict(self.state.get(key) or {})

    @property
    def startup_seconds(self) -> dict[str, float]:
        """Seconds from spawn to ready of the last start of each server."""
        with self._lock:
            return {k: v["startup_seconds"] for k, v in self.state.items()
                    if isinstance(v, dict) and "startup_seconds" in v}

    def _pick_port(self, explicit: int | None, stored: int | None, conventional: list[int]) -> int:
        if explicit:
            return explicit
        if stored and port_is_free(stored):
            return stored
        if self.prefer_conventional_ports:
            for p in conventional:
                if port_is_free(p):
                    return p
        return free_port()

    # ================================================================ PostgreSQL
    @staticmethod
    def _pg_bin() -> Path:
        env = os.environ.get("BSOCIAL_PG_BIN")
        if env:
            return Path(env)
        cands = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                       key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
        if cands:
            return cands[-1].parent
        initdb = shutil.which("initdb")
        if initdb:
            return Path(initdb).parent
        raise StackError("PostgreSQL binaries not found (apt-get install postgresql)")

    @staticmethod
    def _as_pg_user(cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", PG_OS_USER, "--", *cmd]

    def _pg_prepare_dirs(self, pgdir: Path) -> None:
        pgdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        import pwd
        pw = pwd.getpwnam(PG_OS_USER)
        # the postgres user must be able to reach pgdir: add o+x (search only) on ancestors
        for parent in reversed(pgdir.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
        for root, dirs, files in os.walk(pgdir):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)

    def _pg_run(self, cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(self._as_pg_user(cmd), cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise StackError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def _psql(self, port: int, sql: str, db: str = "postgres") -> str:
        psql = str(self._pg_bin() / "psql")
        r = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError(f"psql {sql!r} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def postgres_running(self) -> bool:
        st = self._get("postgres")
        return pid_alive(st.get("pid"), st.get("data"))

    def start_postgres(self, port: int | None = None) -> str:
        """Start (initdb on first use) a throw-away cluster on 127.0.0.1 with trust
        auth, database `bsocial` created. Returns postgresql://postgres@127.0.0.1:PORT/bsocial."""
        st = self._get("postgres")
        if self.postgres_running():
            return st["url"]
        t0 = time.monotonic()
        pgbin = self._pg_bin()
        pgdir = self.dir / "postgres"
        data = pgdir / "data"
        logfile = pgdir / "postgres.log"
        port = self._pick_port(port, st.get("port"), [5432, *range(5433, 5440)])
        self._pg_prepare_dirs(pgdir)
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            self._pg_run([str(pgbin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-locale", "--no-sync"], cwd=pgdir)
        # stale pid file of a killed server: pg_ctl handles it, but only if the pid is gone
        opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c max_connections=200")
        r = self._pg_run([str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-w", "-t", "60",
                          "-o", opts, "start"], cwd=pgdir, check=False)
        if r.returncode != 0:
            raise StackError(f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{_tail(logfile)}")
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        url = f"postgresql://postgres@127.0.0.1:{port}/{PG_DATABASE}"
        self._set("postgres", {"port": port, "pid": pid, "data": str(data), "log": str(logfile),
                               "url": url, "bin": str(pgbin)})
        self.create_database(PG_DATABASE)
        st = self._get("postgres")
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self._set("postgres", st)
        return url

    def create_database(self, name: str) -> str:
        """Create database `name` if missing; returns its URL. Postgres must be running."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"bad database name {name!r}")
        st = self._get("postgres")
        if not self.postgres_running():
            raise StackError("postgres is not running: call start_postgres() first")
        port = st["port"]
        if not self._psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self._psql(port, f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    def drop_database(self, name: str) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"bad database name {name!r}")
        st = self._get("postgres")
        self._psql(st["port"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop_postgres(self) -> None:
        st = self._get("postgres")
        if not st:
            return
        if self.postgres_running():
            pgbin = Path(st.get("bin") or self._pg_bin())
            r = self._pg_run([str(pgbin / "pg_ctl"), "-D", st["data"], "-m", "fast", "-w", "-t",
                              str(int(STOP_TIMEOUT)), "stop"], cwd=Path(st["data"]).parent, check=False)
            if r.returncode != 0 and pid_alive(st["pid"], st["data"]):
                terminate([st["pid"]], timeout=5, sig=signal.SIGKILL)
        st.pop("pid", None)
        self._set("postgres", st)

    # ================================================================ Kafka
    def _kafka_layout(self, i: int) -> dict[str, Path]:
        b = self.dir / "kafka" / f"broker-{i}"
        logs = self.dir / "kafka" / "logs"
        return {"dir": b, "props": b / "server.properties", "data": b / "data",
                "log": logs / f"broker-{i}.log", "out": logs / f"broker-{i}.out"}

    def _kafka_props(self, i: int, st: dict) -> str:
        n = st["brokers"]
        ports, cports = st["ports"], st["controller_ports"]
        lay = self._kafka_layout(i)
        voters = ",".join(f"{j + 1}@127.0.0.1:{cports[j]}" for j in range(n))
        min_isr = 2 if n >= 3 else 1
        return "\n".join([
            "# generated by stack/bstack.py; edits are overwritten on start",
            "process.roles=broker,controller",
            f"node.id={i}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://127.0.0.1:{ports[i - 1]},CONTROLLER://127.0.0.1:{cports[i - 1]}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports[i - 1]}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={lay['data']}",
            f"num.partitions={TOPIC_PARTITIONS}",
            f"default.replication.factor={n}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={n}",
            "offsets.topic.num.partitions=1",
            f"transaction.state.log.replication.factor={n}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={n}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "group.initial.rebalance.delay.ms=0",
            "num.network.threads=2",
            "num.io.threads=4",
            "num.recovery.threads.per.data.dir=1",
            "log.retention.hours=168",
            "log.segment.bytes=67108864",
            "auto.create.topics.enable=true",
            "delete.topic.enable=true",
            "",
        ])

    def _kafka_java(self, cdir: Path, main: str, args: list[str], logfile: Path | None,
                    heap: str = KAFKA_HEAP, tool: bool = False) -> list[str]:
        cmd = [_java_tool("java"), f"-Xms{heap}", f"-Xmx{heap}", "-Djava.awt.headless=true",
               "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        if tool:
            cmd += ["-XX:TieredStopAtLevel=1", "-Xshare:auto"]
        if logfile is not None:
            cmd += [f"-Dorg.slf4j.simpleLogger.logFile={logfile}",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
                    "-Dorg.slf4j.simpleLogger.showShortLogName=true",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"]
        else:
            cmd += ["-Dorg.slf4j.simpleLogger.defaultLogLevel=error"]
        return [*cmd, "-cp", _classpath(cdir), main, *args]

    def _kafka_spawn(self, cdir: Path, i: int) -> int:
        lay = self._kafka_layout(i)
        p = _spawn(self._kafka_java(cdir, "kafka.Kafka", [str(lay["props"])], lay["log"]),
                   lay["out"], cwd=lay["dir"])
        return p.pid

    def kafka_running(self) -> list[int]:
        """1-based ids of the brokers that run now."""
        st = self._get("kafka")
        return [i for i in range(1, st.get("brokers", 0) + 1)
                if pid_alive((st.get("pids") or {}).get(str(i)), str(self._kafka_layout(i)["props"]))]

    def _topic_setup(self, cdir: Path, bootstrap: str, brokers: int, topics: tuple[str, ...],
                     timeout: int, watch: list[int]) -> None:
        out = self.dir / "kafka" / "logs" / "topic-setup.out"
        p = _spawn(self._kafka_java(cdir, "TopicSetup",
                                    [bootstrap, str(brokers), str(TOPIC_PARTITIONS), str(brokers),
                                     str(timeout), *topics], None, heap="128m", tool=True), out)
        st = self._get("kafka")
        while p.poll() is None:
            for i in watch:
                pid = (st.get("pids") or {}).get(str(i))
                if not pid_alive(pid):
                    terminate([p.pid], timeout=2)
                    raise StackError(f"kafka broker {i} exited during start-up:\n"
                                     f"{_tail(self._kafka_layout(i)['out'])}\n{_tail(self._kafka_layout(i)['log'])}")
            time.sleep(0.1)
        if p.returncode != 0:
            raise StackError(f"kafka did not become ready:\n{_tail(out)}")

    def start_kafka(self, brokers: int = 1, port: int | None = None) -> str:
        """Start a KRaft cluster of `brokers` combined broker+controller JVMs (1 or 3),
        format storage on first use, create the bsocial.* topics (3 partitions,
        replication = brokers). Reuses data and ports of a previous start in this
        dir. `port`: broker i listens on port+2*(i-1), its controller on the next port.
        Returns the bootstrap string."""
        if brokers < 1:
            raise ValueError("brokers must be >= 1")
        st = self._get("kafka")
        if st and st.get("brokers") != brokers and any(
                (self._kafka_layout(i)["data"] / "meta.properties").exists()
                for i in range(1, st.get("brokers", 0) + 1)):
            raise StackError(f"{self.dir} holds a {st.get('brokers')}-broker Kafka; "
                             f"wipe it (or use another dir) to start {brokers} broker(s)")
        running = self.kafka_running()
        if st and len(running) == brokers:
            return st["bootstrap"]
        t0 = time.monotonic()
        cdir = fetch("kafka", quiet=True)
        if not st or st.get("brokers") != brokers:
            st = {"brokers": brokers, "cluster_id": _kafka_uuid(), "pids": {}}
        # ports: explicit > stored (if free or our own broker still holds it) > conventional > free
        if port:
            ports = [port + 2 * j for j in range(brokers)]
            cports = [port + 2 * j + 1 for j in range(brokers)]
        elif st.get("ports") and len(st["ports"]) == brokers and all(
                port_is_free(p) or (j % brokers + 1) in running
                for j, p in enumerate(st["ports"] + st["controller_ports"])):
            ports, cports = st["ports"], st["controller_ports"]
        elif self.prefer_conventional_ports and all(
                port_is_free(CONVENTIONAL["kafka"] + k) for k in range(2 * brokers)):
            base = CONVENTIONAL["kafka"]
            ports = [base + 2 * j for j in range(brokers)]
            cports = [base + 2 * j + 1 for j in range(brokers)]
        else:
            fp = free_ports(2 * brokers)
            ports, cports = fp[:brokers], fp[brokers:]
        st.update(ports=ports, controller_ports=cports,
                  bootstrap=",".join(f"127.0.0.1:{p}" for p in ports))
        st.setdefault("pids", {})
        # configs + format (in parallel: each StorageTool is a JVM start)
        formats = []
        for i in range(1, brokers + 1):
            lay = self._kafka_layout(i)
            lay["data"].mkdir(parents=True, exist_ok=True)
            lay["log"].parent.mkdir(parents=True, exist_ok=True)
            lay["props"].write_text(self._kafka_props(i, st))
            if not (lay["data"] / "meta.properties").exists():
                formats.append((i, _spawn(self._kafka_java(
                    cdir, "kafka.tools.StorageTool",
                    ["format", "-t", st["cluster_id"], "-c", str(lay["props"])], None,
                    heap="256m", tool=True), lay["out"])))
        for i, p in formats:
            if p.wait() != 0:
                raise StackError(f"kafka storage format of broker {i} failed:\n"
                                 f"{_tail(self._kafka_layout(i)['out'])}")
        for i in range(1, brokers + 1):
            if i not in running:
                st["pids"][str(i)] = self._kafka_spawn(cdir, i)
        self._set("kafka", st)
        try:
            self._topic_setup(cdir, st["bootstrap"], brokers, TOPICS, KAFKA_READY_TIMEOUT,
                              list(range(1, brokers + 1)))
        except BaseException:
            self.stop_kafka(timeout=5)
            raise
        st = self._get("kafka")
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        st["topics"] = list(TOPICS)
        self._set("kafka", st)
        return st["bootstrap"]

    def _kafka_check_index(self, i: int) -> dict:
        st = self._get("kafka")
        if not st or not 1 <= i <= st.get("brokers", 0):
            raise ValueError(f"no kafka broker {i} (brokers are numbered 1..{st.get('brokers', 0)})")
        return st

    def stop_kafka_broker(self, i: int, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM broker i (1-based = node.id), SIGKILL after timeout."""
        st = self._kafka_check_index(i)
        pid = st["pids"].get(str(i))
        if pid_alive(pid, str(self._kafka_layout(i)["props"])):
            terminate([pid], timeout=timeout)

    def kill_kafka_broker(self, i: int) -> None:
        """SIGKILL broker i (1-based)."""
        st = self._kafka_check_index(i)
        pid = st["pids"].get(str(i))
        if pid_alive(pid, str(self._kafka_layout(i)["props"])):
            terminate([pid], sig=signal.SIGKILL)

    def restart_kafka_broker(self, i: int, wait: bool = True) -> None:
        """(Re)start broker i with its existing data (no reformat); stops it first
        if it runs. With wait, returns once the cluster lists the broker again."""
        st = self._kafka_check_index(i)
        self.stop_kafka_broker(i)
        cdir = fetch("kafka", quiet=True)
        st["pids"][str(i)] = self._kafka_spawn(cdir, i)
        self._set("kafka", st)
        if wait:
            self._wait_kafka_broker(i, timeout=KAFKA_READY_TIMEOUT)

    def _wait_kafka_broker(self, i: int, timeout: float) -> None:
        st = self._get("kafka")
        addr = f"127.0.0.1:{st['ports'][i - 1]}"
        kcat = shutil.which("kcat") or shutil.which("kafkacat")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(st["pids"].get(str(i))):
                raise StackError(f"kafka broker {i} exited:\n{_tail(self._kafka_layout(i)['out'])}")
            if kcat:
                r = subprocess.run([kcat, "-L", "-J", "-b", addr, "-m", "2"], stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    try:
                        meta = json.loads(r.stdout)
                        if any(b.get("id") == i for b in meta.get("brokers", [])):
                            return
                    except json.JSONDecodeError:
                        pass
            else:
                self._topic_setup(fetch("kafka", quiet=True), addr, st["brokers"], (), int(timeout), [i])
                return
            time.sleep(0.2)
        raise StackError(f"kafka broker {i} not ready after {timeout}s")

    def stop_kafka(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every broker (SIGTERM to all at once, SIGKILL after timeout). Data kept."""
        st = self._get("kafka")
        if not st:
            return
        pids = [st["pids"].get(str(i)) for i in self.kafka_running()]
        terminate([p for p in pids if p], timeout=timeout)

    # ================================================================ OpenSearch
    def opensearch_running(self) -> bool:
        st = self._get("opensearch")
        return pid_alive(st.get("pid"), st.get("data"))

    def start_opensearch(self, port: int | None = None) -> str:
        """Start the embedded single-node OpenSearch; returns http://127.0.0.1:PORT
        once the cluster health is yellow. Data kept across stop/start."""
        st = self._get("opensearch")
        if self.opensearch_running():
            return st["url"]
        t0 = time.monotonic()
        cdir = fetch("opensearch", quiet=True)
        base = self.dir / "opensearch"
        home, data, logs = base / "home", base / "data", base / "logs"
        for d in (home / "config", home / "plugins", home / "modules", data, logs):
            d.mkdir(parents=True, exist_ok=True)
        http = self._pick_port(port, st.get("port"), [CONVENTIONAL["opensearch"]])
        tport = st.get("transport_port")
        if not tport or not port_is_free(tport):
            tport = 9300 if (self.prefer_conventional_ports and port_is_free(9300)) else free_port()
        log4j = base / "log4j2.properties"
        log4j.write_text(_LOG4J2.replace("@LOGFILE@", str(logs / "opensearch.log")))
        settings = {
            "path.home": home, "path.data": data, "path.logs": logs,
            "http.port": http, "transport.port": tport,
            "cluster.name": "bsocial-local", "node.name": "bsocial-os-1",
            "discovery.type": "single-node", "network.host": "127.0.0.1",
            "http.type": "netty4", "transport.type": "netty4",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            "action.auto_create_index": "true",
        }
        cmd = [_java_tool("java"), f"-Xms{OPENSEARCH_HEAP}", f"-Xmx{OPENSEARCH_HEAP}",
               "-XX:+UseG1GC", "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8",
               f"-Djava.io.tmpdir={base / 'tmp'}",
               f"-Dlog4j.configurationFile={log4j}", "-Dlog4j2.disable.jmx=true",
               "-Dlog4j.shutdownHookEnabled=false", "-Dio.netty.allocator.numDirectArenas=0",
               "-cp", _classpath(cdir), "Launcher", *[f"{k}={v}" for k, v in settings.items()]]
        (base / "tmp").mkdir(exist_ok=True)
        out = base / "opensearch.out"
        p = _spawn(cmd, out, cwd=base)
        url = f"http://127.0.0.1:{http}"
        st = {"port": http, "transport_port": tport, "pid": p.pid, "url": url, "data": str(data),
              "log": str(logs / "opensearch.log"), "out": str(out)}
        self._set("opensearch", st)
        deadline = time.monotonic() + OPENSEARCH_READY_TIMEOUT
        while True:
            if p.poll() is not None:
                raise StackError(f"opensearch exited ({p.returncode}):\n{_tail(out)}\n{_tail(logs / 'opensearch.log')}")
            try:
                with urllib.request.urlopen(
                        f"{url}/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10) as r:
                    health = json.loads(r.read())
                if health.get("status") in ("yellow", "green"):
                    break
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                terminate([p.pid], timeout=5)
                raise StackError(f"opensearch not ready after {OPENSEARCH_READY_TIMEOUT}s:\n{_tail(out)}")
            time.sleep(0.2)
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self._set("opensearch", st)
        return url

    def stop_opensearch(self, timeout: float = STOP_TIMEOUT) -> None:
        st = self._get("opensearch")
        if st and self.opensearch_running():
            terminate([st["pid"]], timeout=timeout)

    def restart_opensearch(self) -> str:
        """Stop and start again on the same port, data kept."""
        port = self._get("opensearch").get("port")
        self.stop_opensearch()
        return self.start_opensearch(port=port)

    # ================================================================ all
    def endpoints(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dir": str(self.dir)}
        if self.kafka_running():
            out["kafka"] = self._get("kafka")["bootstrap"]
        if self.opensearch_running():
            out["opensearch"] = self._get("opensearch")["url"]
        if self.postgres_running():
            out["postgres"] = self._get("postgres")["url"]
        return out

    def status(self) -> dict[str, Any]:
        """Per server: endpoint, running, pids, ports, start-up time."""
        res: dict[str, Any] = {"dir": str(self.dir)}
        k = self._get("kafka")
        if k:
            res["kafka"] = {"bootstrap": k.get("bootstrap"), "brokers": k.get("brokers"),
                            "running_brokers": self.kafka_running(), "ports": k.get("ports"),
                            "controller_ports": k.get("controller_ports"),
                            "startup_seconds": k.get("startup_seconds"),
                            "logs": str(self.dir / "kafka" / "logs")}
        o = self._get("opensearch")
        if o:
            res["opensearch"] = {"url": o.get("url"), "running": self.opensearch_running(),
                                 "port": o.get("port"), "transport_port": o.get("transport_port"),
                                 "startup_seconds": o.get("startup_seconds"), "log": o.get("log")}
        p = self._get("postgres")
        if p:
            res["postgres"] = {"url": p.get("url"), "running": self.postgres_running(),
                               "port": p.get("port"), "startup_seconds": p.get("startup_seconds"),
                               "log": p.get("log")}
        return res

    def stop_all(self) -> None:
        """Stop every server of this dir (in parallel). Data kept."""
        errors: list[BaseException] = []

        def run(f: Callable[[], None]) -> None:
            try:
                f()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        threads = [threading.Thread(target=run, args=(f,))
                   for f in (self.stop_opensearch, self.stop_kafka, self.stop_postgres)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise StackError(f"stop failed: {errors}")

    def wipe(self) -> None:
        """stop_all(), then delete every server's data, logs and stack.json."""
        self.stop_all()
        for name in ("kafka", "opensearch", "postgres"):
            shutil.rmtree(self.dir / name, ignore_errors=True)
        for f in ("stack.json", "stack.json.tmp"):
            (self.dir / f).unlink(missing_ok=True)
        with self._lock:
            self.state = {}

    def start(self, kafka: bool = True, opensearch: bool = True, postgres: bool = False,
              brokers: int = 1) -> dict[str, Any]:
        """Start the chosen servers concurrently; returns endpoints()."""
        jobs: dict[str, Callable[[], Any]] = {}
        if kafka or opensearch:
            # fetch first, serially: two concurrent mvn runs would share ~/.m2
            for n, want in (("kafka", kafka), ("opensearch", opensearch)):
                if want:
                    fetch(n)
        if postgres:
            jobs["postgres"] = self.start_postgres
        if kafka:
            jobs["kafka"] = lambda: self.start_kafka(brokers=brokers)
        if opensearch:
            jobs["opensearch"] = self.start_opensearch
        errors: dict[str, BaseException] = {}

        def run(name: str, f: Callable[[], Any]) -> None:
            try:
                f()
            except BaseException as e:  # noqa: BLE001
                errors[name] = e
        threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise StackError("; ".join(f"{n}: {e}" for n, e in errors.items()))
        return self.endpoints()


def _kafka_uuid() -> str:
    """A Kafka cluster id (base64url of 16 random bytes, like `kafka-storage random-uuid`,
    which also avoids ids starting with '-')."""
    while True:
        u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not u.startswith("-"):
            return u


_LOG4J2 = """\
# generated by stack/bstack.py
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = @LOGFILE@
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %marker%m%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
"""


# --------------------------------------------------------------------------- CLI

def _human(stack: Stack) -> str:
    s = stack.status()
    lines = []
    if "kafka" in s and s["kafka"]["running_brokers"]:
        k = s["kafka"]
        lines.append(f"Kafka       {k['bootstrap']}  ({k['brokers']} broker(s), ready in "
                     f"{k['startup_seconds']}s, logs {k['logs']})")
    if "opensearch" in s and s["opensearch"]["running"]:
        o = s["opensearch"]
        lines.append(f"OpenSearch  {o['url']}  (ready in {o['startup_seconds']}s, log {o['log']})")
    if "postgres" in s and s["postgres"]["running"]:
        p = s["postgres"]
        lines.append(f"PostgreSQL  {p['url']}  (ready in {p['startup_seconds']}s, log {p['log']})")
    e = stack.endpoints()
    env = {"kafka": "BSOCIAL_TEST_KAFKA", "opensearch": "BSOCIAL_TEST_OPENSEARCH",
           "postgres": "BSOCIAL_TEST_POSTGRES"}
    for k, v in env.items():
        if k in e:
            lines.append(f"  export {v}={e[k]}")
    return "\n".join(lines)


def _start_from_args(args: argparse.Namespace, stack: Stack) -> Stack:
    stack.prefer_conventional_ports = not args.free_ports
    # --kafka/--opensearch select (naming one leaves the other out), --no-X drops X,
    # --postgres adds PostgreSQL to whatever else is chosen.
    selective = bool(args.kafka or args.opensearch)
    kafka = bool(args.kafka) if selective else args.kafka is not False
    opensearch = bool(args.opensearch) if selective else args.opensearch is not False
    postgres = args.postgres
    if not (kafka or opensearch or postgres):
        raise StackError("nothing to start")
    try:
        stack.start(kafka=kafka, opensearch=opensearch, postgres=postgres, brokers=args.brokers)
    except BaseException:
        stack.stop_all()
        raise
    out = stack.endpoints()
    out["startup_seconds"] = {k: v for k, v in stack.startup_seconds.items() if k in out}
    print(json.dumps(out), flush=True)
    print(_human(stack), flush=True)
    return stack


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bstack", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download jars into the cache and compile the helpers")
    for name, hlp in (("up", "start servers and stay in the foreground until Ctrl-C/SIGTERM"),
                      ("start", "start servers and return, leaving them running")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--dir", default=str(DEFAULT_DIR))
        p.add_argument("--kafka", action=argparse.BooleanOptionalAction, default=None,
                       help="start Kafka (naming --kafka/--opensearch starts only those named)")
        p.add_argument("--opensearch", action=argparse.BooleanOptionalAction, default=None,
                       help="start OpenSearch")
        p.add_argument("--postgres", action="store_true",
                       help="also start PostgreSQL (opt-in)")
        p.add_argument("--brokers", type=int, default=1, choices=(1, 3))
        p.add_argument("--free-ports", action="store_true",
                       help="random free ports instead of 9092/9200/5432")
    for name, hlp in (("stop", "stop the servers of --dir (data kept)"),
                      ("status", "print the state of --dir as JSON"),
                      ("wipe", "stop and delete all data and logs of --dir")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--dir", default=str(DEFAULT_DIR))
    args = ap.parse_args(argv)

    try:
        if args.cmd == "fetch":
            for n, d in fetch_all().items():
                print(f"{n}: {d}")
            return 0
        if args.cmd == "start":
            _start_from_args(args, Stack(args.dir))
            return 0
        if args.cmd == "up":
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
