"""wrk with bench/wrk/requests.lua: request files (METHOD<TAB>TOKEN<TAB>PATH[<TAB>BODY]
per line), a run, and one scenario measured (warm-up, then the measured run)."""
from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from .common import REPO, log


LUA = REPO / "bench" / "wrk" / "requests.lua"


def write_requests(path: Path, lines: list[tuple[str, str, str, str]]) -> Path:
    with open(path, "w") as f:
        for method, token, target, body in lines:
            assert "\t" not in target + body and "\n" not in target + body
            f.write(f"{method}\t{token}\t{target}" + (f"\t{body}" if body else "") + "\n")
    return path


def run_wrk(port: int, file: Path, connections: int, duration: float, threads: int = 2) -> dict:
    threads = min(threads, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
           "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(file), str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    return json.loads(line[len("BENCH_JSON "):])


def stall_seen(w: dict, connections: int) -> str:
    """A stall in the run, as wrk's figures show it, or "". wrk corrects its latencies for
    coordinated omission (stats_correct, at the end of the run): a request slower than the
    run's mean interval per connection adds the requests that connection would have sent
    meanwhile, with latencies falling linearly to that interval. So the latencies add up to
    about connections x the run's duration (1.0-1.4 times it here; /healthz at c32 up to 3.1),
    and one stall of a few hundred ms at 60,000 req/s becomes thousands of samples: seen
    2026-12-07, PostgreSQL "feed new, first page" c4, p99 264 ms and max 693 ms, the
    latencies adding up to 91 times the bound (the same scenario again: p99 1.1 ms). Such a
    run is kept (it is what a client would have seen); beyond 5 times the bound this says so,
    and serve's own latency histogram tells whether serve saw the stall."""
    total_us = w["latency_us"]["mean"] * w["requests"]
    bound_us = connections * w["duration_us"]
    if bound_us and total_us > 5 * bound_us:
        return (f"a stall: max {w['latency_us']['max'] / 1000:,.0f} ms; with wrk's correction "
                f"for coordinated omission the latencies add up to {total_us / bound_us:,.0f} "
                f"times {connections} connection(s) x {w['duration_us'] / 1e6:.1f} s")
    return ""


def serve_histogram(port: int) -> dict[str, float] | None:
    """serve's bsocial_http_request_duration_seconds buckets summed over its routes (None
    when the port is not serve's: nginx's scenario)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except (OSError, ValueError):
        return None
    buckets: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("bsocial_http_request_duration_seconds_bucket{"):
            labels, _, value = line.rpartition(" ")
            le = labels.split('le="', 1)[1].split('"', 1)[0]
            buckets[le] = buckets.get(le, 0.0) + float(value)
    return buckets if "bsocial_" in text else None


def slow_in_serve(before: dict | None, after: dict | None) -> dict[str, int] | None:
    """How many of the run's requests serve itself timed over 25 and 100 ms."""
    if before is None or not after or "+Inf" not in after:
        return None
    n = after["+Inf"] - before.get("+Inf", 0.0)
    return {f"over_{ms}ms": int(n - (after.get(le, 0.0) - before.get(le, 0.0)))
            for ms, le in ((25, "0.025"), (100, "0.1")) if le in after}


def measure(port: int, sc: dict, args) -> dict:
    if args.warmup > 0:
        run_wrk(port, sc["file"], sc["connections"], args.warmup)
    h0 = serve_histogram(port)
    w = run_wrk(port, sc["file"], sc["connections"], args.duration)
    in_serve = slow_in_serve(h0, serve_histogram(port))
    stall = stall_seen(w, sc["connections"])
    if stall:
        log(f"{sc['name']}: {stall}; serve's own histogram: "
            + (", ".join(f"{v} request(s) {k.replace('_', ' ')}" for k, v in in_serve.items())
               if in_serve is not None else "not read"))
    lat = w["latency_us"]
    e = w["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    out = {k: v for k, v in sc.items() if k not in ("file", "port")}
    out.update({
        "requests": w["requests"], "seconds": round(w["duration_us"] / 1e6, 2),
        "rps": round(w["requests"] / (w["duration_us"] / 1e6), 1) if w["duration_us"] else 0.0,
        "p50_ms": lat["p50"] / 1000, "p75_ms": lat["p75"] / 1000, "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000, "p99_9_ms": lat["p99_9"] / 1000, "max_ms": lat["max"] / 1000,
        "mean_ms": round(lat["mean"] / 1000, 3),
        "non2xx": w["non2xx"], "status": w["status"], "socket_errors": e,
        "errors": w["non2xx"] + socket_errors,
    })
    if stall:
        out["stall"] = stall
    if in_serve is not None:
        out["serve_slow_requests"] = in_serve
    return out
