"""telemetry's start-up (issue 29, the cold start): the engine warm-up's scratch index is
under none of our aliases, is deleted (a left-over one too) and leaves no document any
query sees; static group membership (BSOCIAL_TELEMETRY_INSTANCE_ID) lets a telemetry
SIGKILLed and restarted take its partitions back without waiting for the old member's
session timeout (10 s); a malformed instance id stops the start with a clear message."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from bsocial_testkit.api import hexid
from bsocial_testkit.paths import binary_path
from bsocial_testkit.process import BsocialProcess
from bsocial_testkit.telemetry import (
    EVENTS_INDEX, TelemetryProcess, es_count, es_request, wait_until)

WARMUP_INDEX = EVENTS_INDEX + "_warmup"
ENTITIES_INDEX = EVENTS_INDEX + "-entities"
SESSION_TIMEOUT_S = 10  # the consumer's session.timeout.ms (indexer.cpp)


def assigned_at(t: TelemetryProcess, timeout: float = 60.0) -> float:
    """Seconds (monotonic) when this start of `t` logged event=partitions_assigned."""
    wait_until(lambda: "event=partitions_assigned" in BsocialProcess.stderr_text(t), timeout,
               interval=0.05, what="partitions assigned")
    return time.monotonic()


def test_warmup_index_is_outside_every_alias_and_deleted(stack, make_telemetry):
    s = stack.search
    # A crash during an earlier warm-up left the scratch index behind, with a document.
    st, body = es_request(s, "PUT", f"/{WARMUP_INDEX}/_doc/left-over?refresh=true",
                          {"type": "post.created"})
    assert st in (200, 201), body

    t = make_telemetry({"BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS": "1200",
                        "BSOCIAL_TELEMETRY_GROUP": f"warm-{hexid(4)}"}, name="warm")
    log = t.stderr_text()
    m = re.search(r"event=warmup index=(\S+) documents=(\d+) bulks=(\d+)", log)
    assert m, log
    assert m.groups() == (WARMUP_INDEX, "1200", "3"), m.group(0)  # batches of 500
    # The ready line comes after the warm-up; the scratch index is gone by then.
    st, body = es_request(s, "GET", f"/{WARMUP_INDEX}")
    assert st == 404, body
    st, aliases = es_request(s, "GET", f"/_alias/{EVENTS_INDEX}")
    assert st == 200 and not any("warmup" in name for name in aliases), aliases
    # Under none of our templates (they are <index>-* and exact names): no alias would
    # show its documents to a query while it exists.
    st, sim = es_request(s, "POST", f"/_index_template/_simulate_index/{WARMUP_INDEX}")
    assert st == 200, sim
    assert not sim.get("template", {}).get("aliases"), sim
    # For comparison, a name under the events pattern would get the events alias.
    st, sim = es_request(s, "POST", f"/_index_template/_simulate_index/{EVENTS_INDEX}-warmup")
    assert st == 200 and EVENTS_INDEX in sim["template"]["aliases"], sim
    # Nothing was produced in this module: the events and entities hold no document.
    assert es_count(s) == 0 and es_count(s, ENTITIES_INDEX) == 0


def test_warmup_off_makes_no_scratch_index(stack, make_telemetry):
    t = make_telemetry({"BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS": "0",
                        "BSOCIAL_TELEMETRY_GROUP": f"cold-{hexid(4)}"}, name="nowarm")
    assert "event=warmup" not in t.stderr_text()
    st, _ = es_request(stack.search, "GET", f"/{WARMUP_INDEX}")
    assert st == 404


def test_static_member_restarted_after_sigkill_does_not_wait_the_session_timeout(make_telemetry):
    group = f"static-{hexid(4)}"
    t = make_telemetry({"BSOCIAL_TELEMETRY_GROUP": group,
                        "BSOCIAL_TELEMETRY_INSTANCE_ID": "telemetry-a"}, name="static")
    assigned_at(t)
    t.kill()
    t0 = time.monotonic()
    t.start()
    waited = assigned_at(t) - t0
    # A dynamic member waits for the killed one's session to expire (10 s) before the group
    # rebalances (measured: 10-11 s); the static one takes its place at once.
    print(f"static member: partitions back {waited:.1f} s after the restart")
    assert waited < SESSION_TIMEOUT_S - 3, waited
    assert "instance_id=telemetry-a" in t.stderr_text()


@pytest.mark.parametrize("bad", ["two words", "a/b", "x" * 250])
def test_malformed_instance_id_is_refused_at_start(stack, tmp_path, bad):
    env = TelemetryProcess(tmp_path, stack.kafka, stack.search,
                           {"BSOCIAL_TELEMETRY_INSTANCE_ID": bad}).env()
    r = subprocess.run([str(binary_path()), "telemetry"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, r
    assert "BSOCIAL_TELEMETRY_INSTANCE_ID" in r.stderr, r.stderr
    assert "bsocial telemetry consuming" not in r.stdout
