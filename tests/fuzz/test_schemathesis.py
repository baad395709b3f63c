"""Schema-driven API fuzzing: schemathesis generates requests from docs/openapi.yaml
(examples, boundary values, random data, stateful sequences) against the real
`bsocial serve` and runs ALL its checks: no 5xx, every status and body as documented,
schema-valid requests accepted, schema-invalid ones refused, auth not ignored, and more.
So the document must be exactly as strict as the server. What an operation may answer
beyond schemathesis' defaults is in tests/fuzz/schemathesis.toml, each with its reason.

BSOCIAL_TEST_DB=sqlite (default) or postgresql (a throw-away cluster from stack/bstack.py,
or BSOCIAL_TEST_PG_URL's server)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.parse
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/integration"))

from bsocial_support import Client, ServerProcess, hexid  # noqa: E402

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Through the interpreter, not the `st` script: a fresh pip install may have no shim on PATH.
ST = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; "
                            "sys.argv[0] = 'st'; sys.exit(schemathesis())"]


@pytest.fixture(scope="module")
def db_url():
    kind = os.environ.get("BSOCIAL_TEST_DB", "sqlite").strip().lower()
    if kind == "sqlite":
        yield None
        return
    url = os.environ.get("BSOCIAL_TEST_PG_URL")
    if url:
        name = f"bsocial_fuzz_{hexid(6)}"
        admin = ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"]
        subprocess.run([*admin, f'CREATE DATABASE "{name}"'], check=True, timeout=60)
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/" + name))
        subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], timeout=60)
        return
    sys.path.insert(0, str(REPO / "stack"))
    from bstack import Stack  # type: ignore

    workdir = Path(tempfile.mkdtemp(prefix="bsocial-fuzz-pg-"))  # not under pytest's 0700 tmp
    stack = Stack(workdir)
    try:
        stack.start_postgres(port=None)
        yield stack.create_database(f"bsocial_fuzz_{hexid(6)}")
    finally:
        stack.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


def schemathesis(server: ServerProcess, token: str, *selection: str) -> str:
    r = subprocess.run(
        [*ST, "--config-file", str(CONFIG), "run", str(REPO / "docs/openapi.yaml"),
         "--url", server.base_url, "--header", f"Authorization: Bearer {token}",
         "--checks", "all", *selection,
         "--max-examples", "40", "--seed", "20261128", "--no-color"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
    return r.stdout


def test_server_is_exactly_as_strict_as_the_document(tmp_path, db_url):
    admin = f"fuzz_{hexid(6)}"
    # Fuzzed logins must not lock the test's own address out; an administrator reaches the
    # analytics routes' argument checks (non-administrators get 404 before them).
    server = ServerProcess(tmp_path, db_url=db_url,
                           env_overrides={"BSOCIAL_LOGIN_MAX_FAILURES": "100000",
                                          "BSOCIAL_ADMINS": admin}).start()
    try:
        client = Client(server)
        # logout revokes the token every other operation runs with: it gets its own run
        # and its own session below, after the rest.
        schemathesis(server, client.new_user(username=admin).token,
                     "--exclude-operation-id", "logout")
        schemathesis(server, client.new_user().token, "--include-operation-id", "logout")
    finally:
        server.stop()
