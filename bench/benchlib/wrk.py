"""wrk with bench/wrk/requests.lua: request files (METHOD<TAB>TOKEN<TAB>PATH[<TAB>BODY]
per line), a run, and one scenario measured (warm-up, then the measured run)."""
from __future__ import annotations

import json
import subprocess
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


def impossible_latencies(w: dict, connections: int) -> str:
    """Why wrk's latencies cannot be right, or "". Each connection waits for one answer at a
    time, so the requests' latencies add up to about connections x the run's duration: wrk's
    own figures give 1.0-1.4 times that (up to 3.1 for /healthz at c32, where wrk is short of
    CPU). Seen once (2026-12-07, PostgreSQL, c4): "feed new, first page" at 91 times (p99
    264 ms, mean 5.7 ms over 649,130 requests in 10.1 s) and "feed sparse, page 50" at 9.6
    times; the same scenarios again: p99 1.1 and 0.9 ms. Beyond 5 times, measured again."""
    total_us = w["latency_us"]["mean"] * w["requests"]
    bound_us = connections * w["duration_us"]
    if bound_us and total_us > 5 * bound_us:
        return (f"latencies add up to {total_us / 1e6:,.1f} s over {connections} connection(s) "
                f"in {w['duration_us'] / 1e6:.1f} s")
    return ""


def measure(port: int, sc: dict, args) -> dict:
    if args.warmup > 0:
        run_wrk(port, sc["file"], sc["connections"], args.warmup)
    w = run_wrk(port, sc["file"], sc["connections"], args.duration)
    why = impossible_latencies(w, sc["connections"])
    if why:
        log(f"{sc['name']}: wrk's latencies are impossible ({why}): measured again")
        w = run_wrk(port, sc["file"], sc["connections"], args.duration)
        if impossible_latencies(w, sc["connections"]):
            raise RuntimeError(f"{sc['name']}: wrk's latencies impossible twice: "
                               f"{impossible_latencies(w, sc['connections'])}")
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
    if why:
        out["remeasured_because"] = why
    return out
