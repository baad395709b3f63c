"""pytest harness of the reliability suite (`make test-reliability`; not part of `make test`).

Every test builds its own full pipeline (bsocial_testkit.reliability.Pipeline): Kafka (1 or 3
brokers) + OpenSearch (+ PostgreSQL) from stack/bstack.py in a tmp dir, `bsocial serve`
with the outbox relay, `bsocial notifier` and `bsocial telemetry`; drives a steady mixed
load through the HTTP API, applies one fault, waits (bounded) for recovery and prints one
`fault=... produced=... in_sql=... in_kafka>=... in_es=... lost=... duplicated=...` line.

Environment:
  BSOCIAL_BIN        the binary (default: <repo>/build/debug/bsocial)
  BSOCIAL_TEST_DB    sqlite (default) | postgresql (a PostgreSQL of the same stack)
  BSOCIAL_RELIABILITY_SCALE   multiplies every test's N (default 1.0)
  BSOCIAL_RELIABILITY_RESULTS file the fault lines are appended to
                              (default /tmp/bsocial-reliability-results.txt)
"""

from __future__ import annotations

import pytest

import bsocial_testkit.reliability as rs


@pytest.fixture
def make_pipeline(tmp_path):
    """make_pipeline(brokers=1, relay_in_serve=True, telemetry_env=None) -> Pipeline;
    everything it started is stopped after the test (SIGTERM, exit codes checked)."""
    made: list[rs.Pipeline] = []

    def _make(**kw) -> rs.Pipeline:
        p = rs.Pipeline(tmp_path / f"p{len(made)}", **kw)
        made.append(p)
        print(f"\npipeline up in {p.startup_seconds:.1f}s: kafka={p.kafka} "
              f"{p.engine}={p.search.url} db={p.kind} api={p.api.base_url}")
        return p

    yield _make
    problems = []
    for p in made:
        problems += p.close()
    assert not problems, problems

