"""The seeded network, made once per parameter set by `bsocial seed` and cached under
.bench-cache/ (key: the parameters, the feed settings, the sources that decide what a seed
writes); SQLite files copied for each run."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from .common import CACHE, FEED_ENV, REPO, child_env, git_commit, log


SEED_SOURCES = ("src/bsocial/store/migrations.cpp", "src/bsocial/seed", "src/apps/seed.cpp")


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
