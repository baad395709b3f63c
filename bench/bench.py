#!/usr/bin/env python3
"""`make bench` and `make bench-scale`: the feed, the mixed workload and post creation on a
seeded network, measured with wrk, written to docs/benchmarks.md.

    python3 bench/bench.py --bin build/release/bsocial              # make bench
    python3 bench/bench.py --bin build/release/bsocial --scale      # make bench-scale
    python3 bench/bench.py --render                                 # docs from docs/benchmarks.json

One run:
1. Seeds the network with `bsocial seed` once per parameter set into
   .bench-cache/<db-kind>-<hash>/ (SQLite file; for PostgreSQL the database
   bench_seed_<hash> in the cluster kept under .bench-cache/postgres/). The hash covers the
   parameters, the feed settings from the environment and the sources that decide what a
   seed writes (migrations, src/bsocial/seed/), so a schema change seeds again.
2. Works on a fresh copy (the benchmark writes posts): SQLite files copied into a temp dir;
   PostgreSQL `CREATE DATABASE run_... TEMPLATE bench_seed_<hash>`. Both removed at the end.
3. Starts the release server on it (relay off), logs in the users the scenarios need
   (100 regular users spread over all user_* ids, 20 of each shape), pages 49 times through
   each shape user's feed for the page-50 cursor, writes one request file per scenario
   ("METHOD<TAB>TOKEN<TAB>PATH[<TAB>BODY]" per line) and runs wrk with
   bench/wrk/requests.lua on it: a warm-up, then the measured run.
4. Prints the table; any non-2xx response or socket error fails the run (exit 1). Writes
   docs/benchmarks.json (raw results), docs/benchmarks.md and the PNG plots.

Numbers only: nothing here asserts on timing; the acceptance targets of issue 8 are
printed next to the numbers.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".bench-cache"
LUA = REPO / "bench" / "wrk" / "requests.lua"
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
PASSWORD = "seeded password"  # every account `bsocial seed` writes
SHAPES = ("typical", "sparse", "new", "heavy", "fan")
SHAPE_TEXT = {
    "typical": "user_*: follows 100 by a power law of popularity",
    "sparse": "sparse_NN: follows 2 quiet accounts, one old post each",
    "new": "new_NN: follows nobody, no posts",
    "heavy": "heavy_NN: follows 5,000 users",
    "fan": "fan_NN: follows only `star`, who wrote half of all posts",
}
# Files whose changes change what `bsocial seed` writes: part of the cache key.
SEED_SOURCES = ("src/bsocial/store/migrations.cpp", "src/bsocial/seed", "src/apps/seed.cpp")
FEED_ENV = ("BSOCIAL_FEED_TIMELINE_CAPACITY", "BSOCIAL_FEED_CELEBRITY_FOLLOWERS")
PAGE_LIMIT = 20
DEEP_PAGE = 50
MIXED_USERS = 100
SHAPE_USERS = 20
TARGETS = {"feed_pct": 40.0, "mixed_pct": 30.0, "mixed_p99_ms": 20.0, "posts_rps": 2000.0,
           "shape_ratio": 2.0}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment of `bsocial seed` and `serve`: no BSOCIAL_* setting but the feed's
    (BSOCIAL_DB, BSOCIAL_KAFKA_BROKERS... from the shell must not leak into a benchmark)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("BSOCIAL_") or k.startswith("BSOCIAL_FEED_")}


def feed_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("BSOCIAL_FEED_")}


# ------------------------------------------------------------------------- dataset

def dataset_params(args: argparse.Namespace, posts: int | None = None,
                   comments: int | None = None) -> dict[str, Any]:
    return {"users": args.users, "follows": args.follows,
            "posts": args.posts if posts is None else posts,
            "comments": args.comments if comments is None else comments,
            "seed": args.seed, "days": args.days, "shape_users": args.shape_users,
            "heavy_follows": args.heavy_follows, "star_share": args.star_share}


def seed_flags(p: dict[str, Any]) -> list[str]:
    return ["--users", str(p["users"]), "--follows", str(p["follows"]),
            "--posts", str(p["posts"]), "--comments", str(p["comments"]),
            "--seed", str(p["seed"]), "--days", str(p["days"]),
            "--shape-users", str(p["shape_users"]), "--heavy-follows", str(p["heavy_follows"]),
            "--star-share", repr(p["star_share"])]


def sources_fingerprint() -> str:
    h = hashlib.sha256()
    for rel in SEED_SOURCES:
        path = REPO / rel
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_key(kind: str, p: dict[str, Any]) -> str:
    key = {"kind": kind, "params": p, "sources": sources_fingerprint(),
           "feed_env": {k: os.environ.get(k, "") for k in FEED_ENV}}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def run_seed(bin_path: str, p: dict[str, Any], data_dir: Path, db_url: str | None) -> dict:
    cmd = [bin_path, "seed", "--data-dir", str(data_dir), *seed_flags(p)]
    if db_url:
        cmd += ["--db", db_url]
    log("seeding: " + " ".join(shlex.quote(c) for c in cmd))
    t0 = time.monotonic()
    # stderr goes to the terminal: the progress bar (when it is one)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=child_env())
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"bsocial seed failed ({r.returncode}):\n{r.stdout}")
    log(r.stdout.strip())
    return {"seconds": round(seconds, 1), "output": r.stdout.strip(),
            "command": " ".join(shlex.quote(c) for c in cmd),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit()}


@contextlib.contextmanager
def cache_lock(name: str, shared: bool = False):
    """flock on .bench-cache/<name>.lock: two runs never seed the same thing at once."""
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield f


def ensure_sqlite_seed(bin_path: str, p: dict[str, Any]) -> tuple[Path, dict]:
    key = cache_key("sqlite", p)
    with cache_lock(f"sqlite-{key}"):
        return _ensure_sqlite_seed(bin_path, p, key)


def _ensure_sqlite_seed(bin_path: str, p: dict[str, Any], key: str) -> tuple[Path, dict]:
    final = CACHE / f"sqlite-{key}"
    meta_path = final / "seed.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        log(f"seed cache hit: {final.relative_to(REPO)} (seeded in {meta['seconds']} s)")
        return final, {**meta, "cached": True, "cache": str(final.relative_to(REPO))}
    tmp = CACHE / f"sqlite-{key}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    meta = {"params": p, **run_seed(bin_path, p, tmp / "data", None)}
    (tmp / "seed.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final, {**meta, "cached": False, "cache": str(final.relative_to(REPO))}


def copy_sqlite(seed_dir: Path, run_dir: Path) -> None:
    """The seeded database and its WAL files, nothing else (serve makes its own secret)."""
    src = seed_dir / "data"
    for name in ("bsocial.db", "bsocial.db-wal", "bsocial.db-shm"):
        if (src / name).exists():
            shutil.copyfile(src / name, run_dir / name)


class Postgres:
    """The benchmark's own cluster under .bench-cache/postgres (data kept between runs;
    the server is stopped by the last run that uses it)."""

    def __init__(self) -> None:
        sys.path.insert(0, str(REPO / "stack"))
        import bstack  # noqa: E402  (stack/ is not a package)

        self.stack = bstack.Stack(CACHE / "postgres")
        t0 = time.monotonic()
        # shared while in use; stop() stops the server only when no other run holds it
        self.use_lock = open(CACHE / "postgres-use.lock", "w")
        fcntl.flock(self.use_lock, fcntl.LOCK_SH)
        with cache_lock("postgres-start"):
            url = self.stack.start_postgres()
        m = re.match(r"postgresql://postgres@127\.0\.0\.1:(\d+)/", url)
        assert m, url
        self.port = int(m.group(1))
        self.psql_bin = str(bstack.Stack._pg_bin() / "psql")
        log(f"postgres on port {self.port} ({time.monotonic() - t0:.1f} s)")

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = subprocess.run([self.psql_bin, "-h", "127.0.0.1", "-p", str(self.port), "-U",
                            "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr.strip()}")
        return r.stdout.strip()

    def exists(self, db: str) -> bool:
        return bool(self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"))

    def ensure_seed(self, bin_path: str, p: dict[str, Any]) -> tuple[str, dict]:
        key = cache_key("postgresql", p)
        with cache_lock(f"postgresql-{key}"):
            return self._ensure_seed(bin_path, p, key)

    def _ensure_seed(self, bin_path: str, p: dict[str, Any], key: str) -> tuple[str, dict]:
        name = f"bench_seed_{key}"
        meta_dir = CACHE / f"postgresql-{key}"
        meta_path = meta_dir / "seed.json"
        if meta_path.exists() and self.exists(name):
            meta = json.loads(meta_path.read_text())
            log(f"seed cache hit: database {name} (seeded in {meta['seconds']} s)")
            return name, {**meta, "cached": True, "cache": f"database {name}"}
        partial = f"{name}_partial"
        for db in (partial, name):
            self.psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{partial}"')
        with tempfile.TemporaryDirectory(prefix="bsocial-bench-seed-") as data_dir:
            meta = {"params": p, **run_seed(bin_path, p, Path(data_dir), self.url(partial))}
        # A live database is vacuumed by autovacuum; a template copy never would be (no
        # statistics carry over), so the visibility map is set here, once.
        t0 = time.monotonic()
        self.psql("VACUUM (ANALYZE)", db=partial)
        meta["vacuum_seconds"] = round(time.monotonic() - t0, 1)
        self.psql(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
        meta_dir.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        return name, {**meta, "cached": False, "cache": f"database {name}"}

    def copy(self, template: str) -> str:
        name = f"run_{os.getpid()}_{int(time.time())}"
        t0 = time.monotonic()
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        log(f"database {name} from {template} in {time.monotonic() - t0:.1f} s")
        return name

    def drop(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            fcntl.flock(self.use_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("postgres left running: another benchmark run uses it")
        else:
            self.stack.stop_postgres()
        finally:
            self.use_lock.close()


# ------------------------------------------------------------------------- server

class Server:
    def __init__(self, bin_path: str, data_dir: Path, db_url: str | None, args) -> None:
        self.log_path = data_dir / "serve.log"
        cmd = [bin_path, "serve", "--port", "0", "--data-dir", str(data_dir),
               "--log-level", "warn", "--db-pool", str(args.db_pool),
               "--io-threads", str(args.io_threads),
               "--registrations-per-minute", "0"]  # the harness registers from one address
        if db_url:
            cmd += ["--db", db_url]
        self.cmd = cmd
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log_file, text=True,
                                     env=child_env())
        self.port = 0
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            m = LISTEN_RE.search(line)
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() > deadline:
                break
        if not self.port:
            self.stop()
            raise SystemExit(f"server did not start:\n{self.log_path.read_text()[-2000:]}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()

    def log_lines(self) -> list[str]:
        try:
            return [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return []


class Http:
    """One keep-alive connection, reopened after an error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, token: str | None = None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, json.dumps(body) if body is not None else None,
                                  headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} -> {r.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        if self.conn:
            self.conn.close()


def login_all(port: int, names: list[str]) -> dict[str, str]:
    """Argon2id at ~50 ms a login: 2 at a time (2 cores)."""
    local = threading.local()

    def login(name: str) -> tuple[str, str]:
        if not hasattr(local, "http"):
            local.http = Http(port)
        return name, local.http.request("POST", "/api/v1/sessions",
                                        {"login": name, "password": PASSWORD})["token"]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(pool.map(login, names))


def feed_path(cursor: str | None = None) -> str:
    return f"/api/v1/feed?limit={PAGE_LIMIT}" + (f"&cursor={cursor}" if cursor else "")


def deep_cursors(port: int, tokens: list[str]) -> list[tuple[str | None, int]]:
    """Per token: the cursor of page DEEP_PAGE (paging with limit=20), or None and the
    number of pages the feed has when it is shorter."""
    local = threading.local()

    def walk(token: str) -> tuple[str | None, int]:
        if not hasattr(local, "http"):
            local.http = Http(port)
        cursor = None
        for page in range(1, DEEP_PAGE):
            body = local.http.request("GET", feed_path(cursor), token=token)
            cursor = body.get("next_cursor")
            if not cursor:
                return None, page
        return cursor, DEEP_PAGE

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(walk, tokens))


