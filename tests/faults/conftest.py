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

import pytest

import faults_support as fs  # tests/faults/ (pytest puts a conftest's dir on the path)

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
        _FAILED.append(item.name)  # the kit's plugin adds the processes' stderr tails
