"""`bsocial serve` for the benchmarks: the test kit's ServerProcess (bsocial_testkit, linked
beside these scripts), with the environment a benchmark wants: none of the shell's
BSOCIAL_* settings but the feed's, plus the run's own."""
from __future__ import annotations

from pathlib import Path

from bsocial_testkit.process import ProcessStartError
from bsocial_testkit.server import ServerProcess

from .common import feed_env


def start_server(binary: str | Path, data_dir: str | Path, args: list | tuple = (), *,
                 db_url: str | None = None, env: dict | None = None,
                 workdir: str | Path | None = None) -> ServerProcess:
    """`bsocial serve --port 0 --data-dir DATA_DIR [--db URL] ARGS`, listening; its stderr
    in WORKDIR (default DATA_DIR)/serve-N.stderr.log. SystemExit when it does not start."""
    srv = ServerProcess(workdir=Path(workdir or data_dir), data_dir=Path(data_dir),
                        db_url=db_url, extra_args=list(args),
                        env_overrides={**feed_env(), **(env or {})}, binary=Path(binary))
    try:
        return srv.start()
    except ProcessStartError as e:
        raise SystemExit(f"server did not start: {e}") from None


def serve_args(db_pool: int = 4, io_threads: int = 2) -> list[str]:
    """The serve flags of `make bench` (bench.py's --db-pool and --io-threads)."""
    return ["--log-level", "warn", "--db-pool", str(db_pool), "--io-threads", str(io_threads),
            "--registrations-per-minute", "0"]  # the harness logs in from one address


def log_lines(srv: ServerProcess) -> list[str]:
    """The non-empty lines of the server's log (all its starts)."""
    return [ln for ln in srv.all_stderr_text().splitlines() if ln.strip()]
