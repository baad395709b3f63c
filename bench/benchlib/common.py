"""What every bench module needs: the repository, the seed cache's folder, the log line,
the environment of the programs it starts, and where a run happened (commit, machine)."""
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from bsocial_testkit.paths import REPO


CACHE = REPO / ".bench-cache"
FEED_ENV = ("BSOCIAL_FEED_TIMELINE_CAPACITY", "BSOCIAL_FEED_CELEBRITY_FOLLOWERS")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment of `bsocial seed` and `serve`: no BSOCIAL_* setting but the feed's
    (BSOCIAL_DB, BSOCIAL_KAFKA_BROKERS... from the shell must not leak into a benchmark)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("BSOCIAL_") or k.startswith("BSOCIAL_FEED_")}


def feed_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("BSOCIAL_FEED_")}


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
