"""<dir>/stack.json: one entry per server (ports, pids, URLs, startup_seconds), written
atomically (a temp file renamed over it) on every change. Thread-safe."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


class StateFile:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        self.data: dict[str, Any] = {}
        if path.exists():
            try:
                self.data = json.loads(path.read_text())
            except json.JSONDecodeError:
                self.data = {}

    def get(self, key: str) -> dict:
        """A copy of the entry of `key` ({} when there is none)."""
        with self._lock:
            return dict(self.data.get(key) or {})

    def set(self, key: str, value: dict | None) -> None:
        """Replaces (None: removes) the entry of `key` and writes the file."""
        with self._lock:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
            self._save()

    def startup_seconds(self) -> dict[str, float]:
        """Seconds from spawn to ready of the last start of each server."""
        with self._lock:
            return {k: v["startup_seconds"] for k, v in self.data.items()
                    if isinstance(v, dict) and "startup_seconds" in v}

    def clear(self) -> None:
        """Forgets everything and deletes the file."""
        with self._lock:
            for p in (self.path, self._tmp()):
                p.unlink(missing_ok=True)
            self.data = {}

    def _tmp(self) -> Path:
        return self.path.with_suffix(".json.tmp")

    def _save(self) -> None:
        tmp = self._tmp()
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)
