"""PostgreSQL: a throw-away cluster (initdb on first use, pg_ctl) on 127.0.0.1 with trust
auth and the database `bsocial`; as root, run as the `postgres` OS user."""
from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from .common import STOP_TIMEOUT, StackError, pid_alive, tail, terminate
from .server import Server

PG_DATABASE = "bsocial"
PG_OS_USER = "postgres"
CONVENTIONAL_PORTS = [5432, *range(5433, 5440)]


def pg_bin() -> Path:
    """The PostgreSQL bin/ dir: BSOCIAL_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
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


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", PG_OS_USER, "--", *cmd]


def _check_db_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"bad database name {name!r}")


class Postgres(Server):
    name = "postgres"
    title = "PostgreSQL"
    env_var = "BSOCIAL_TEST_POSTGRES"
    default_on = False

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        import pwd
        pw = pwd.getpwnam(PG_OS_USER)
        # the postgres user must be able to reach the dir: add o+x (search only) on ancestors
        for parent in reversed(self.home.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
        for root, _dirs, files in os.walk(self.home):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)

    def _run(self, cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(_as_pg_user(cmd), cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise StackError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = subprocess.run([str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.st["port"]),
                            "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError(f"psql {sql!r} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def start(self, port: int | None = None, **_: Any) -> str:
        """Start (initdb on first use) a throw-away cluster on 127.0.0.1 with trust
        auth, database `bsocial` created. Returns postgresql://postgres@127.0.0.1:PORT/bsocial."""
        st = self.st
        if self.running():
            return st["url"]
        t0 = time.monotonic()
        pgbin = pg_bin()
        data = self.home / "data"
        logfile = self.home / "postgres.log"
        port = self.ports.pick(port, st.get("port"), CONVENTIONAL_PORTS)
        self._prepare_dirs()
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            self._run([str(pgbin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                       "-E", "UTF8", "--no-locale", "--no-sync"], cwd=self.home)
        # stale pid file of a killed server: pg_ctl handles it, but only if the pid is gone
        opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c max_connections=200")
        r = self._run([str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-w", "-t", "60",
                       "-o", opts, "start"], cwd=self.home, check=False)
        if r.returncode != 0:
            raise StackError(f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{tail(logfile)}")
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        url = f"postgresql://postgres@127.0.0.1:{port}/{PG_DATABASE}"
        self.save({"port": port, "pid": pid, "data": str(data), "log": str(logfile),
                   "url": url, "bin": str(pgbin)})
        self.create_database(PG_DATABASE)
        st = self.st
        st["startup_seconds"] = round(time.monotonic() - t0, 2)
        self.save(st)
        return url

    def create_database(self, name: str) -> str:
        """Create database `name` if missing; returns its URL. Postgres must be running."""
        _check_db_name(name)
        if not self.running():
            raise StackError("postgres is not running: call start_postgres() first")
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.st['port']}/{name}"

    def drop_database(self, name: str) -> None:
        _check_db_name(name)
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        st = self.st
        if not st:
            return
        if self.running():
            pgbin = Path(st.get("bin") or pg_bin())
            r = self._run([str(pgbin / "pg_ctl"), "-D", st["data"], "-m", "fast", "-w", "-t",
                           str(int(timeout)), "stop"], cwd=Path(st["data"]).parent, check=False)
            if r.returncode != 0 and pid_alive(st["pid"], st["data"]):
                terminate([st["pid"]], timeout=5, sig=signal.SIGKILL)
        st.pop("pid", None)
        self.save(st)

    def status(self) -> dict[str, Any]:
        p = self.st
        if not p:
            return {}
        return {"url": p.get("url"), "running": self.running(), "port": p.get("port"),
                "startup_seconds": p.get("startup_seconds"), "log": p.get("log")}
