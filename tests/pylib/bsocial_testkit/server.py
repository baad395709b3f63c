"""`bsocial serve` and the programs that run on its data (`notifier`, `relay`): all
BsocialProcess, so they start, stop, crash and log the same way."""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path

from .database import Database
from .process import BsocialProcess, ProcessStartError, clean_env, listening_re

ServerStartError = ProcessStartError


class ServerProcess(BsocialProcess):
    """`bsocial serve --port 0 --data-dir <workdir>/data [--db URL] EXTRA_ARGS` (logs in
    workdir; another data dir with data_dir=).

    Its JWT secret is fixed for its life (a restart keeps tokens valid); `secrets` holds
    every password and token a test used, which no answer and no log line may contain."""

    def __init__(self, workdir: Path, db_url: str | None = None, env_overrides: dict | None = None,
                 extra_args: list | None = None, jwt_secret: str | None = None,
                 secrets: set | None = None, name: str = "serve", binary=None,
                 data_dir: Path | None = None):
        super().__init__("serve", workdir=workdir, env=env_overrides, name=name,
                         ready=listening_re("serve"), binary=binary)
        self.db_url = db_url
        self.extra_args = list(extra_args or [])
        self.jwt_secret = jwt_secret or _secrets.token_hex(32)
        self.secrets = secrets if secrets is not None else set()
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.kind = "postgresql" if db_url else "sqlite"

    def command(self) -> list[str]:
        args = [*super().command(), "--port", "0", "--data-dir", str(self.data_dir)]
        if self.db_url:
            args += ["--db", self.db_url]
        return args + list(self.extra_args)

    def env(self) -> dict:
        # The suites register many users from 127.0.0.1: no per-address registration limit
        # unless a test sets one (None restores the server's real default).
        return clean_env({"BSOCIAL_JWT_SECRET": self.jwt_secret,
                          "BSOCIAL_REGISTRATIONS_PER_MINUTE": "0", **self.env_overrides})

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bsocial.db"

    @property
    def db(self) -> Database:
        if self.db_url:
            return Database(pg_url=self.db_url)
        return Database(sqlite_path=self.sqlite_path)

    def kill9(self) -> None:
        """SIGKILL; start() runs it again on the same data and JWT secret, on a new port."""
        self.kill()
        self.proc = None

    def stop(self, check: bool = True, timeout: float | None = None) -> int | None:
        """SIGTERM, wait; with check, assert exit 0, one stdout line, no secret in the log."""
        if self.proc is None:
            return None
        rc = super().stop(timeout)
        self.proc = None
        extra = self.remaining_stdout()
        if check:
            assert rc is not None, (
                f"server did not exit within {timeout or self.stop_timeout}s of SIGTERM\n"
                f"{self.stderr_tail()}")
            assert rc == 0, f"server exited with {rc} after SIGTERM\n{self.stderr_tail()}"
            assert not [x for x in extra if x.strip()], (
                f"stdout must hold exactly one line; also got {extra[:5]!r}")
            self.check_log_secrets()
        return rc

    def check_log_secrets(self, log: str | None = None) -> None:
        log = self.all_stderr_text() if log is None else log
        assert "$argon2" not in log, f"a password hash appears in the {self.name} log"
        leaked = [s[:8] + "…" for s in self.secrets if s in log]
        assert not leaked, f"{self.name} log contains secrets (passwords/tokens): {leaked}"


class OnServerData(BsocialProcess):
    """A program on the data (data dir, database, JWT secret) of a ServerProcess."""

    def __init__(self, subcommand: str, server: ServerProcess, env: dict | None, name: str,
                 ready=None):
        super().__init__(subcommand, workdir=server.workdir, env=env, name=name, ready=ready,
                         binary=server.binary)
        self.server = server

    @property
    def secrets(self) -> set:
        return self.server.secrets  # a Client's leak checks use the server's secrets

    def command(self) -> list[str]:
        args = [*super().command(), *self.port_args(), "--data-dir", str(self.server.data_dir)]
        if self.server.db_url:
            args += ["--db", self.server.db_url]
        return args

    def port_args(self) -> list[str]:
        return []

    def env(self) -> dict:
        return clean_env({"BSOCIAL_JWT_SECRET": self.server.jwt_secret, **self.env_overrides})


class NotifierProcess(OnServerData):
    """`bsocial notifier --port 0 --data-dir D [--db URL]`; can be killed and started again."""

    stop_timeout = 15.0

    def __init__(self, server: ServerProcess, env: dict | None, name: str = "notifier"):
        super().__init__("notifier", server, env, name, ready=listening_re("notifier"))

    def port_args(self) -> list[str]:
        return ["--port", "0"]


class RelayProcess(OnServerData):
    """`bsocial relay --data-dir D [--db URL]` (no ready line: start() returns at once)."""

    def __init__(self, server: ServerProcess, env: dict | None, name: str = "relay"):
        super().__init__("relay", server, env, name)
