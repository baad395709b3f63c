"""wrk with bench/wrk/requests.lua: request files (METHOD<TAB>TOKEN<TAB>PATH[<TAB>BODY]
per line), a run, and one scenario measured (warm-up, then the measured run)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .common import REPO


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


def measure(port: int, sc: dict, args) -> dict:
    if args.warmup > 0:
        run_wrk(port, sc["file"], sc["connections"], args.warmup)
    w = run_wrk(port, sc["file"], sc["connections"], args.duration)
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
    return out
