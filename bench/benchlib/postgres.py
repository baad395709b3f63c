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


# The cluster's settings beyond the stack's (stack/bstacklib/postgres.py: fsync off, as for
# the tests). PostgreSQL's default shared_buffers (128 MB) holds a fifth of the timelines'
# primary key at 1M posts (631 MB; the table 578 MB): under post creation the backends
# evicted dirty buffers themselves (pg_stat_bgwriter.buffers_backend +7,500 in 8 s) and
# read pages back from the kernel's cache. Set with ALTER SYSTEM, applied by a restart
# when no other run uses the cluster (docs/performance.md, "PostgreSQL's tails").
SETTINGS = {"shared_buffers": "1GB"}


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
        self.psql_bin = str(bstack.Stack._pg_bin() / "psql")
        with cache_lock("postgres-start"):
            url = self.stack.start_postgres()
            self._set_port(url)
            if self._apply_settings():
                url = self.stack.start_postgres()
                self._set_port(url)
        log(f"postgres on port {self.port} ({time.monotonic() - t0:.1f} s)")

    def _set_port(self, url: str) -> None:
        m = re.match(r"postgresql://postgres@127\.0\.0\.1:(\d+)/", url)
        assert m, url
        self.port = int(m.group(1))

    def _apply_settings(self) -> bool:
        """SETTINGS written with ALTER SYSTEM; True when the cluster was stopped to apply
        them (the caller starts it again). Left for later when another run uses it."""
        stale = {k: v for k, v in SETTINGS.items()
                 if self.psql(f"SELECT setting || COALESCE(unit, '') FROM pg_settings"
                              f" WHERE name = '{k}'") != _in_units(self, k, v)}
        if not stale:
            return False
        for k, v in stale.items():
            self.psql(f"ALTER SYSTEM SET {k} = '{v}'")
        try:
            fcntl.flock(self.use_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"postgres: {stale} apply at its next start (another run uses it now)")
            return False
        try:
            log(f"postgres: restarting for {stale}")
            self.stack.stop_postgres()
        finally:
            fcntl.flock(self.use_lock, fcntl.LOCK_SH)
        return True

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
        t1 = time.monotonic()
        # The copy (1.6 GB at 1M posts) and a fresh seed leave their files in the kernel's
        # dirty pages (fsync is off): written out here, so that their writeback does not
        # overlap the timed scenarios (under a second on this machine).
        os.sync()
        log(f"database {name} from {template} in {t1 - t0:.1f} s"
            f" (+ {time.monotonic() - t1:.1f} s to sync it to disk)")
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


def _in_units(pg: Postgres, name: str, value: str) -> str:
    """A size `value` as pg_settings shows it (setting || unit): 1GB -> 1310728kB."""
    return pg.psql(f"SELECT (pg_size_bytes('{value}') / pg_size_bytes(unit))::bigint"
                   f" || unit FROM pg_settings WHERE name = '{name}'")
