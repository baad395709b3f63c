"""Where things are: the repository and the `bsocial` binary under test."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def binary_path() -> Path:
    """BSOCIAL_BIN, else <repo>/build/debug/bsocial (absolute: processes run in other dirs)."""
    env = os.environ.get("BSOCIAL_BIN")
    if env:
        return Path(env).expanduser().resolve()
    return REPO / "build" / "debug" / "bsocial"
