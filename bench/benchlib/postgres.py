"""The benchmark's own PostgreSQL cluster (stack/bstack.py) under .bench-cache/postgres:
seeded template databases, one copy per run."""
from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import CACHE, log
from .seed_cache import cache_key, cache_lock, run_seed


class Postgres:
    """The benchmark's own cluster under .bench-cache/postgres (data kept between runs;
    the server is stopped by the last run that uses it)."""

    def __init__(self) -> None:
        from bsocial_testkit.stack import bstack

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
