"""Each subcommand takes the settings of the modules it runs, and only those
(src/apps/settings.hpp): the flags and variables of every setting are unchanged, a flag of
another subcommand is refused, a variable of another subcommand is ignored."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest

BIN = pathlib.Path(os.environ.get("BSOCIAL_BIN", "build/debug/bsocial"))

# `bsocial serve --help` before settings were owned by modules: flag -> variable.
SERVE = {
    "--bind": "BSOCIAL_BIND", "--port": "BSOCIAL_PORT", "--data-dir": "BSOCIAL_DATA_DIR",
    "--db": "BSOCIAL_DB", "--log-level": "BSOCIAL_LOG_LEVEL",
    "--token-ttl": "BSOCIAL_TOKEN_TTL_SECONDS", "--login-max-failures": "BSOCIAL_LOGIN_MAX_FAILURES",
    "--login-window": "BSOCIAL_LOGIN_WINDOW_SECONDS",
    "--login-throttle-keys": "BSOCIAL_LOGIN_THROTTLE_KEYS",
    "--hash-threads": "BSOCIAL_HASH_THREADS", "--hash-queue": "BSOCIAL_HASH_QUEUE",
    "--registrations-per-minute": "BSOCIAL_REGISTRATIONS_PER_MINUTE",
    "--registration-burst": "BSOCIAL_REGISTRATION_BURST", "--io-threads": "BSOCIAL_IO_THREADS",
    "--db-pool": "BSOCIAL_DB_POOL", "--cookie-secure": "BSOCIAL_COOKIE_SECURE",
    "--allowed-origins": "BSOCIAL_ALLOWED_ORIGINS", "--trusted-proxies": "BSOCIAL_TRUSTED_PROXIES",
    "--common-passwords": "BSOCIAL_COMMON_PASSWORDS", "--kafka": "BSOCIAL_KAFKA_BROKERS",
    "--relay": "BSOCIAL_RELAY", "--relay-poll-ms": "BSOCIAL_RELAY_POLL_MS",
    "--kafka-message-timeout-ms": "BSOCIAL_KAFKA_MESSAGE_TIMEOUT_MS", "--admins": "BSOCIAL_ADMINS",
    "--static-dir": "BSOCIAL_STATIC_DIR", "--header-timeout": "BSOCIAL_HEADER_TIMEOUT_SECONDS",
    "--keep-alive-timeout": "BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS",
    "--max-connections": "BSOCIAL_MAX_CONNECTIONS",
    "--max-connections-per-client": "BSOCIAL_MAX_CONNECTIONS_PER_CLIENT",
    "--feed-timeline-capacity": "BSOCIAL_FEED_TIMELINE_CAPACITY",
    "--feed-celebrity-followers": "BSOCIAL_FEED_CELEBRITY_FOLLOWERS",
    "--feed-merge-max-followees": "BSOCIAL_FEED_MERGE_MAX_FOLLOWEES",
    "--feed-walk-max-rows": "BSOCIAL_FEED_WALK_MAX_ROWS",
    "--feed-cache-users": "BSOCIAL_FEED_CACHE_USERS", "--feed-cache-posts": "BSOCIAL_FEED_CACHE_POSTS",
    "--notify-sockets-per-user": "BSOCIAL_NOTIFY_SOCKETS_PER_USER",
    "--notify-safety-poll-ms": "BSOCIAL_NOTIFY_SAFETY_POLL_MS",
    "--elasticsearch-url": "BSOCIAL_ELASTICSEARCH_URL",
    "--elasticsearch-user": "BSOCIAL_ELASTICSEARCH_USER",
    "--elasticsearch-password": "BSOCIAL_ELASTICSEARCH_PASSWORD",
    "--elasticsearch-ca-file": "BSOCIAL_ELASTICSEARCH_CA_FILE",
    "--index": "BSOCIAL_ELASTICSEARCH_INDEX", "--queries-dir": "BSOCIAL_QUERIES_DIR",
    "--analytics-timeout-ms": "BSOCIAL_ANALYTICS_TIMEOUT_MS",
    "--analytics-max-concurrent": "BSOCIAL_ANALYTICS_MAX_CONCURRENT",
}
NOTIFIER = {f: SERVE[f] for f in (
    "--bind", "--data-dir", "--db", "--log-level", "--token-ttl", "--io-threads", "--db-pool",
    "--cookie-secure", "--allowed-origins", "--trusted-proxies", "--kafka", "--header-timeout",
    "--keep-alive-timeout", "--max-connections", "--max-connections-per-client",
    "--notify-sockets-per-user", "--notify-safety-poll-ms")} | {"--port": "BSOCIAL_NOTIFIER_PORT"}
MIGRATE = {f: SERVE[f] for f in ("--data-dir", "--db", "--log-level")}
RELAY = {f: SERVE[f] for f in ("--data-dir", "--db", "--log-level", "--kafka", "--relay-poll-ms",
                               "--kafka-message-timeout-ms")}


def run(*args: str, env: dict | None = None, cwd: pathlib.Path | None = None):
    base = {"PATH": os.environ.get("PATH", "")}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=30,
                          env=base | (env or {}), cwd=cwd, stdin=subprocess.DEVNULL)


def help_flags(command: str) -> dict[str, str | None]:
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    flags = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s+(--[a-z0-9-]+)\b", line)
        if m:
            env = re.search(r"\(Env:(\w+)\)", line)
            flags[m.group(1)] = env.group(1) if env else None
    return flags


@pytest.mark.parametrize("command,expected", [("serve", SERVE), ("notifier", NOTIFIER),
                                              ("migrate", MIGRATE), ("relay", RELAY)])
def test_help_lists_the_subcommands_settings_and_no_other_ones(command, expected):
    flags = help_flags(command)
    assert {f: flags.get(f) for f in expected} == expected  # same flags, same variables
    others = set(SERVE) - set(expected)
    assert not others & set(flags), sorted(others & set(flags))


@pytest.mark.parametrize("command,foreign", [
    ("migrate", ["--io-threads", "2"]), ("migrate", ["--kafka", "localhost:9092"]),
    ("relay", ["--static-dir", "web/dist"]), ("relay", ["--port", "8080"]),
    ("notifier", ["--hash-threads", "2"]), ("notifier", ["--feed-cache-users", "0"]),
    ("seed", ["--io-threads", "2"]),
])
def test_a_flag_of_another_subcommand_is_refused(tmp_path, command, foreign):
    r = run(command, "--data-dir", str(tmp_path / "data"), *foreign)
    assert r.returncode != 0, r
    assert foreign[0] in r.stderr and "not expected" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()  # refused before doing anything


def test_a_variable_of_another_subcommand_is_ignored_and_its_own_is_read(tmp_path):
    data = tmp_path / "data"
    # BSOCIAL_IO_THREADS=0 is invalid for serve, but migrate does not take it.
    r = run("migrate", env={"BSOCIAL_DATA_DIR": str(data), "BSOCIAL_IO_THREADS": "0"})
    assert r.returncode == 0, r.stderr
    assert (data / "bsocial.db").exists()
    r = run("serve", "--port", "0", env={"BSOCIAL_DATA_DIR": str(data), "BSOCIAL_IO_THREADS": "0"})
    assert r.returncode == 1 and "io threads must be 1..64" in r.stderr, r.stderr


def test_an_environment_only_setting_is_read_and_checked(tmp_path):
    r = run("serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
            env={"BSOCIAL_JWT_SECRET": "short"})
    assert r.returncode == 1 and "BSOCIAL_JWT_SECRET" in r.stderr, r.stderr
    assert "--jwt-secret" not in run("serve", "--help").stdout  # never in argv


def test_notifier_and_serve_read_their_own_port_variable():
    serve = run("serve", "--help").stdout
    notifier = run("notifier", "--help").stdout
    assert re.search(r"--port UINT=8080 \(Env:BSOCIAL_PORT\)", serve), serve
    assert re.search(r"--port UINT=8081 \(Env:BSOCIAL_NOTIFIER_PORT\)", notifier), notifier


def test_the_body_limit_is_a_setting_of_the_http_server(tmp_path):
    """BSOCIAL_BODY_LIMIT_BYTES (http::server_settings): declared once, taken by serve."""
    import http.client
    import signal

    r = run("serve", "--port", "0", "--data-dir", str(tmp_path / "bad"),
            env={"BSOCIAL_BODY_LIMIT_BYTES": "10"})
    assert r.returncode == 1 and "BSOCIAL_BODY_LIMIT_BYTES" in r.stderr, r.stderr
    env = {"PATH": os.environ.get("PATH", ""), "BSOCIAL_BODY_LIMIT_BYTES": "2048"}
    proc = subprocess.Popen([str(BIN), "serve", "--port", "0", "--data-dir", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert m, line
        statuses = []
        for size in (1500, 3000):
            c = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
            c.request("POST", "/api/v1/users", body=b"x" * size,
                      headers={"Content-Type": "application/json"})
            statuses.append(c.getresponse().status)
            c.close()
        assert statuses == [400, 413], statuses  # under the limit: read (and refused as JSON)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
