"""What every server needs and none owns: errors, logging, ports and processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

STOP_TIMEOUT = 30.0


class StackError(RuntimeError):
    """A server could not be fetched, started or stopped."""


def log(msg: str) -> None:
    print(f"[bstack] {msg}", file=sys.stderr, flush=True)


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


class PortPolicy:
    """How a server picks a port: an explicit one wins; then the one recorded in the
    state file if still free; then (the CLI without --free-ports sets
    prefer_conventional) the conventional ones; then a free port."""

    def __init__(self) -> None:
        self.prefer_conventional = False

    def pick(self, explicit: int | None, stored: int | None, conventional: list[int]) -> int:
        if explicit:
            return explicit
        if stored and port_is_free(stored):
            return stored
        if self.prefer_conventional:
            for p in conventional:
                if port_is_free(p):
                    return p
        return free_port()


# --------------------------------------------------------------------------- processes

def _stat_fields(pid: int) -> list[str] | None:
    """/proc/pid/stat after the command name (field 3 on), or None when pid is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()


def _proc_state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


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
    fields = _stat_fields(pid)
    return fields[19] if fields else None


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


def spawn(cmd: list[str], out_path: Path, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start cmd in its own process group, stdout and stderr appended to out_path."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, start_new_session=True)


def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path})"
    return "\n".join(lines[-n:])
