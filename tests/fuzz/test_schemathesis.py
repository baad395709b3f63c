"""Schema-driven API fuzzing: schemathesis generates requests from docs/openapi.yaml
(examples, boundary values, random data, stateful sequences) against the real
`bsocial serve` and runs ALL its checks: no 5xx, every status and body as documented,
schema-valid requests accepted, schema-invalid ones refused, auth not ignored, and more.
So the document must be exactly as strict as the server. What an operation may answer
beyond schemathesis' defaults is in tests/fuzz/schemathesis.toml, each with its reason.

BSOCIAL_TEST_DB=sqlite (default) or postgresql (the test kit's db_backend: a throw-away
cluster from stack/bstack.py, or BSOCIAL_TEST_PG_URL's server)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bsocial_testkit.api import hexid
from bsocial_testkit.http import Client
from bsocial_testkit.paths import REPO
from bsocial_testkit.server import ServerProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Through the interpreter, not the `st` script: a fresh pip install may have no shim on PATH.
ST = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; "
                            "sys.argv[0] = 'st'; sys.exit(schemathesis())"]


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


def test_server_is_exactly_as_strict_as_the_document(tmp_path, db_backend):
    admin = f"fuzz_{hexid(6)}"
    # Fuzzed logins must not lock the test's own address out; an administrator reaches the
    # analytics routes' argument checks (non-administrators get 404 before them).
    server = ServerProcess(tmp_path, db_url=db_backend.new_database(),
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
