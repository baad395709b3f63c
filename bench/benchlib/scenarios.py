"""The feed scenarios of `make bench`: the user shapes, which users log in, the page-50
cursors, the ratios against /healthz and the typical user, and the names of runs."""
from __future__ import annotations

import concurrent.futures
import json
import random
import threading

from bsocial_testkit.http import Client


PASSWORD = "seeded password"  # every account `bsocial seed` writes
SHAPES = ("typical", "sparse", "new", "heavy", "fan")
SHAPE_TEXT = {
    "typical": "user_*: follows 100 by a power law of popularity",
    "sparse": "sparse_NN: follows 2 quiet accounts, one old post each",
    "new": "new_NN: follows nobody, no posts",
    "heavy": "heavy_NN: follows 5,000 users",
    "fan": "fan_NN: follows only `star`, who wrote half of all posts",
}
PAGE_LIMIT = 20
DEEP_PAGE = 50
MIXED_USERS = 100
SHAPE_USERS = 20
TARGETS = {"feed_pct": 40.0, "mixed_pct": 30.0, "mixed_p99_ms": 20.0, "posts_rps": 2000.0,
           "shape_ratio": 2.0,
           # issue 26: shares of nginx's static answer (the "nginx" row)
           "healthz_nginx_pct": 75.0, "feed_nginx_pct": 50.0}


def bench_client(port: int) -> Client:
    """One keep-alive connection (reopened after an error), no test checks; call() raises
    on a non-2xx answer."""
    return Client(port, checks=False, keep_alive=True, timeout=120)


def login_all(port: int, names: list[str]) -> dict[str, str]:
    """Argon2id at ~50 ms a login: 2 at a time (2 cores)."""
    local = threading.local()

    def login(name: str) -> tuple[str, str]:
        if not hasattr(local, "http"):
            local.http = bench_client(port)
        return name, local.http.call("POST", "/api/v1/sessions",
                                     {"login": name, "password": PASSWORD})["token"]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(pool.map(login, names))


def feed_path(cursor: str | None = None) -> str:
    return f"/api/v1/feed?limit={PAGE_LIMIT}" + (f"&cursor={cursor}" if cursor else "")


def deep_cursors(port: int, tokens: list[str]) -> list[tuple[str | None, int]]:
    """Per token: the cursor of page DEEP_PAGE (paging with limit=20), or None and the
    number of pages the feed has when it is shorter."""
    local = threading.local()

    def walk(token: str) -> tuple[str | None, int]:
        if not hasattr(local, "http"):
            local.http = bench_client(port)
        cursor = None
        for page in range(1, DEEP_PAGE):
            body = local.http.call("GET", feed_path(cursor), token=token)
            cursor = body.get("next_cursor")
            if not cursor:
                return None, page
        return cursor, DEEP_PAGE

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(walk, tokens))


def mixed_requests(h: Client, regular: list[str], tokens: dict[str, str],
                   rng: random.Random) -> list[tuple]:
    """`make bench`'s mixed 60/30/10 workload: per user 6 first pages of the feed, 3 comment
    lists of the most commented posts they see, 1 post; shuffled."""
    mixed = []
    for n in regular:
        items = h.call("GET", feed_path(), token=tokens[n])["items"]
        # posts this user can see; the commented ones first
        picks = sorted(items, key=lambda it: -int(it.get("comment_count", 0)))[:3]
        for k in range(6):
            mixed.append(("GET", tokens[n], feed_path(), ""))
        for k in range(3):
            if picks:
                pid = picks[k % len(picks)]["id"]
                mixed.append(("GET", tokens[n], f"/api/v1/posts/{pid}/comments?limit=20", ""))
            else:
                mixed.append(("GET", tokens[n], feed_path(), ""))
        mixed.append(("POST", tokens[n], "/api/v1/posts",
                      json.dumps({"content": f"mixed workload post by {n}"})))
    rng.shuffle(mixed)
    return mixed


def regular_users(users: int, n: int) -> list[str]:
    """n regular users spread evenly over all user_* ids (popular and unpopular alike)."""
    n = min(n, users)
    return [f"user_{(k * users) // n:06d}" for k in range(n)]


def shape_users(shape: str, users: int, shape_count: int) -> list[str]:
    if shape == "typical":
        return regular_users(users, MIXED_USERS)[::max(1, MIXED_USERS // SHAPE_USERS)][:SHAPE_USERS]
    return [f"{shape}_{k:02d}" for k in range(min(SHAPE_USERS, shape_count))]


def annotate(record: dict) -> None:
    """Ratios: % of /healthz, % of nginx's static answer, shape median / typical median
    (same page)."""
    sc = record["scenarios"]
    healthz = next((r for r in sc if r["group"] == "healthz"), None)
    ceiling = next((r for r in sc if r["group"] == "nginx"), None)
    typical = {r["page"]: r for r in sc if r["group"] == "shape" and r["shape"] == "typical"}
    for r in sc:
        if healthz and r["group"] in ("feed_throughput", "mixed", "posts") and healthz["rps"]:
            r["pct_of_healthz"] = round(100 * r["rps"] / healthz["rps"], 1)
        if ceiling and r["group"] in ("healthz", "feed_throughput", "mixed", "posts") \
                and ceiling["rps"]:
            r["pct_of_nginx"] = round(100 * r["rps"] / ceiling["rps"], 1)
        if r["group"] == "shape" and r["page"] in typical and typical[r["page"]]["p50_ms"]:
            r["ratio_to_typical"] = round(r["p50_ms"] / typical[r["page"]]["p50_ms"], 2)


def posts_text(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % (div // 10) == 0:
            v = n / div
            return f"{v:g}{suffix}"
    return f"{n:,}"


def run_name(run: dict) -> str:
    return f"{'SQLite' if run['db'] == 'sqlite' else 'PostgreSQL'} {posts_text(run['params']['posts'])} posts"


def scenario_label(r: dict) -> str:
    label = r["name"]
    if r.get("borrowed_cursors"):
        label += " *"
    return label
