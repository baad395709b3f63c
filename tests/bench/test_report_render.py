"""bench/benchlib/report.py render(): a rewrite of docs/benchmarks.md replaces the sections
it generates and keeps the ones written by hand (the `make bench-analytics` section was
lost once). No servers, no plots."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from benchlib import report  # noqa: E402

HAND = """## `make bench-analytics`: written by hand

A figure: 14,303 events/s.

```
## not a heading: inside a code block
```

### A subsection of it

More text.

## Another hand-written section

The end.
"""


def results(rps: float) -> dict:
    run = {
        "db": "postgresql",
        "params": {"users": 10, "follows": 2, "posts": 1000, "comments": 100, "seed": 1,
                   "days": 3, "shape_users": 1, "heavy_follows": 5, "star_share": 0.5},
        "seed": {"seconds": 1.0, "cache": ".bench-cache/x", "created": "2026-12-06T00:00:00",
                 "cached": True},
        "server": {"command": "serve --port 0"},
        "date": "2026-12-06T00:00:00+00:00", "minutes": 0.1, "loadavg_before": [1.0, 1.0, 1.0],
        "duration_s": 1, "warmup_s": 1, "errors": 0,
        "scenarios": [{"name": "GET /healthz", "group": "healthz", "connections": 32,
                       "rps": rps, "p50_ms": 0.5, "p99_ms": 2.0, "errors": 0}],
    }
    return {"bench_postgresql": {"machine": {"cpu": "test", "cores": 2, "ram_gib": 1,
                                             "kernel": "k", "wrk": "w"},
                                 "commit": "abc1234", "command": "bench.py", "run": run}}


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    monkeypatch.setattr(report, "make_plots", lambda results, docs: {})


def test_rewrite_keeps_hand_written_sections_and_replaces_generated(tmp_path):
    report.render(results(11111), tmp_path)
    page = tmp_path / "benchmarks.md"
    first = page.read_text()
    assert "11,111" in first
    assert "## `make bench-analytics`" not in first

    page.write_text(first.rstrip() + "\n\n" + HAND)
    report.render(results(22222), tmp_path)
    second = page.read_text()

    assert "22,222" in second
    assert "11,111" not in second
    assert second.count("## `make bench`: PostgreSQL") == 1
    assert second.endswith("\n" + HAND)
    generated_end = second.index("## `make bench-analytics`")
    assert "22,222" in second[:generated_end]

    report.render(results(33333), tmp_path)
    third = page.read_text()
    assert third.count(HAND) == 1 and third.endswith("\n" + HAND)
    assert "33,333" in third and "22,222" not in third


def test_a_page_without_hand_written_sections_keeps_nothing(tmp_path):
    assert report.kept_sections("") == []
    report.render(results(11111), tmp_path)
    assert report.kept_sections((tmp_path / "benchmarks.md").read_text()) == []
