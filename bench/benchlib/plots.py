"""The PNG plots of docs/benchmarks.md (matplotlib, installed on first use)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .common import log
from .scenarios import DEEP_PAGE, SHAPES, posts_text, run_name, scenario_label


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log("matplotlib missing: python3 -m pip install matplotlib")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"])
        if r.returncode != 0:
            return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def make_plots(results: dict, docs: Path) -> dict[str, str]:
    plt = ensure_matplotlib()
    if plt is None:
        log("no matplotlib: plots skipped")
        return {}
    out = {}
    b = results.get("bench")
    if b:
        sc = b["run"]["scenarios"]
        names = [scenario_label(r) + f" (c{r['connections']})" for r in sc][::-1]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.42 * len(sc) + 1.8), sharey=True)
        colors = ["tab:red" if r["errors"] else "tab:blue" for r in sc][::-1]
        ax1.barh(names, [r["rps"] for r in sc][::-1], color=colors)
        ax1.set_xscale("log")
        ax1.set_xlim(right=max(r["rps"] for r in sc) * 4)
        ax1.set_xlabel("requests/s (log)")
        ax1.set_title("throughput")
        for y, r in enumerate(sc[::-1]):
            ax1.text(r["rps"], y, f" {r['rps']:,.0f}", va="center", fontsize=8)
        ax2.barh(names, [r["p99_ms"] for r in sc][::-1], color="tab:orange")
        ax2.barh(names, [r["p50_ms"] for r in sc][::-1], color="tab:green", height=0.4, label="p50")
        ax2.set_xscale("log")
        ax2.set_xlim(right=max(r["p99_ms"] for r in sc) * 4)
        ax2.set_xlabel("latency ms (log): p99 bar, p50 inner bar")
        ax2.set_title("p99 (and p50)")
        for y, r in enumerate(sc[::-1]):
            ax2.text(r["p99_ms"], y, f" {r['p99_ms']:.2f}", va="center", fontsize=8)
        run = b["run"]
        fig.suptitle(f"bSocial `make bench`: {run_name(run)}, {b['machine']['cores']} cores, "
                     f"{run['date'][:10]}, {b['commit']}")
        fig.tight_layout()
        fig.savefig(docs / "benchmarks.png", dpi=100)
        plt.close(fig)
        out["bench"] = "benchmarks.png"
    s = results.get("scale")
    if s:
        from matplotlib import ticker
        fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
        colors = dict(zip(SHAPES, ["black", "tab:blue", "tab:green", "tab:red", "tab:purple"]))
        for ax, page in zip(axes, (1, DEEP_PAGE)):
            for shape in SHAPES:
                for db, style, marker in (("sqlite", "-", "o"), ("postgresql", "--", "s")):
                    pts = []
                    for run in s["runs"]:
                        if run["db"] != db:
                            continue
                        x = next((x for x in run["scenarios"] if x["group"] == "shape"
                                  and x["shape"] == shape and x["page"] == page), None)
                        if x:
                            pts.append((run["params"]["posts"], x["p50_ms"]))
                    pts.sort()
                    if pts:
                        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker=marker,
                                color=colors[shape], mfc="white" if db == "postgresql" else None,
                                label=f"{shape} ({'PostgreSQL' if db == 'postgresql' else 'SQLite'})")
            ax.set_xscale("log")
            ax.set_yscale("log")
            sizes = sorted({run["params"]["posts"] for run in s["runs"]})
            ax.set_xticks(sizes, [posts_text(n) for n in sizes])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("posts in the database (log)")
            ax.set_title("first page" if page == 1 else f"page {page}")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel("feed median latency, ms (log)")
        axes[1].legend(fontsize=8, loc="best")
        fig.suptitle(f"bSocial `make bench-scale`: feed median by user shape, "
                     f"{s['machine']['cores']} cores, {s['date'][:10]}, {s['commit']}")
        fig.tight_layout()
        fig.savefig(docs / "benchmarks-scale.png", dpi=100)
        plt.close(fig)
        out["scale"] = "benchmarks-scale.png"
    return out
