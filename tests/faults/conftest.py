"""pytest harness of the faults suite (`make test-faults`; not part of `make test`).

ONE deployment per session (faults_support.Deployment): PostgreSQL, Kafka, Elasticsearch
(stack/bstack.py, in pytest's tmp dir), two `bsocial serve` with their relays, the
notifier and telemetry, and a network of users made once. Each test runs its own load
through one fault and audits only the writes of that load, so the tests share the
start-up cost (the suite fits CI) but not their verdicts. Whatever a failed test left
broken is started again before the next one (printed as `healed:`).

Environment: see tests/faults/README.md (BSOCIAL_BIN, BSOCIAL_TEST_ENGINE, BSOCIAL_FAULTS_*).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (HERE, REPO / "tests" / "reliability", REPO / "tests" / "integration",
          REPO / "tests" / "kafka", REPO / "tests" / "notify", REPO / "tests" / "telemetry",
          REPO / "stack"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import faults_support as fs  # noqa: E402

_FAILED: list[str] = []  # tests whose call phase failed, in order


@pytest.fixture(scope="session")
def deployment(tmp_path_factory):
    dep = fs.Deployment(tmp_path_factory.mktemp("faults"))
    try:
        print(f"\ndeployment up in {dep.startup_seconds:.1f}s: {dep.describe()}")
        took = dep.populate()
        print(f"network: {len(dep.users)} users, {len(dep.follows)} follows, "
              f"{len(dep.posts)} posts in {took:.1f}s")
        yield dep
    finally:
        problems = dep.close()
        assert not problems, problems


@pytest.fixture
def dep(deployment, request):
    """The session's deployment, whole again if an earlier test left something down."""
    did = deployment.heal(restart_apps=bool(_FAILED))
    _FAILED.clear()
    if did:
        print(f"\nhealed before {request.node.name}: {', '.join(did)}")
    return deployment


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        _FAILED.append(item.name)
        for proc in fs.PROCESSES:
            try:
                tail = proc.stderr_tail(30)
            except Exception as e:  # noqa: BLE001
                tail = repr(e)
            rep.sections.append((f"{type(proc).__name__} stderr ({proc.stderr_path})",
                                 tail or "(empty)"))
