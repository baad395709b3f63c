"""The test kit's own behaviour (tests/pylib/bsocial_testkit): what every suite relies on.

Each test here fails if the kit stops doing what the suites assume: a bounded wait that
really times out, an environment without the caller's BSOCIAL_* settings, a start that
fails loudly with the program's stderr, a restart on the same data, the failure report of
every process of a test, a bench client that raises on a non-2xx answer."""

from __future__ import annotations

import time

import pytest

from bsocial_testkit.http import Client
from bsocial_testkit.process import (BsocialProcess, ProcessStartError, clean_env,
                                     report_sections)
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.waiting import wait_until


def test_wait_until_returns_the_first_truthy_value():
    calls = iter([0, None, "", "ready", "later"])
    assert wait_until(lambda: next(calls), 5, interval=0.01) == "ready"


def test_wait_until_times_out_and_names_what_it_waited_for():
    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="the moon not reached within 0s"):
        wait_until(lambda: False, 0.2, interval=0.05, what="the moon")
    assert time.monotonic() - t0 < 2


def test_wait_until_tolerates_only_the_named_exceptions():
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("restarting")
        return "up"

    assert wait_until(flaky, 5, interval=0.01, tolerate=(OSError,)) == "up"
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, 5, interval=0.01, tolerate=(OSError,))


def test_clean_env_drops_the_callers_bsocial_settings(monkeypatch):
    monkeypatch.setenv("BSOCIAL_DB", "postgresql://elsewhere/db")
    monkeypatch.setenv("BSOCIAL_FEED_CACHE_USERS", "7")
    env = clean_env({"BSOCIAL_LOG_LEVEL": "warn", "PATH": None})
    assert "BSOCIAL_DB" not in env and "PATH" not in env
    assert env["BSOCIAL_LOG_LEVEL"] == "warn"
    assert clean_env(keep_prefixes=("BSOCIAL_FEED_",))["BSOCIAL_FEED_CACHE_USERS"] == "7"


def test_a_start_that_fails_raises_with_the_programs_stderr(tmp_path):
    srv = ServerProcess(workdir=tmp_path, extra_args=["--no-such-flag"])
    with pytest.raises(ProcessStartError) as e:
        srv.start()
    assert "--no-such-flag" in str(e.value)  # the args and bsocial's own complaint
    assert not srv.running()


def test_a_wrong_ready_line_is_refused(tmp_path):
    p = BsocialProcess("serve", ["--port", "0", "--data-dir", str(tmp_path / "d")],
                       workdir=tmp_path, ready=r"^bsocial notifier listening on .*$")
    with pytest.raises(ProcessStartError, match="is not its ready line"):
        p.start()
    assert not p.running()


def test_server_restarts_on_its_data_and_the_client_follows_it(tmp_path):
    srv = ServerProcess(workdir=tmp_path).start()
    c = Client(srv)
    try:
        u = c.new_user()
        first_port = srv.port
        srv.kill9()
        assert not srv.running()
        srv.start()  # same data dir and JWT secret, a new port
        assert srv.starts == 2 and srv.port > 0
        r = c.get("/api/v1/users/me", token=u.token)
        assert r.status == 200, (first_port, srv.port, r)
    finally:
        srv.stop()


def test_every_process_of_a_test_is_in_its_report(tmp_path):
    srv = ServerProcess(workdir=tmp_path, name="reported").start()
    srv.stop()
    titles = [title for title, _ in report_sections()]
    assert any("reported" in t and str(srv.stderr_path) in t for t in titles), titles


def test_bench_client_returns_json_and_raises_on_non_2xx(server):
    c = Client(server.port, checks=False, keep_alive=True)
    try:
        for _ in range(3):  # one keep-alive connection, reused
            assert isinstance(c.call("GET", "/healthz"), dict)
        with pytest.raises(RuntimeError, match="-> 401"):
            c.call("GET", "/api/v1/feed")
    finally:
        c.close()


def test_checked_client_refuses_a_secret_in_an_answer(server):
    c = Client(server)
    u = c.new_user()
    server.secrets.add(u.username)  # pretend the username were a secret: it is in the answer
    try:
        with pytest.raises(AssertionError, match="a secret"):
            c.get(f"/api/v1/users/{u.username}", token=u.token)
    finally:
        server.secrets.discard(u.username)
