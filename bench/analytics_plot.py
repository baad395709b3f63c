#!/usr/bin/env python3
"""The plot of bench/analytics_bench.py's query figures: p50 and p95 of each analytics API
call at one size (horizontal bars, a line at issue 29's 300 ms p95), as a PNG beside
docs/benchmarks.md's (docs/analytics-10m.png by default).

  python3 bench/analytics_bench.py --sizes 10000000 ... > run.log
  python3 bench/analytics_plot.py run.log [--size 10000000] [--bin PATH] [--round 0]
      [--note "2026-12-06 20:50 UTC, load 1.5-2.4"] [--out docs/analytics-10m.png]

Reads the output's `query ...` lines, or, when it has none, its final JSON line. Without
--size the largest size; without --bin / --round the first build and round printed (a
--compare-bin run prints two builds).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.common import REPO, log  # noqa: E402
from benchlib.plots import ensure_matplotlib  # noqa: E402

TARGET_P95_MS = 300  # issue 29: every dashboard call's p95 under 300 ms
QUERY_RE = re.compile(r'^query engine=(?P<engine>\S+) size=(?P<size>\d+) events=(?P<events>\d+) '
                      r'bin=(?P<bin>\S+) round=(?P<round>\d+) call="(?P<call>[^"]*)" '
                      r'p50_ms=(?P<p50>[\d.]+) p95_ms=(?P<p95>[\d.]+) max_ms=(?P<max>[\d.]+) '
                      r'first_ms=(?P<first>[\d.]+)')


def parse(text: str) -> list[dict]:
    """One row per call: engine, size, events, bin, round, call, p50, p95, max, first."""
    rows = []
    for line in text.splitlines():
        m = QUERY_RE.match(line)
        if m:
            d = m.groupdict()
            rows.append({**d, "size": int(d["size"]), "events": int(d["events"]),
                         "round": int(d["round"]),
                         **{k: float(d[k]) for k in ("p50", "p95", "max", "first")}})
    if rows:
        return rows
    last = next((ln for ln in reversed(text.splitlines()) if ln.startswith("{")), None)
    if last is None:
        return []
    doc = json.loads(last)
    for size, runs in doc.get("queries", {}).items():
        for run in runs:
            for call, v in run["calls"].items():
                rows.append({"engine": doc.get("engine", "?"), "size": int(size),
                             "events": run["events"], "bin": run["bin"], "round": run["round"],
                             "call": call, **{k: float(v[k]) for k in ("p50", "p95", "max", "first")}})
    return rows


def pick(rows: list[dict], size: int | None, bin_path: str | None, rnd: int | None) -> list[dict]:
    if size is None:
        size = max(r["size"] for r in rows)
    rows = [r for r in rows if r["size"] == size]
    if rows and bin_path is None:
        bin_path = rows[0]["bin"]
    rows = [r for r in rows if r["bin"] == bin_path]
    if rows and rnd is None:
        rnd = rows[0]["round"]
    return [r for r in rows if r["round"] == rnd]


def plot(rows: list[dict], out: Path, note: str) -> None:
    plt = ensure_matplotlib()
    if plt is None:
        raise SystemExit("no matplotlib: python3 -m pip install matplotlib")
    rows = rows[::-1]  # the first call at the top
    names = [r["call"] for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(rows) + 1.6))
    ax.barh(names, [r["p95"] for r in rows], label="p95",
            color=["tab:red" if r["p95"] > TARGET_P95_MS else "tab:orange" for r in rows])
    ax.barh(names, [r["p50"] for r in rows], height=0.4, color="tab:green", label="p50")
    ax.axvline(TARGET_P95_MS, color="black", linestyle="--", linewidth=1,
               label=f"{TARGET_P95_MS} ms (issue 29's p95)")
    right = max(max(r["p95"] for r in rows), TARGET_P95_MS) * 1.25
    ax.set_xlim(0, right)
    for y, r in enumerate(rows):
        ax.text(r["p95"], y, f" {r['p95']:.0f} (p50 {r['p50']:.0f})", va="center", fontsize=8)
    ax.set_xlabel("ms: p95 bar (red when over 300 ms), p50 inner bar")
    ax.legend(fontsize=8, loc="lower right")
    first = rows[0]
    fig.suptitle(f"bSocial `make bench-analytics`: the analytics API at {first['size']:,} events "
                 f"({first['engine']}){', ' + note if note else ''}", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    log(f"wrote {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="analytics_bench.py's output (its stdout, or stdout+stderr)")
    ap.add_argument("--size", type=int)
    ap.add_argument("--bin")
    ap.add_argument("--round", type=int)
    ap.add_argument("--note", default="", help="when and how loaded, for the title")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "analytics-10m.png")
    args = ap.parse_args()
    rows = parse(Path(args.output).read_text())
    if not rows:
        raise SystemExit(f"{args.output}: no `query ...` line and no JSON line")
    rows = pick(rows, args.size, args.bin, args.round)
    if not rows:
        raise SystemExit(f"{args.output}: no call for that size / build / round")
    for r in rows:
        print(f"{r['call']}: p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms")
    plot(rows, args.out, args.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
