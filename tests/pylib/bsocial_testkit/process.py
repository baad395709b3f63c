"""The one class that runs `bsocial SUBCOMMAND ...` for tests and benches.

A process gets an environment without the caller's BSOCIAL_* variables (plus its own), a
stderr log per start (<workdir>/<name>-<n>.stderr.log), and a reader thread that keeps
every stdout line. When it has a ready line (`ready`, a regular expression; group 1, when
there is one, is the port), start() waits for it as the first stdout line.

Every process that runs is known to report_sections(): the pytest plugin adds their
stderr tails to the report of a failing test.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from .paths import binary_path


def listening_re(subcommand: str) -> re.Pattern:
    """The first stdout line of `bsocial serve` / `bsocial notifier`; group 1 is the port."""
    return re.compile(rf"^bsocial {subcommand} listening on http://127\.0\.0\.1:(\d+)$")


class ProcessStartError(AssertionError):
    pass


def clean_env(overrides: dict | None = None, keep_prefixes: tuple = ()) -> dict:
    """os.environ without BSOCIAL_* (but those starting with one of keep_prefixes), then
    the overrides (a value of None removes the variable)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BSOCIAL_") or k.startswith(tuple(keep_prefixes))}
    for k, v in (overrides or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class BsocialProcess:
    start_timeout = 60.0
    stop_timeout = 10.0

    def __init__(self, subcommand: str, args: list | tuple = (), *, workdir: Path,
                 env: dict | None = None, name: str | None = None,
                 ready: re.Pattern | str | None = None, binary: str | Path | None = None):
        self.subcommand = subcommand
        self.args = list(args)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_overrides = dict(env or {})
        self.name = name or subcommand
        self.ready = re.compile(ready) if isinstance(ready, str) else ready
        self.binary = binary
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0
        self.stdout_lines: list[str] = []
        self.stderr_path = self.workdir / f"{self.name}-0.stderr.log"
        self._stdout_q: queue.Queue = queue.Queue()
        self._pump: threading.Thread | None = None
        self._err = None

    # -- what to run (subclasses compute it at each start) -------------------
    def command(self) -> list[str]:
        binary = Path(self.binary).expanduser().resolve() if self.binary else binary_path()
        if not binary.exists():
            raise ProcessStartError(
                f"bsocial binary not found at {binary} (set BSOCIAL_BIN or build build/debug)")
        return [str(binary), self.subcommand, *self.args]

    def env(self) -> dict:
        return clean_env(self.env_overrides)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------
    def start(self):
        args = self.command()
        self.stderr_path = self.workdir / f"{self.name}-{self.starts}.stderr.log"
        self.starts += 1
        self._err = open(self.stderr_path, "wb")
        self.stdout_lines = []
        self._stdout_q = queue.Queue()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.workdir)
        self._pump = threading.Thread(target=self._read_stdout, args=(self.proc, self._stdout_q),
                                      daemon=True)
        self._pump.start()
        _LIVE.append(self)
        if self.ready is not None:
            self._wait_ready(args)
        return self

    def _read_stdout(self, proc: subprocess.Popen, out: queue.Queue) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            if proc is self.proc:
                self.stdout_lines.append(line)
            out.put(line)
        out.put(None)

    def _wait_ready(self, args: list[str]) -> None:
        deadline = time.monotonic() + self.start_timeout
        first = None
        while time.monotonic() < deadline:
            try:
                first = self._stdout_q.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            break
        if first is None:
            rc = self.proc.poll()
            self.kill()
            raise ProcessStartError(
                f"bsocial {self.subcommand} did not print its ready line (exit code {rc}); "
                f"args={args}\nstderr:\n{self.stderr_tail()}")
        m = self.ready.match(first.rstrip("\r\n"))
        if not m:
            self.kill()
            raise ProcessStartError(
                f"first stdout line of bsocial {self.subcommand} is not its ready line: "
                f"{first!r}\nstderr:\n{self.stderr_tail()}")
        self.port = int(m.group(1)) if m.re.groups else 0

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        """SIGTERM, no wait."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """The exit code once it exits by itself (TimeoutExpired after `timeout`)."""
        assert self.proc is not None
        rc = self.proc.wait(timeout=timeout)
        self._finished()
        return rc

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM and wait; the exit code, or None when it had to be killed."""
        if self.proc is None:
            return None
        proc = self.proc
        rc = proc.poll()
        if rc is None:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=timeout or self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = None
        self._finished()
        return rc

    def kill(self) -> None:
        """SIGKILL (a crash: nothing flushed, no offset committed). start() runs it again
        on the same data, on a new port."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._finished()

    def _finished(self) -> None:
        if self._err is not None:
            self._err.close()
            self._err = None
        if self in _LIVE:
            _LIVE.remove(self)
            _RECENTLY_STOPPED.append(self)

    def remaining_stdout(self, timeout: float = 1.0) -> list[str]:
        """After the process exited: the stdout lines not yet taken by start()."""
        extra = []
        while True:
            try:
                line = self._stdout_q.get(timeout=timeout)
            except queue.Empty:
                return extra
            if line is None:
                return extra
            extra.append(line)

    # -- logs --------------------------------------------------------------------
    def stderr_text(self) -> str:
        """The log of the current (last) start."""
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def all_stderr_text(self) -> str:
        """The logs of every start, in order."""
        paths = (self.workdir / f"{self.name}-{i}.stderr.log" for i in range(self.starts))
        return "".join(p.read_text("utf-8", "replace") for p in paths if p.exists())

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self.stderr_text().splitlines()[-n:])


_LIVE: list[BsocialProcess] = []
_RECENTLY_STOPPED: list[BsocialProcess] = []


def forget_stopped() -> None:
    """Called before each test: only what runs or stopped during it is reported."""
    _RECENTLY_STOPPED.clear()


def report_sections(lines: int = 60) -> list[tuple[str, str]]:
    """(title, stderr tail) of every process running or stopped during the current test."""
    out, seen = [], set()
    for p in _LIVE + _RECENTLY_STOPPED:
        if id(p) in seen:
            continue
        seen.add(id(p))
        who = p.subcommand if p.name == p.subcommand else f"{p.subcommand} ({p.name})"
        out.append((f"bsocial {who} stderr ({p.stderr_path})", p.stderr_tail(lines) or "(empty)"))
    return out
