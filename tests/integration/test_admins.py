"""Issue 24, item 1: administrators are accounts. Roles are stored by account id,
`bsocial admin grant|revoke|list` manages them against the server's database (SQLite or
PostgreSQL), BSOCIAL_ADMINS only bootstraps names that exist when first listed, and every
replica sees a change within the roles' 2 s cache."""

from __future__ import annotations

import subprocess

import pytest

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client
from bsocial_testkit.paths import binary_path
from bsocial_testkit.server import ServerProcess
from bsocial_testkit.waiting import wait_until

SEEN_WITHIN = 6.0  # the roles are read again after 2 s; room for a loaded machine


def admin(srv: ServerProcess, *args: str, expect_rc: int = 0) -> str:
    """Runs `bsocial admin ARGS` against srv's database; returns stdout (+ stderr)."""
    cmd = [str(binary_path()), "admin", *args, "--data-dir", str(srv.data_dir)]
    if srv.db_url:
        cmd += ["--db", srv.db_url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=srv.env())
    assert p.returncode == expect_rc, (p.returncode, p.stdout, p.stderr)
    return p.stdout + p.stderr


def is_admin(c: Client, token: str) -> bool:
    r = c.get("/api/v1/users/me", token=token)
    assert r.status == 200, r
    return r.json["is_admin"]


def test_i24_1_a_listed_name_registered_after_start_is_not_an_administrator(start_server):
    """On main, BSOCIAL_ADMINS=<name> made whoever registered <name> after the start an
    administrator (and so able to read every analytics answer)."""
    name = f"boss_{hexid(4)}"
    srv = start_server(env={"BSOCIAL_ADMINS": name})
    c = Client(srv)
    squatter = c.new_user(username=name)
    assert is_admin(c, squatter.token) is False, "a name registered after the start became admin"
    assert f"admin_bootstrap_unknown_name username={name}" in srv.stderr_text()
    srv.stop()
    srv.start()  # a restart with the same list grants nothing either
    c = Client(srv)
    token = c.login(squatter)
    assert is_admin(c, token) is False, "a restart made the late-registered name an admin"
    r = c.get("/api/v1/analytics/logins?days=1", token=token)
    assert r.status == 404, r

    # Only the operator's command grants it; every answer says what it did.
    out = admin(srv, "grant", name.upper())
    assert out.startswith(f"granted: {name} (account ") and "is now an administrator" in out, out
    wait_until(lambda: is_admin(c, token), SEEN_WITHIN, what="the grant seen by the server")
    assert "unchanged" in admin(srv, "grant", name)
    out = admin(srv, "list")
    assert out.startswith("1 administrator(s)") and f"\n{name} (account " in out, out
    assert "revoked" in admin(srv, "revoke", name)
    wait_until(lambda: not is_admin(c, token), SEEN_WITHIN, what="the revocation seen")
    assert "unchanged" in admin(srv, "revoke", name)
    assert admin(srv, "list").startswith("0 administrator(s)")


def test_i24_1_bootstrap_grants_an_account_that_exists_and_a_revocation_sticks(start_server):
    srv = start_server()
    c = Client(srv)
    ada = c.new_user()
    srv.stop()
    srv.env_overrides["BSOCIAL_ADMINS"] = f"{ada.username.upper()},ghost_{hexid(4)}"
    srv.start()
    c = Client(srv)
    log = srv.stderr_text()
    assert f"admin_bootstrap_granted username={ada.username}" in log, log[-2000:]
    assert "admin_bootstrap_unknown_name username=ghost_" in log
    token = c.login(ada)
    assert is_admin(c, token) is True
    assert "revoked" in admin(srv, "revoke", ada.username)
    wait_until(lambda: not is_admin(c, token), SEEN_WITHIN, what="the revocation seen")
    srv.stop()
    srv.start()  # still listed: the name was decided at its first listing
    c = Client(srv)
    assert is_admin(c, c.login(ada)) is False, "a restart undid the revocation"


def test_i24_1_admin_command_errors_are_clear(start_server):
    srv = start_server()
    Client(srv).new_user()
    out = admin(srv, "grant", "nobody_here", expect_rc=1)
    assert 'no account named "nobody_here"' in out, out
    out = admin(srv, "revoke", expect_rc=1)
    assert "a USERNAME is needed" in out, out
    admin(srv, "promote", "x", expect_rc=105)  # CLI11: not one of grant|revoke|list


def test_i24_1_every_replica_sees_a_grant(start_server, tmp_path):
    """Two serve processes on one PostgreSQL database: a grant made with `bsocial admin`
    reaches both (each reads the roles from the database, cached 2 s)."""
    first = start_server()
    if first.kind != "postgresql":
        pytest.skip("one serve per SQLite file; replicas share PostgreSQL")
    second = ServerProcess(workdir=tmp_path / "replica", db_url=first.db_url,
                           env_overrides=dict(first.env_overrides), jwt_secret=first.jwt_secret)
    second.start()
    try:
        a, b = Client(first), Client(second)
        u = a.new_user()
        ta, tb = a.login(u), b.login(u)
        assert not is_admin(a, ta) and not is_admin(b, tb)
        admin(first, "grant", u.username)
        wait_until(lambda: is_admin(a, ta) and is_admin(b, tb), SEEN_WITHIN,
                   what="the grant seen by both replicas")
        admin(second, "revoke", u.username)
        wait_until(lambda: not is_admin(a, ta) and not is_admin(b, tb), SEEN_WITHIN,
                   what="the revocation seen by both replicas")
    finally:
        second.stop()
