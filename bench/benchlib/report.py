"""The results as text: the terminal table of a run, docs/benchmarks.md (with the plots of
plots.py), docs/benchmarks.json read back."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import log
from .plots import make_plots
from .scenarios import DEEP_PAGE, SHAPE_TEXT, SHAPES, TARGETS, run_name, scenario_label


def fmt_vs(r: dict) -> str:
    if r["group"] == "nginx":
        return "ceiling (nginx, static)"
    parts = []
    if "pct_of_healthz" in r:
        parts.append(f"{r['pct_of_healthz']:.1f}% of healthz")
    if "pct_of_nginx" in r:
        parts.append(f"{r['pct_of_nginx']:.1f}% of nginx")
    if "ratio_to_typical" in r:
        parts.append(f"{r['ratio_to_typical']:.2f}x typical")
    if not parts and r["group"] == "healthz":
        return "ceiling"
    return ", ".join(parts)


def table_rows(record: dict) -> list[list[str]]:
    rows = []
    for r in record["scenarios"]:
        rows.append([scenario_label(r), str(r["connections"]), f"{r['rps']:,.0f}",
                     f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"]), fmt_vs(r)])
    return rows


HEADER = ["scenario", "conns", "req/s", "p50 ms", "p99 ms", "errors", "vs"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) for i in range(len(HEADER))]
    right = {1, 2, 3, 4, 5}
    out = []
    for row in [HEADER, ["-" * w for w in widths], *rows]:
        out.append("  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                             for i, c in enumerate(row)).rstrip())
    return "\n".join(out)


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join("---:" if i in (1, 2, 3, 4, 5) else "---" for i in range(len(HEADER))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def acceptance(record: dict) -> list[str]:
    sc = record["scenarios"]
    by_group = {}
    for r in sc:
        by_group.setdefault(r["group"], []).append(r)
    out = []

    def verdict(ok: bool) -> str:
        return "meets the target" if ok else "**misses the target**"

    if "feed_throughput" in by_group and "pct_of_healthz" in by_group["feed_throughput"][0]:
        r = by_group["feed_throughput"][0]
        out.append(f"Feed throughput, typical user (c{r['connections']}): {r['rps']:,.0f} req/s = "
                   f"{r['pct_of_healthz']:.1f}% of /healthz (target >= {TARGETS['feed_pct']:.0f}%): "
                   f"{verdict(r['pct_of_healthz'] >= TARGETS['feed_pct'])}")
    shapes = [r for r in by_group.get("shape", []) if "ratio_to_typical" in r]
    if shapes:
        worst = max(shapes, key=lambda r: r["ratio_to_typical"])
        out.append(f"Feed median per shape, first page and page {DEEP_PAGE}: worst {worst['name']} at "
                   f"{worst['ratio_to_typical']:.2f}x the typical user's "
                   f"(target within {TARGETS['shape_ratio']:.0f}x): "
                   f"{verdict(worst['ratio_to_typical'] <= TARGETS['shape_ratio'])}")
    if "mixed" in by_group and "pct_of_healthz" in by_group["mixed"][0]:
        r = by_group["mixed"][0]
        ok = r["pct_of_healthz"] >= TARGETS["mixed_pct"] and r["p99_ms"] <= TARGETS["mixed_p99_ms"]
        out.append(f"Mixed 60/30/10 (c{r['connections']}): {r['rps']:,.0f} req/s = "
                   f"{r['pct_of_healthz']:.1f}% of /healthz, p99 {r['p99_ms']:.1f} ms "
                   f"(target >= {TARGETS['mixed_pct']:.0f}%, p99 <= {TARGETS['mixed_p99_ms']:.0f} ms): "
                   f"{verdict(ok)}")
    if "posts" in by_group:
        r = by_group["posts"][0]
        if record["db"] == "sqlite":
            out.append(f"Post creation (c{r['connections']}): {r['rps']:,.0f} posts/s "
                       f"(target >= {TARGETS['posts_rps']:,.0f}/s on SQLite): "
                       f"{verdict(r['rps'] >= TARGETS['posts_rps'])}")
        else:
            out.append(f"Post creation (c{r['connections']}): {r['rps']:,.0f} posts/s "
                       f"on PostgreSQL (reported, no target)")
    if "posts_kafka" in by_group:
        r = by_group["posts_kafka"][0]
        base = by_group.get("posts", [None])[0]
        out.append(f"Post creation with the outbox relay and Kafka on (as `make run`), "
                   f"c{r['connections']}: {r['rps']:,.0f} posts/s, p99 {r['p99_ms']:.1f} ms"
                   + (f" ({r['rps'] / base['rps']:.2f}x the relay-off row)" if base and base["rps"] else "")
                   + f"; outbox backlog at the end {r.get('outbox_backlog_at_end', 0):,.0f}, "
                   f"empty {r.get('outbox_drained_s', 0)} s later (reported, no target)")
    ceiling = by_group.get("nginx", [None])[0]
    if ceiling:
        for group, target, what in (("healthz", "healthz_nginx_pct", "GET /healthz"),
                                    ("feed_throughput", "feed_nginx_pct",
                                     "Feed throughput, typical user")):
            r = by_group.get(group, [None])[0]
            if r and "pct_of_nginx" in r:
                out.append(f"{what} (c{r['connections']}) against nginx's static answer "
                           f"({ceiling['rps']:,.0f} req/s, one worker, issue 26): "
                           f"{r['pct_of_nginx']:.1f}% (target >= {TARGETS[target]:.0f}%): "
                           f"{verdict(r['pct_of_nginx'] >= TARGETS[target])}")
    errs = record.get("errors", 0)
    if errs:
        bad = [f"{r['name']}: {r['errors']} ({r['status'] or r['socket_errors']})"
               for r in sc if r["errors"]]
        out.append(f"**FAILED RUN: {errs} non-2xx responses or socket errors** — " + "; ".join(bad))
    else:
        out.append("Errors: none (every response 2xx, no socket errors).")
    if record.get("server_exit") not in (None, 0, -15):
        out.append(f"**The server exited with {record['server_exit']}.**")
    slog = record.get("server_log") or {}
    if slog.get("lines"):
        first = slog["sample"][0][:160].replace("`", "'")
        out.append(f"Server log: {slog['lines']} line(s) at warn or above, the first: `{first}`")
    return out


def dataset_text(p: dict) -> str:
    return (f"{p['users']:,} regular users following {p['follows']} each (power law), "
            f"{p['posts']:,} posts over {p['days']} days, {p['comments']:,} comments, seed {p['seed']}; "
            f"{p['shape_users']} accounts of each shape (heavy follow {p['heavy_follows']:,}, "
            f"`star` wrote {p['star_share']:.0%} of the posts)")


def dataset_text_scale(p: dict) -> str:
    return (f"{p['users']:,} regular users following {p['follows']} each (power law), posts as "
            f"in the columns over {p['days']} days, comments = posts / 10, seed {p['seed']}; "
            f"{p['shape_users']} accounts of each shape (heavy follow {p['heavy_follows']:,}, "
            f"`star` wrote {p['star_share']:.0%} of the posts)")


def seed_text(s: dict) -> str:
    t = f"seeded in {s['seconds']} s"
    if s.get("vacuum_seconds") is not None:
        t += f" (+ VACUUM ANALYZE {s['vacuum_seconds']} s)"
    t += f" on {s.get('created', '?')[:10]}, cached in `{s['cache']}`"
    t += " (cache hit this run)" if s.get("cached") else " (seeded by this run)"
    return t


def run_meta_md(meta: dict, record: dict) -> list[str]:
    m = meta["machine"]
    out = [
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"load average before the run {record['loadavg_before'][0]} (the cores are shared)",
        f"- Date: {record['date']} (run took {record['minutes']} min); commit `{meta['commit']}`",
        f"- Command: `{meta['command']}`",
        f"- Database: {'SQLite (WAL)' if record['db'] == 'sqlite' else 'PostgreSQL 15 (local cluster, fsync off)'}; "
        f"server `{env_prefix(record)}bsocial {record['server']['command']}` "
        f"(release build, outbox relay off but in the row \"relay + Kafka\": restarted with "
        f"a 1-broker Kafka and the relay on)",
        f"- Dataset: {dataset_text(record['params'])}; {seed_text(record['seed'])}",
        f"- wrk {m['wrk']} `-t2`, {record['duration_s']} s per scenario after a "
        f"{record['warmup_s']} s warm-up, requests rotate over the users' tokens "
        f"([bench/wrk/requests.lua](../bench/wrk/requests.lua))",
    ]
    return out


def env_prefix(record: dict) -> str:
    env = record.get("server", {}).get("env") or {}
    return "".join(f"{k}={v} " for k, v in env.items())


def render(results: dict, docs: Path) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    plots = make_plots(results, docs)
    md = ["# Benchmarks", "",
          "Written by [`bench/bench.py`](../bench/bench.py): `make bench` (first section) and "
          "`make bench-scale` (second section). Raw numbers in "
          "[`benchmarks.json`](benchmarks.json); `python3 bench/bench.py --render` rewrites this "
          "page and the plots from it. How the scenarios are built: "
          "[bench/README.md](../bench/README.md). Numbers only: nothing asserts on them. The "
          "sections after those (`make bench-analytics`...) are written by hand; a rewrite keeps "
          "them.", ""]
    b = results.get("bench")
    if b:
        r = b["run"]
        md += [f"## `make bench`: {'SQLite' if r['db'] == 'sqlite' else 'PostgreSQL'}, "
               f"{r['params']['posts']:,} posts", ""]
        md += run_meta_md(b, r) + [""]
        md += [md_table(table_rows(r)), ""]
        md += notes_md(r)
        md += ["", "Acceptance (issues 8 and 26):", ""] + [f"- {a}" for a in acceptance(r)] + [""]
        if "bench" in plots:
            md += [f"![throughput and p99 per scenario]({plots['bench']})", ""]
    bp = results.get("bench_postgresql")
    if bp:
        r = bp["run"]
        md += [f"## `make bench`: PostgreSQL, {r['params']['posts']:,} posts", ""]
        md += run_meta_md(bp, r) + [""]
        md += [md_table(table_rows(r)), ""]
        md += notes_md(r)
        md += ["", "Against issue 8's lines (issue 25 reads its own from this table):", ""]
        md += [f"- {a}" for a in acceptance(r)] + [""]
    s = results.get("scale")
    if s:
        md += ["## `make bench-scale`: the feed against dataset size", ""]
        first = s["runs"][0]
        md += [f"- Machine: {s['machine']['cpu']}, {s['machine']['cores']} cores, "
               f"{s['machine']['ram_gib']} GiB RAM; date {s['date']}; commit `{s['commit']}`",
               f"- Command: `{s['command']}`",
               f"- Every dataset: {dataset_text_scale(first['params'])}",
               f"- Feed scenarios at {first.get('shape_connections', 4)} connections "
               f"(latency, not queueing); median (p50) in ms and its ratio to the typical "
               f"user's median on the same page", ""]
        md += [scale_table(s), ""]
        md += ["Seeding and runs:", ""]
        for run in s["runs"]:
            md.append(f"- {run_name(run)}: {seed_text(run['seed'])}; load average before "
                      f"{run['loadavg_before'][0]}; errors {run['errors']}")
        md.append("")
        for run in s["runs"]:
            if run["full"]:
                md += [f"### {run_name(run)}: every scenario", ""]
                md += [md_table(table_rows(run)), ""]
                md += ["Acceptance (issue 8):", ""] + [f"- {a}" for a in acceptance(run)] + [""]
        if "scale" in plots:
            md += [f"![feed median latency against dataset size]({plots['scale']})", ""]
    out = docs / "benchmarks.md"
    kept = kept_sections(out.read_text() if out.exists() else "")
    out.write_text("\n".join(md).rstrip() + "\n" + "".join("\n" + k for k in kept))
    log(f"wrote {out}" + (f" (kept {len(kept)} section(s) written by hand)" if kept else ""))


# The `## ` headings render() writes; every other `## ` section of benchmarks.md (e.g. `make
# bench-analytics`'s, written by hand) is kept, after these, in its order.
GENERATED_HEADINGS = ("## `make bench`: ", "## `make bench-scale`: ")


def kept_sections(text: str) -> list[str]:
    """The `## ` sections of an earlier benchmarks.md that render() does not write, each
    with its `### ` subsections, ending in one newline. A `## ` inside a fenced code block
    does not start a section."""
    sections: list[list[str]] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
    return ["\n".join(s).rstrip() + "\n" for s in sections
            if not s[0].startswith(GENERATED_HEADINGS)]


def notes_md(r: dict) -> list[str]:
    out = [f"Shapes: " + "; ".join(f"{s} = {SHAPE_TEXT[s]}" for s in SHAPES) + ". "
           f"Shape rows run at {next((x['connections'] for x in r['scenarios'] if x['group'] == 'shape'), 4)} "
           f"connections, 20 users each; the typical feed throughput row at 32 connections over "
           f"100 regular users; mixed = 60% GET feed, 30% GET comments of a post on the user's "
           f"first page, 10% POST a post, 100 regular users."]
    if any(x["group"] == "nginx" for x in r["scenarios"]):
        out.append("")
        out.append("nginx = Debian's nginx-light, one worker, `return 200 '{\"status\":\"ok\"}'` "
                   "on a free port, measured in the same run with the same wrk settings: what "
                   "an HTTP/1.1 server can answer on these cores ([bench/benchlib/nginx.py]"
                   "(../bench/benchlib/nginx.py)).")
    for x in r["scenarios"]:
        if x.get("stall"):
            slow = x.get("serve_slow_requests")
            seen = ("serve itself timed " + " and ".join(
                f"{v} request(s) {k.replace('_', ' ')}" for k, v in slow.items())
                if slow is not None else "serve's histogram was not read")
            out.append("")
            out.append(f"Stall in \"{x['name']}\": {x['stall']}; {seen} "
                       "([bench/benchlib/wrk.py](../bench/benchlib/wrk.py), `stall_seen`).")
    borrowed = [x for x in r["scenarios"] if x.get("borrowed_cursors")]
    if borrowed:
        fp = r.get("feed_pages", {})
        def pages(shape: str) -> str:
            lo = fp.get(shape, {}).get("min_pages", "?")
            hi = fp.get(shape, {}).get("max_pages", "?")
            return f"{lo} page{'s' if lo != 1 else ''}" if lo == hi else f"{lo} to {hi} pages"

        desc = ", ".join(f"{x['shape']} ({pages(x['shape'])}, {x['borrowed_cursors']} of "
                         f"{x['users']} users)" for x in borrowed)
        out.append("")
        out.append(f"\\* Feeds shorter than {DEEP_PAGE} pages: {desc}. Their page-{DEEP_PAGE} row "
                   f"requests the page after a typical user's page {DEEP_PAGE - 1} cursor (the same "
                   f"point in time), which is what a deep cursor costs for that user.")
    out += extras_lines(r)
    return out


def extras_lines(r: dict) -> list[str]:
    """Cold start and the server's memory (issue 25), when the run measured them."""
    out = []
    c = r.get("cold_start")
    if c:
        after = "right after their login, " if c.get("after_login") else ""
        out += ["", f"Cold start: a regular user's first page {after}right after the server started "
                    f"on a fresh copy of the database (its own caches empty"
                    f"{', PostgreSQL' + chr(39) + 's buffers cold' if r.get('db') == 'postgresql' else ''}) "
                    f"{c['cold_p50_ms']:.2f} ms, the same page again {c['warm_p50_ms']:.2f} ms "
                    f"(medians of {c['users']} users, one at a time): {c['ratio']:.2f}x."]
    c = r.get("restart")
    if c:
        if "unwarmed" in c:
            u = c["unwarmed"]
            out += [f"After a restart of serve alone (the database running and warm), the "
                    f"start's warming (BSOCIAL_FEED_WARM_USERS) loaded {c['warm_users']:.0f} "
                    f"users' sessions and {c['warm_timelines']:.0f} first pages in "
                    f"{c['warm_seconds']:.2f} s, in the background (a /healthz meanwhile "
                    f"{c['healthz_ms']:.1f} ms); {c['belief_wait_s']} s later "
                    f"a warmed user's first page {c['cold_p50_ms']:.2f} ms, again "
                    f"{c['warm_p50_ms']:.2f} ms: **{c['ratio']:.2f}x** (issue 25: within 3x); "
                    f"a user not warmed (logged in after the restart"
                    f"{', the page loaded right after the login' if u.get('after_login') else ''}) "
                    f"{u['cold_p50_ms']:.2f} ms, again {u['warm_p50_ms']:.2f} ms: "
                    f"**{u['ratio']:.2f}x**."]
        else:
            out += [f"After a restart of serve alone (the database running and warm): "
                    f"{c['cold_p50_ms']:.2f} ms, again {c['warm_p50_ms']:.2f} ms: "
                    f"**{c['ratio']:.2f}x** (issue 25: within 3x)."]
    m = r.get("server_memory")
    if m and "rss_mib" in m:
        out += ["", f"Server memory after the scenarios (measured): RSS {m['rss_mib']} MiB, "
                    f"{int(m.get('bsocial_feed_cache_users', 0)):,} timelines and "
                    f"{int(m.get('bsocial_feed_cache_entries', 0)):,} entries in the feed cache."]
    f = r.get("cache_memory")
    if f and f.get("rss_mib") is not None and f.get("rss_empty_mib") is not None:
        grew = f["rss_mib"] - f["rss_empty_mib"]
        entries = int(f.get("bsocial_feed_cache_entries", 0))
        users = int(f.get("bsocial_feed_cache_users", 0))
        out += [f"Caches' memory (measured): after the restart RSS {f['rss_empty_mib']} MiB; "
                f"after reading {f['users']} users' feeds to the cached timelines' full depth "
                f"({f['requests']:,} pages) {f['rss_mib']} MiB: +{grew:.1f} MiB for {users:,} "
                f"timelines, {entries:,} entries and up to {f['distinct_posts']:,} posts "
                f"(the distinct posts those pages showed; the post cache keeps 100,000 at most): "
                f"{grew * 1024 / max(users, 1):.0f} KiB per full timeline with its posts."]
    return out


