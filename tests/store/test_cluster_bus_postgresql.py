"""The cluster bus on a real PostgreSQL: runs tests/store/cluster_bus_postgresql_test.cpp with
BSOCIAL_TEST_PG_URL pointing at a throw-away database, and fails if they did not all run."""

import os
import subprocess

from bsocial_testkit.database import StackPgBackend


def test_cluster_bus_on_postgresql():
    binary = os.environ["BSOCIAL_BUS_PG_TESTS_BIN"]
    backend = StackPgBackend()
    try:
        url = backend.new_database()
        run = subprocess.run([binary],
                             env={**os.environ, "BSOCIAL_TEST_PG_URL": url},
                             capture_output=True, text=True, timeout=120)
        print(run.stdout[-4000:], run.stderr[-2000:])
        assert run.returncode == 0
        assert "[  PASSED  ] 6 tests" in run.stdout
        assert "SKIPPED" not in run.stdout
    finally:
        backend.close()