# ------------------------------------------------------------------------- wrk

def write_requests(path: Path, lines: list[tuple[str, str, str, str]]) -> Path:
    with open(path, "w") as f:
        for method, token, target, body in lines:
            assert "\t" not in target + body and "\n" not in target + body
            f.write(f"{method}\t{token}\t{target}" + (f"\t{body}" if body else "") + "\n")
    return path


def run_wrk(port: int, file: Path, connections: int, duration: float, threads: int = 2) -> dict:
    threads = min(threads, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
           "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(file), str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    return json.loads(line[len("BENCH_JSON "):])


def measure(port: int, sc: dict, args) -> dict:
    if args.warmup > 0:
        run_wrk(port, sc["file"], sc["connections"], args.warmup)
    w = run_wrk(port, sc["file"], sc["connections"], args.duration)
    lat = w["latency_us"]
    e = w["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    out = {k: v for k, v in sc.items() if k != "file"}
    out.update({
        "requests": w["requests"], "seconds": round(w["duration_us"] / 1e6, 2),
        "rps": round(w["requests"] / (w["duration_us"] / 1e6), 1) if w["duration_us"] else 0.0,
        "p50_ms": lat["p50"] / 1000, "p75_ms": lat["p75"] / 1000, "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000, "p99_9_ms": lat["p99_9"] / 1000, "max_ms": lat["max"] / 1000,
        "mean_ms": round(lat["mean"] / 1000, 3),
        "non2xx": w["non2xx"], "status": w["status"], "socket_errors": e,
        "errors": w["non2xx"] + socket_errors,
    })
    return out


# ------------------------------------------------------------------------- one run

def regular_users(users: int, n: int) -> list[str]:
    """n regular users spread evenly over all user_* ids (popular and unpopular alike)."""
    n = min(n, users)
    return [f"user_{(k * users) // n:06d}" for k in range(n)]


def shape_users(shape: str, users: int, shape_count: int) -> list[str]:
    if shape == "typical":
        return regular_users(users, MIXED_USERS)[::max(1, MIXED_USERS // SHAPE_USERS)][:SHAPE_USERS]
    return [f"{shape}_{k:02d}" for k in range(min(SHAPE_USERS, shape_count))]


def run_once(args, kind: str, p: dict[str, Any], full: bool) -> dict:
    """Seed (cached), copy, serve, measure. full=False: only /healthz and the feed."""
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    run_dir = Path(tempfile.mkdtemp(prefix="bsocial-bench-"))
    pg = None
    run_db = None
    server = None
    record: dict[str, Any] = {"db": kind, "params": p, "full": full,
                              "shape_connections": args.shape_connections}
    try:
        if kind == "sqlite":
            seed_dir, seed_meta = ensure_sqlite_seed(args.bin, p)
            t0 = time.monotonic()
            copy_sqlite(seed_dir, run_dir)
            log(f"copied the seeded SQLite files to {run_dir} in {time.monotonic() - t0:.1f} s")
            db_url = None
        else:
            pg = Postgres()
            template, seed_meta = pg.ensure_seed(args.bin, p)
            run_db = pg.copy(template)
            db_url = pg.url(run_db)
        record["seed"] = {k: seed_meta.get(k) for k in
                          ("seconds", "cached", "cache", "output", "created", "vacuum_seconds")}
        server = Server(args.bin, run_dir, db_url, args)
        port = server.port
        record["server"] = {"db_pool": args.db_pool, "io_threads": args.io_threads,
                            "env": feed_env(),
                            "command": " ".join(server.cmd[1:]).replace(str(run_dir), "RUN_DIR")}
        log(f"server on port {port}")

        regular = regular_users(p["users"], MIXED_USERS)
        by_shape = {s: shape_users(s, p["users"], p["shape_users"]) for s in SHAPES}
        names = sorted(set(regular) | {n for s in SHAPES for n in by_shape[s]})
        t0 = time.monotonic()
        tokens = login_all(port, names)
        log(f"{len(tokens)} logins in {time.monotonic() - t0:.1f} s")

        # page-50 cursors; shorter feeds borrow a typical user's (the same point in time)
        t0 = time.monotonic()
        deep: dict[str, list[tuple[str | None, int]]] = {}
        for s in SHAPES:
            deep[s] = deep_cursors(port, [tokens[n] for n in by_shape[s]])
        log(f"page-{DEEP_PAGE} cursors in {time.monotonic() - t0:.1f} s")
        typical_deep = [c for c, _ in deep["typical"] if c]
        record["feed_pages"] = {s: {"users": len(by_shape[s]),
                                    f"with_page_{DEEP_PAGE}": sum(1 for c, _ in deep[s] if c),
                                    "min_pages": min((n for _, n in deep[s]), default=0),
                                    "max_pages": max((n for _, n in deep[s]), default=0)}
                                for s in SHAPES}

        h = Http(port)
        files = run_dir / "requests"
        files.mkdir()
        scenarios: list[dict] = []

        def add(name, group, connections, lines, **extra):
            scenarios.append({"name": name, "group": group, "connections": connections,
                              "users": len({ln[1] for ln in lines if ln[1]}),
                              "file": write_requests(files / f"{len(scenarios):02d}.txt", lines),
                              **extra})

        add("GET /healthz", "healthz", 32, [("GET", "", "/healthz", "")] * 100)
        add("feed typical, first page", "feed_throughput", 32,
            [("GET", tokens[n], feed_path(), "") for n in regular], shape="typical", page=1)
        for s in SHAPES:
            add(f"feed {s}, first page", "shape", args.shape_connections,
                [("GET", tokens[n], feed_path(), "") for n in by_shape[s]], shape=s, page=1)
            lines, borrowed = [], 0
            for i, (n, (cursor, _)) in enumerate(zip(by_shape[s], deep[s])):
                if not cursor and typical_deep:
                    cursor = typical_deep[i % len(typical_deep)]
                    borrowed += 1
                if cursor:
                    lines.append(("GET", tokens[n], feed_path(cursor), ""))
            if lines:
                add(f"feed {s}, page {DEEP_PAGE}", "shape", args.shape_connections, lines,
                    shape=s, page=DEEP_PAGE, borrowed_cursors=borrowed)
        if full:
            rng = random.Random(p["seed"])
            mixed = []
            for n in regular:
                items = h.request("GET", feed_path(), token=tokens[n])["items"]
                # posts this user can see; the commented ones first
                picks = sorted(items, key=lambda it: -int(it.get("comment_count", 0)))[:3]
                for k in range(6):
                    mixed.append(("GET", tokens[n], feed_path(), ""))
                for k in range(3):
                    if picks:
                        pid = picks[k % len(picks)]["id"]
                        mixed.append(("GET", tokens[n], f"/api/v1/posts/{pid}/comments?limit=20", ""))
                    else:
                        mixed.append(("GET", tokens[n], feed_path(), ""))
                mixed.append(("POST", tokens[n], "/api/v1/posts",
                              json.dumps({"content": f"mixed workload post by {n}"})))
            rng.shuffle(mixed)
            add("mixed 60/30/10", "mixed", 16, mixed)
            posts = [("POST", tokens[n], "/api/v1/posts",
                      json.dumps({"content": f"benchmark post {k} by {n}"}))
                     for k in range(10) for n in regular]
            rng.shuffle(posts)
            add("POST /api/v1/posts", "posts", 16, posts)
        h.close()

        if args.only:
            wanted = {"healthz", *args.only.split(",")}  # /healthz: the percentages' base
            scenarios = [sc for sc in scenarios if sc["group"] in wanted]
        results = []
        for sc in scenarios:
            if not server.alive():
                raise SystemExit(f"the server exited ({server.proc.returncode}); log:\n"
                                 + "\n".join(server.log_lines()[-30:]))
            res = measure(port, sc, args)
            results.append(res)
            log(f"{res['name']:<28} c{res['connections']:<3} {res['rps']:>10.1f} req/s  "
                f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  errors {res['errors']}"
                + (f" {res['status']}" if res["status"] else ""))
        record["scenarios"] = results
        annotate(record)
    finally:
        if server:
            server.stop()
            record["server_exit"] = server.proc.returncode
            lines = server.log_lines()
            record["server_log"] = {"lines": len(lines), "sample": lines[:10]}
        if pg:
            if run_db:
                pg.drop(run_db)
            pg.stop()
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log(f"kept {run_dir}")
    record.update({
        "date": started.isoformat(timespec="seconds"),
        "minutes": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds() / 60, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "duration_s": args.duration, "warmup_s": args.warmup,
        "errors": sum(r["errors"] for r in record.get("scenarios", [])),
    })
    return record


def annotate(record: dict) -> None:
    """Ratios: % of /healthz, shape median / typical median (same page)."""
    sc = record["scenarios"]
    healthz = next((r for r in sc if r["group"] == "healthz"), None)
    typical = {r["page"]: r for r in sc if r["group"] == "shape" and r["shape"] == "typical"}
    for r in sc:
        if healthz and r["group"] in ("feed_throughput", "mixed", "posts") and healthz["rps"]:
            r["pct_of_healthz"] = round(100 * r["rps"] / healthz["rps"], 1)
        if r["group"] == "shape" and r["page"] in typical and typical[r["page"]]["p50_ms"]:
            r["ratio_to_typical"] = round(r["p50_ms"] / typical[r["page"]]["p50_ms"], 2)


# ------------------------------------------------------------------------- output

def git_commit() -> str:
    try:
        c = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return c + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    cpu = "unknown"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for ln in Path("/proc/meminfo").read_text().splitlines():
            if ln.startswith("MemTotal:"):
                mem_gib = int(ln.split()[1]) / 1024 / 1024
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    m = re.search(r"wrk (\S+)", wrk.stdout + wrk.stderr)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_gib, 1),
            "kernel": platform.release(), "wrk": m.group(1) if m else "?"}


def fmt_vs(r: dict) -> str:
    if r["group"] == "healthz":
        return "ceiling"
    if "pct_of_healthz" in r:
        return f"{r['pct_of_healthz']:.1f}% of healthz"
    if "ratio_to_typical" in r:
        return f"{r['ratio_to_typical']:.2f}x typical"
    return ""


def scenario_label(r: dict) -> str:
    label = r["name"]
    if r.get("borrowed_cursors"):
        label += " *"
    return label


def table_rows(record: dict) -> list[list[str]]:
    rows = []
    for r in record["scenarios"]:
        rows.append([scenario_label(r), str(r["connections"]), f"{r['rps']:,.0f}",
                     f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"]), fmt_vs(r)])
    return rows


HEADER = ["scenario", "conns", "req/s", "p50 ms", "p99 ms", "errors", "vs"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) for i in range(len(HEADER))]
    right = {1, 2, 3, 4, 5}
    out = []
    for row in [HEADER, ["-" * w for w in widths], *rows]:
        out.append("  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                             for i, c in enumerate(row)).rstrip())
    return "\n".join(out)


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join("---:" if i in (1, 2, 3, 4, 5) else "---" for i in range(len(HEADER))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def acceptance(record: dict) -> list[str]:
    sc = record["scenarios"]
    by_group = {}
    for r in sc:
        by_group.setdefault(r["group"], []).append(r)
    out = []

    def verdict(ok: bool) -> str:
        return "meets the target" if ok else "**misses the target**"

    if "feed_throughput" in by_group and "pct_of_healthz" in by_group["feed_throughput"][0]:
        r = by_group["feed_throughput"][0]
        out.append(f"Feed throughput, typical user (c{r['connections']}): {r['rps']:,.0f} req/s = "
                   f"{r['pct_of_healthz']:.1f}% of /healthz (target >= {TARGETS['feed_pct']:.0f}%): "
                   f"{verdict(r['pct_of_healthz'] >= TARGETS['feed_pct'])}")
    shapes = [r for r in by_group.get("shape", []) if "ratio_to_typical" in r]
    if shapes:
        worst = max(shapes, key=lambda r: r["ratio_to_typical"])
        out.append(f"Feed median per shape, first page and page {DEEP_PAGE}: worst {worst['name']} at "
                   f"{worst['ratio_to_typical']:.2f}x the typical user's "
                   f"(target within {TARGETS['shape_ratio']:.0f}x): "
                   f"{verdict(worst['ratio_to_typical'] <= TARGETS['shape_ratio'])}")
    if "mixed" in by_group and "pct_of_healthz" in by_group["mixed"][0]:
        r = by_group["mixed"][0]
        ok = r["pct_of_healthz"] >= TARGETS["mixed_pct"] and r["p99_ms"] <= TARGETS["mixed_p99_ms"]
        out.append(f"Mixed 60/30/10 (c{r['connections']}): {r['rps']:,.0f} req/s = "
                   f"{r['pct_of_healthz']:.1f}% of /healthz, p99 {r['p99_ms']:.1f} ms "
                   f"(target >= {TARGETS['mixed_pct']:.0f}%, p99 <= {TARGETS['mixed_p99_ms']:.0f} ms): "
                   f"{verdict(ok)}")
    if "posts" in by_group:
        r = by_group["posts"][0]
        if record["db"] == "sqlite":
            out.append(f"Post creation (c{r['connections']}): {r['rps']:,.0f} posts/s "
                       f"(target >= {TARGETS['posts_rps']:,.0f}/s on SQLite): "
                       f"{verdict(r['rps'] >= TARGETS['posts_rps'])}")
        else:
            out.append(f"Post creation (c{r['connections']}): {r['rps']:,.0f} posts/s "
                       f"on PostgreSQL (reported, no target)")
    errs = record.get("errors", 0)
    if errs:
        bad = [f"{r['name']}: {r['errors']} ({r['status'] or r['socket_errors']})"
               for r in sc if r["errors"]]
        out.append(f"**FAILED RUN: {errs} non-2xx responses or socket errors** — " + "; ".join(bad))
    else:
        out.append("Errors: none (every response 2xx, no socket errors).")
    if record.get("server_exit") not in (None, 0, -15):
        out.append(f"**The server exited with {record['server_exit']}.**")
    slog = record.get("server_log") or {}
    if slog.get("lines"):
        first = slog["sample"][0][:160].replace("`", "'")
        out.append(f"Server log: {slog['lines']} line(s) at warn or above, the first: `{first}`")
    return out


def posts_text(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % (div // 10) == 0:
            v = n / div
            return f"{v:g}{suffix}"
    return f"{n:,}"


def dataset_text(p: dict) -> str:
    return (f"{p['users']:,} regular users following {p['follows']} each (power law), "
            f"{p['posts']:,} posts over {p['days']} days, {p['comments']:,} comments, seed {p['seed']}; "
            f"{p['shape_users']} accounts of each shape (heavy follow {p['heavy_follows']:,}, "
            f"`star` wrote {p['star_share']:.0%} of the posts)")


def dataset_text_scale(p: dict) -> str:
    return (f"{p['users']:,} regular users following {p['follows']} each (power law), posts as "
            f"in the columns over {p['days']} days, comments = posts / 10, seed {p['seed']}; "
            f"{p['shape_users']} accounts of each shape (heavy follow {p['heavy_follows']:,}, "
            f"`star` wrote {p['star_share']:.0%} of the posts)")


def seed_text(s: dict) -> str:
    t = f"seeded in {s['seconds']} s"
    if s.get("vacuum_seconds") is not None:
        t += f" (+ VACUUM ANALYZE {s['vacuum_seconds']} s)"
    t += f" on {s.get('created', '?')[:10]}, cached in `{s['cache']}`"
    t += " (cache hit this run)" if s.get("cached") else " (seeded by this run)"
    return t


def run_meta_md(meta: dict, record: dict) -> list[str]:
    m = meta["machine"]
    out = [
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"load average before the run {record['loadavg_before'][0]} (the cores are shared)",
        f"- Date: {record['date']} (run took {record['minutes']} min); commit `{meta['commit']}`",
        f"- Command: `{meta['command']}`",
        f"- Database: {'SQLite (WAL)' if record['db'] == 'sqlite' else 'PostgreSQL 15 (local cluster, fsync off)'}; "
        f"server `{env_prefix(record)}bsocial {record['server']['command']}` "
        f"(release build, outbox relay off)",
        f"- Dataset: {dataset_text(record['params'])}; {seed_text(record['seed'])}",
        f"- wrk {m['wrk']} `-t2`, {record['duration_s']} s per scenario after a "
        f"{record['warmup_s']} s warm-up, requests rotate over the users' tokens "
        f"([bench/wrk/requests.lua](../bench/wrk/requests.lua))",
    ]
    return out


def env_prefix(record: dict) -> str:
    env = record.get("server", {}).get("env") or {}
    return "".join(f"{k}={v} " for k, v in env.items())


def render(results: dict, docs: Path) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    plots = make_plots(results, docs)
    md = ["# Benchmarks", "",
          "Written by [`bench/bench.py`](../bench/bench.py): `make bench` (first section) and "
          "`make bench-scale` (second section). Raw numbers in "
          "[`benchmarks.json`](benchmarks.json); `python3 bench/bench.py --render` rewrites this "
          "page and the plots from it. How the scenarios are built: "
          "[bench/README.md](../bench/README.md). Numbers only: nothing asserts on them.", ""]
    b = results.get("bench")
    if b:
        r = b["run"]
        md += [f"## `make bench`: {'SQLite' if r['db'] == 'sqlite' else 'PostgreSQL'}, "
               f"{r['params']['posts']:,} posts", ""]
        md += run_meta_md(b, r) + [""]
        md += [md_table(table_rows(r)), ""]
        md += notes_md(r)
        md += ["", "Acceptance (issue 8):", ""] + [f"- {a}" for a in acceptance(r)] + [""]
        if "bench" in plots:
            md += [f"![throughput and p99 per scenario]({plots['bench']})", ""]
    s = results.get("scale")
    if s:
        md += ["## `make bench-scale`: the feed against dataset size", ""]
        first = s["runs"][0]
        md += [f"- Machine: {s['machine']['cpu']}, {s['machine']['cores']} cores, "
               f"{s['machine']['ram_gib']} GiB RAM; date {s['date']}; commit `{s['commit']}`",
               f"- Command: `{s['command']}`",
               f"- Every dataset: {dataset_text_scale(first['params'])}",
               f"- Feed scenarios at {first.get('shape_connections', 4)} connections "
               f"(latency, not queueing); median (p50) in ms and its ratio to the typical "
               f"user's median on the same page", ""]
        md += [scale_table(s), ""]
        md += ["Seeding and runs:", ""]
        for run in s["runs"]:
            md.append(f"- {run_name(run)}: {seed_text(run['seed'])}; load average before "
                      f"{run['loadavg_before'][0]}; errors {run['errors']}")
        md.append("")
        for run in s["runs"]:
            if run["full"]:
                md += [f"### {run_name(run)}: every scenario", ""]
                md += [md_table(table_rows(run)), ""]
                md += ["Acceptance (issue 8):", ""] + [f"- {a}" for a in acceptance(run)] + [""]
        if "scale" in plots:
            md += [f"![feed median latency against dataset size]({plots['scale']})", ""]
    (docs / "benchmarks.md").write_text("\n".join(md).rstrip() + "\n")
    log(f"wrote {docs / 'benchmarks.md'}")


def notes_md(r: dict) -> list[str]:
    out = [f"Shapes: " + "; ".join(f"{s} = {SHAPE_TEXT[s]}" for s in SHAPES) + ". "
           f"Shape rows run at {next((x['connections'] for x in r['scenarios'] if x['group'] == 'shape'), 4)} "
           f"connections, 20 users each; the typical feed throughput row at 32 connections over "
           f"100 regular users; mixed = 60% GET feed, 30% GET comments of a post on the user's "
           f"first page, 10% POST a post, 100 regular users."]
    borrowed = [x for x in r["scenarios"] if x.get("borrowed_cursors")]
    if borrowed:
        fp = r.get("feed_pages", {})
        def pages(shape: str) -> str:
            lo = fp.get(shape, {}).get("min_pages", "?")
            hi = fp.get(shape, {}).get("max_pages", "?")
            return f"{lo} page{'s' if lo != 1 else ''}" if lo == hi else f"{lo} to {hi} pages"

        desc = ", ".join(f"{x['shape']} ({pages(x['shape'])}, {x['borrowed_cursors']} of "
                         f"{x['users']} users)" for x in borrowed)
        out.append("")
        out.append(f"\\* Feeds shorter than {DEEP_PAGE} pages: {desc}. Their page-{DEEP_PAGE} row "
                   f"requests the page after a typical user's page {DEEP_PAGE - 1} cursor (the same "
                   f"point in time), which is what a deep cursor costs for that user.")
    return out


def run_name(run: dict) -> str:
    return f"{'SQLite' if run['db'] == 'sqlite' else 'PostgreSQL'} {posts_text(run['params']['posts'])} posts"


def scale_table(s: dict) -> str:
    runs = s["runs"]
    head = ["feed scenario"] + [run_name(r) for r in runs]
    out = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(runs) + "|"]
    keys = []
    for r in runs:
        for x in r["scenarios"]:
            if x["group"] == "shape" and (x["shape"], x["page"]) not in keys:
                keys.append((x["shape"], x["page"]))
    keys.sort(key=lambda k: (k[1], SHAPES.index(k[0])))
    for shape, page in keys:
        row = [f"{shape}, {'first page' if page == 1 else f'page {page}'}"]
        for r in runs:
            x = next((x for x in r["scenarios"] if x["group"] == "shape" and x["shape"] == shape
                      and x["page"] == page), None)
            if x is None:
                row.append("")
            else:
                cell = f"{x['p50_ms']:.2f} ms"
                if "ratio_to_typical" in x and shape != "typical":
                    cell += f" ({x['ratio_to_typical']:.2f}x)"
                if x.get("borrowed_cursors"):
                    cell += " *"
                row.append(cell)
        out.append("| " + " | ".join(row) + " |")
    for group, label in (("feed_throughput", "typical feed throughput, c32 (req/s, % of healthz)"),
                         ("healthz", "GET /healthz, c32 (req/s)")):
        row = [label]
        for r in runs:
            x = next((x for x in r["scenarios"] if x["group"] == group), None)
            if x is None:
                row.append("")
            elif group == "healthz":
                row.append(f"{x['rps']:,.0f}")
            else:
                row.append(f"{x['rps']:,.0f} ({x.get('pct_of_healthz', 0):.1f}%)")
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append(f"\\* borrowed cursor: that shape's feed is shorter than {DEEP_PAGE} pages "
               f"(see the first section).")
    return "\n".join(out)


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log("matplotlib missing: python3 -m pip install matplotlib")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"])
        if r.returncode != 0:
            return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def make_plots(results: dict, docs: Path) -> dict[str, str]:
    plt = ensure_matplotlib()
    if plt is None:
        log("no matplotlib: plots skipped")
        return {}
    out = {}
    b = results.get("bench")
    if b:
        sc = b["run"]["scenarios"]
        names = [scenario_label(r) + f" (c{r['connections']})" for r in sc][::-1]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.42 * len(sc) + 1.8), sharey=True)
        colors = ["tab:red" if r["errors"] else "tab:blue" for r in sc][::-1]
        ax1.barh(names, [r["rps"] for r in sc][::-1], color=colors)
        ax1.set_xscale("log")
        ax1.set_xlim(right=max(r["rps"] for r in sc) * 4)
        ax1.set_xlabel("requests/s (log)")
        ax1.set_title("throughput")
        for y, r in enumerate(sc[::-1]):
            ax1.text(r["rps"], y, f" {r['rps']:,.0f}", va="center", fontsize=8)
        ax2.barh(names, [r["p99_ms"] for r in sc][::-1], color="tab:orange")
        ax2.barh(names, [r["p50_ms"] for r in sc][::-1], color="tab:green", height=0.4, label="p50")
        ax2.set_xscale("log")
        ax2.set_xlim(right=max(r["p99_ms"] for r in sc) * 4)
        ax2.set_xlabel("latency ms (log): p99 bar, p50 inner bar")
        ax2.set_title("p99 (and p50)")
        for y, r in enumerate(sc[::-1]):
            ax2.text(r["p99_ms"], y, f" {r['p99_ms']:.2f}", va="center", fontsize=8)
        run = b["run"]
        fig.suptitle(f"bSocial `make bench`: {run_name(run)}, {b['machine']['cores']} cores, "
                     f"{run['date'][:10]}, {b['commit']}")
        fig.tight_layout()
        fig.savefig(docs / "benchmarks.png", dpi=100)
        plt.close(fig)
        out["bench"] = "benchmarks.png"
    s = results.get("scale")
    if s:
        from matplotlib import ticker
        fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
        colors = dict(zip(SHAPES, ["black", "tab:blue", "tab:green", "tab:red", "tab:purple"]))
        for ax, page in zip(axes, (1, DEEP_PAGE)):
            for shape in SHAPES:
                for db, style, marker in (("sqlite", "-", "o"), ("postgresql", "--", "s")):
                    pts = []
                    for run in s["runs"]:
                        if run["db"] != db:
                            continue
                        x = next((x for x in run["scenarios"] if x["group"] == "shape"
                                  and x["shape"] == shape and x["page"] == page), None)
                        if x:
                            pts.append((run["params"]["posts"], x["p50_ms"]))
                    pts.sort()
                    if pts:
                        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker=marker,
                                color=colors[shape], mfc="white" if db == "postgresql" else None,
                                label=f"{shape} ({'PostgreSQL' if db == 'postgresql' else 'SQLite'})")
            ax.set_xscale("log")
            ax.set_yscale("log")
            sizes = sorted({run["params"]["posts"] for run in s["runs"]})
            ax.set_xticks(sizes, [posts_text(n) for n in sizes])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("posts in the database (log)")
            ax.set_title("first page" if page == 1 else f"page {page}")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel("feed median latency, ms (log)")
        axes[1].legend(fontsize=8, loc="best")
        fig.suptitle(f"bSocial `make bench-scale`: feed median by user shape, "
                     f"{s['machine']['cores']} cores, {s['date'][:10]}, {s['commit']}")
        fig.tight_layout()
        fig.savefig(docs / "benchmarks-scale.png", dpi=100)
        plt.close(fig)
        out["scale"] = "benchmarks-scale.png"
    return out


def print_run(record: dict) -> None:
    print()
    print(f"{run_name(record)} — {dataset_text(record['params'])}")
    print(f"seed: {seed_text(record['seed'])}")
    print()
    print(text_table(table_rows(record)))
    if any(x.get("borrowed_cursors") for x in record["scenarios"]):
        print(f"* feed shorter than {DEEP_PAGE} pages: page after a typical user's "
              f"page-{DEEP_PAGE - 1} cursor")
    print()
    for a in acceptance(record):
        print("  " + a.replace("**", ""))
    for ln in (record.get("server_log") or {}).get("sample", [])[1:]:
        print("    " + ln[:200])
    sys.stdout.flush()


def load_results(path: Path) -> dict:
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            log(f"{path} is not JSON: starting a new one")
    return {}


def command_text(scale: bool) -> str:
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    cmd = f"python3 bench/bench.py {argv}".rstrip()
    env = [f"{k}={shlex.quote(os.environ[k])}" for k in ("BENCH_SIZES", "BENCH_PG_SIZES")
           if scale and k in os.environ]
    env += [f"{k}={shlex.quote(os.environ[k])}" for k in FEED_ENV if k in os.environ]
    if env:
        cmd = " ".join(env) + " " + cmd
    if os.environ.get("MAKELEVEL"):
        cmd = f"make {'bench-scale' if scale else 'bench'}: {cmd}"
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "build/release/bsocial"))
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                    help="database of `make bench` (default sqlite)")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--follows", type=int, default=100)
    ap.add_argument("--posts", type=int, default=1000000)
    ap.add_argument("--comments", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--shape-users", type=int, default=20)
    ap.add_argument("--heavy-follows", type=int, default=5000)
    ap.add_argument("--star-share", type=float, default=0.5)
    ap.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each scenario (0: none)")
    ap.add_argument("--shape-connections", type=int, default=4,
                    help="connections of the per-shape feed rows (latency, not queueing)")
    ap.add_argument("--db-pool", type=int, default=4, help="serve --db-pool")
    ap.add_argument("--io-threads", type=int, default=2, help="serve --io-threads")
    ap.add_argument("--scale", action="store_true",
                    help="make bench-scale: feed latency against dataset size")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "100000,1000000,10000000"),
                    help="--scale: SQLite post counts (env BENCH_SIZES)")
    ap.add_argument("--pg-sizes", default=os.environ.get("BENCH_PG_SIZES", "1000000"),
                    help="--scale: PostgreSQL post counts, every scenario (env BENCH_PG_SIZES; "
                         "empty: none)")
    ap.add_argument("--docs", default=str(REPO / "docs"),
                    help="where benchmarks.{md,json,png} go")
    ap.add_argument("--render", action="store_true", help="only rewrite the docs from the JSON")
    ap.add_argument("--keep-other-scale-runs", action="store_true",
                    help="with --scale: keep the recorded runs of the datasets not run now "
                         "(e.g. --sizes '' --pg-sizes 1000000 re-measures PostgreSQL only)")
    ap.add_argument("--keep", action="store_true", help="keep the run's temp dir")
    ap.add_argument("--only", default="",
                    help="only these scenario groups (comma-separated: feed_throughput, shape, "
                         "mixed, posts; /healthz always runs); results are printed, not "
                         "written to docs/")
    args = ap.parse_args()

    docs = Path(args.docs)
    json_path = docs / "benchmarks.json"
    results = load_results(json_path)
    if args.render:
        render(results, docs)
        return 0
    if not Path(args.bin).exists():
        raise SystemExit(f"{args.bin} not found: cmake --build build/release")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install wrk)")
    ensure_matplotlib()
    CACHE.mkdir(exist_ok=True)
    meta = {"machine": machine(), "commit": git_commit(), "command": command_text(args.scale)}

    if not args.scale:
        record = run_once(args, args.db, dataset_params(args), full=True)
        print_run(record)
        if args.only:  # a partial run: printed, never written over the full figures
            return 1 if record["errors"] > 0 else 0
        results["bench"] = {**meta, "run": record}
        failed = record["errors"] > 0
    else:
        def sizes(text: str) -> list[int]:
            return [int(x.replace("_", "")) for x in text.replace(" ", "").split(",") if x]

        runs = []
        plan = [("sqlite", n, False) for n in sizes(args.sizes)] + \
               [("postgresql", n, True) for n in sizes(args.pg_sizes)]
        started = dt.datetime.now(dt.timezone.utc)
        for kind, n, full in plan:
            log(f"=== {kind}, {n:,} posts{' (every scenario)' if full else ''}")
            record = run_once(args, kind, dataset_params(args, posts=n, comments=n // 10), full)
            print_run(record)
            runs.append(record)
        if args.keep_other_scale_runs:  # replace only the datasets run now
            ran = {(r["db"], r["params"]["posts"]) for r in runs}
            kept = [r for r in results.get("scale", {}).get("runs", [])
                    if (r["db"], r["params"]["posts"]) not in ran]
            order = {"sqlite": 0, "postgresql": 1}
            runs = sorted(kept + runs, key=lambda r: (order.get(r["db"], 2), r["params"]["posts"]))
        results["scale"] = {**meta, "date": started.isoformat(timespec="seconds"), "runs": runs}
        print()
        print("feed median against dataset size:")
        print(scale_table(results["scale"]).replace("\\*", "*"))
        failed = any(r["errors"] > 0 for r in runs)

    docs.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {json_path}")
    render(results, docs)
    if failed:
        print("\nFAILED: some requests were not 2xx (see the errors column)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