def scale_table(s: dict) -> str:
    runs = s["runs"]
    head = ["feed scenario"] + [run_name(r) for r in runs]
    out = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(runs) + "|"]
    keys = []
    for r in runs:
        for x in r["scenarios"]:
            if x["group"] == "shape" and (x["shape"], x["page"]) not in keys:
                keys.append((x["shape"], x["page"]))
    keys.sort(key=lambda k: (k[1], SHAPES.index(k[0])))
    for shape, page in keys:
        row = [f"{shape}, {'first page' if page == 1 else f'page {page}'}"]
        for r in runs:
            x = next((x for x in r["scenarios"] if x["group"] == "shape" and x["shape"] == shape
                      and x["page"] == page), None)
            if x is None:
                row.append("")
            else:
                cell = f"{x['p50_ms']:.2f} ms"
                if "ratio_to_typical" in x and shape != "typical":
                    cell += f" ({x['ratio_to_typical']:.2f}x)"
                if x.get("borrowed_cursors"):
                    cell += " *"
                row.append(cell)
        out.append("| " + " | ".join(row) + " |")
    for group, label in (("feed_throughput", "typical feed throughput, c32 (req/s, % of healthz)"),
                         ("healthz", "GET /healthz, c32 (req/s)"),
                         ("nginx", "nginx static /healthz, c32 (req/s)")):
        if not any(x["group"] == group for r in runs for x in r["scenarios"]):
            continue  # e.g. runs from before the nginx row
        row = [label]
        for r in runs:
            x = next((x for x in r["scenarios"] if x["group"] == group), None)
            if x is None:
                row.append("")
            elif group in ("healthz", "nginx"):
                row.append(f"{x['rps']:,.0f}")
            else:
                row.append(f"{x['rps']:,.0f} ({x.get('pct_of_healthz', 0):.1f}%)")
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append(f"\\* borrowed cursor: that shape's feed is shorter than {DEEP_PAGE} pages "
               f"(see the first section).")
    return "\n".join(out)


def print_run(record: dict) -> None:
    print()
    print(f"{run_name(record)} — {dataset_text(record['params'])}")
    print(f"seed: {seed_text(record['seed'])}")
    print()
    print(text_table(table_rows(record)))
    if any(x.get("borrowed_cursors") for x in record["scenarios"]):
        print(f"* feed shorter than {DEEP_PAGE} pages: page after a typical user's "
              f"page-{DEEP_PAGE - 1} cursor")
    print()
    for a in acceptance(record):
        print("  " + a.replace("**", ""))
    for ln in extras_lines(record):
        if ln:
            print("  " + ln)
    for ln in (record.get("server_log") or {}).get("sample", [])[1:]:
        print("    " + ln[:200])
    sys.stdout.flush()


def load_results(path: Path) -> dict:
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            log(f"{path} is not JSON: starting a new one")
    return {}
