#!/usr/bin/env python3
"""Issue 24 item 4: people search at --users (1,000,000) users, on SQLite and PostgreSQL
(prints figures, asserts nothing on timing).

For each database: `bsocial migrate`, then the users inserted straight into it (SQLite:
executemany; PostgreSQL: generate_series, then ANALYZE), then `bsocial serve` (search limit
off, so every request runs). Printed:

1. the statement alone, in the database, for each prefix: the range the server runs now
   (`username >= :from AND username < :to`) and the substr() form it ran before issue 24
   (SQLite: timed from Python over --repeat runs; PostgreSQL: EXPLAIN ANALYZE's execution
   time, best of --repeat), and the plan of each;
2. GET /api/v1/users?q=<prefix>&limit=20 through the server: p50/p99 over --repeat
   requests per prefix.

Prefixes: zzzz (matches nobody: before, it read every username), user_0999 (the end of
the range), user_05 (a page out of 100,000 matches), u (everybody).

Issue 28 (search by username, first or last name): every user also gets a first and a last
name from FIRST and LAST (accents, double names) and its folded search keys
(user_search_keys, written here as serve would: social/search_keys.hpp), then:
3. EXPLAIN of the people search statement (social/people.cpp, search_sql(0)) for one word:
   a range of the key index, no scan (asserted);
4. GET /api/v1/users?q=<words>&limit=20 for each of WORDS: p50/p95 over --repeat requests.

    python3 bench/search_bench.py --bin build/release/bsocial [--users 1000000]
        [--dbs sqlite,postgresql] [--repeat 200]
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
PREFIXES = ["zzzz", "user_0999", "user_05", "u"]
COLUMNS = "u.id, u.username, u.email, u.first_name, u.last_name, u.created_at"
RANGE_SQL = (f"SELECT {COLUMNS} FROM users u WHERE u.username >= {{lo}} AND u.username < {{hi}}"
             " ORDER BY u.username LIMIT 21")
SUBSTR_SQL = (f"SELECT {COLUMNS} FROM users u WHERE substr(u.username, 1, {{n}}) = {{lo}}"
              " AND u.username > '' ORDER BY u.username LIMIT 21")
PASSWORD = "search-bench-pw-1"
# Names of the users (issue 28): user i is FIRST[i % 10] LAST[(i // 10) % 10]; each with its
# folded words (social/search_keys.hpp folds them so: checked by tests/social/search_keys_test.cpp).
FIRST = [("Søren", "soren"), ("Zoë", "zoe"), ("José", "jose"), ("Anne-Marie", "anne marie"),
         ("Łukasz", "lukasz"), ("Ærin", "aerin"), ("Mia", "mia"), ("Noah", "noah"),
         ("Émile", "emile"), ("Björn", "bjorn")]
LAST = [("Østergaard", "ostergaard"), ("Müller", "muller"), ("Nuñez", "nunez"),
        ("Straße", "strasse"), ("Dvořák", "dvorak"), ("Kowalski", "kowalski"),
        ("Smith", "smith"), ("Lefèvre", "lefevre"), ("Jensen", "jensen"), ("O'Brien", "o brien")]
WORDS = ["Østergaard", "oster", "OSTER", "soren oster", "marie dvor", "z", "user_0999", "zzzz"]
PEOPLE_CPP = REPO / "src" / "bsocial" / "social" / "people.cpp"


def people_search_sql(word: str) -> str:
    """search_sql(0) of social/people.cpp for one folded word, values inlined."""
    text = PEOPLE_CPP.read_text()
    body = re.search(r"std::string search_sql\(int extra\) \{(.*?)for \(", text, re.S).group(1)
    body = body.replace("BSOCIAL_USER_COLUMNS", f'"{COLUMNS}"')
    sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    sql += re.search(r's \+= "( ORDER BY [^"]*)";', text).group(1)
    values = {"from": word, "to": word + "\U0010ffff", "after_key": word, "after_key2": word,
              "after_id": 0, "from2": word, "limit": 21}
    for name, v in values.items():
        sql = re.sub(rf":{name}\b", str(v) if isinstance(v, int) else lit(v), sql)
    return sql


def keys_of(i: int) -> list[str]:
    words = [f"user_{i:07d}"] + FIRST[i % 10][1].split() + LAST[(i // 10) % 10][1].split()
    return list(dict.fromkeys(words))


def upper(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class Http:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None


def serve_and_measure(args, data_dir: Path, db_url: str | None) -> None:
    cmd = [args.bin, "serve", "--port", "0", "--data-dir", str(data_dir), "--log-level", "warn",
           "--registrations-per-minute", "0", "--searches-per-minute", "0"]
    if db_url:
        cmd += ["--db", db_url]
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir.parent / "serve.log", "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    port = 0
    for line in proc.stdout:
        m = LISTEN_RE.search(line)
        if m:
            port = int(m.group(1))
            break
    if not port:
        raise SystemExit("serve did not start: " + (data_dir.parent / "serve.log").read_text())
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        h = Http(port)
        name = "searchbench"
        h.request("POST", "/api/v1/users", {
            "first_name": "S", "last_name": "B", "username": name,
            "email": f"{name}@example.com", "password": PASSWORD,
            "password_confirmation": PASSWORD})
        status, body = h.request("POST", "/api/v1/sessions", {"login": name, "password": PASSWORD})
        token = body["token"]
        for prefix in PREFIXES:
            ms = []
            count = 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                status, body = h.request("GET", f"/api/v1/users?q={prefix}&limit=20", token=token)
                ms.append((time.perf_counter() - t0) * 1000)
                assert status == 200, (status, body)
                count = len(body["items"])
            print(f"  HTTP GET /api/v1/users?q={prefix:<10} {count:>2} items: "
                  f"p50 {pct(ms, 50):7.2f} ms  p99 {pct(ms, 99):7.2f} ms")
        for words in WORDS:  # issue 28: first and last names, folded
            ms = []
            count = 0
            q = urllib.parse.quote(words)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                status, body = h.request("GET", f"/api/v1/users?q={q}&limit=20", token=token)
                ms.append((time.perf_counter() - t0) * 1000)
                assert status == 200, (status, body)
                count = len(body["items"])
            print(f"  HTTP GET /api/v1/users?q={words:<12} {count:>2} items: "
                  f"p50 {pct(ms, 50):7.2f} ms  p95 {pct(ms, 95):7.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def run_sqlite(args, work: Path) -> None:
    data = work / "sqlite" / "data"
    subprocess.run([args.bin, "migrate", "--data-dir", str(data)], check=True, capture_output=True)
    path = data / "bsocial.db"
    con = sqlite3.connect(path)
    t0 = time.monotonic()
    con.executemany(
        "INSERT INTO users (id, username, email, first_name, last_name, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'x', 0)",
        ((i + 1, f"user_{i:07d}", f"user_{i:07d}@example.com", FIRST[i % 10][0],
          LAST[(i // 10) % 10][0]) for i in range(args.users)))
    con.executemany("INSERT INTO user_search_keys (search_key, user_id) VALUES (?, ?)",
                    ((k, i + 1) for i in range(args.users) for k in keys_of(i)))
    con.execute("UPDATE search_keys_backfill SET done_up_to = ?", (args.users,))
    con.commit()
    con.execute("ANALYZE")
    print(f"\n== SQLite, {args.users:,} users (inserted in {time.monotonic() - t0:.1f} s)")
    for prefix in PREFIXES:
        for label, sql in (("range ", RANGE_SQL.format(lo=lit(prefix), hi=lit(upper(prefix)))),
                           ("substr", SUBSTR_SQL.format(n=len(prefix), lo=lit(prefix)))):
            plan = "; ".join(r[-1] for r in con.execute("EXPLAIN QUERY PLAN " + sql))
            reps = args.repeat if label == "range " else max(3, args.repeat // 20)
            ms = []
            for _ in range(reps):
                t = time.perf_counter()
                con.execute(sql).fetchall()
                ms.append((time.perf_counter() - t) * 1000)
            print(f"  SQL {label} q={prefix:<10} p50 {pct(ms, 50):9.3f} ms  "
                  f"max {max(ms):9.3f} ms  ({plan})")
    plan = "; ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + people_search_sql("ostergaard")))
    print(f"  people search plan (q=ostergaard): {plan}")
    assert "SEARCH k USING PRIMARY KEY (search_key>? AND search_key<?)" in plan and "SCAN" not in plan, plan
    con.close()
    serve_and_measure(args, data, None)


def run_postgresql(args, work: Path) -> None:
    from bsocial_testkit.stack import Stack

    stack = Stack(work / "stack")
    try:
        stack.start_postgres(port=None)
        url = stack.create_database("bsocial_search_bench")
        data = work / "pg" / "data"
        subprocess.run([args.bin, "migrate", "--data-dir", str(data), "--db", url], check=True,
                       capture_output=True)

        def psql(sql: str) -> str:
            return subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                  check=True, capture_output=True, text=True).stdout

        t0 = time.monotonic()
        firsts = ",".join(lit(f) for f, _ in FIRST)
        lasts = ",".join(lit(n) for n, _ in LAST)
        psql("INSERT INTO users (id, username, email, first_name, last_name, password_hash,"
             " created_at) SELECT g + 1, 'user_' || lpad(g::text, 7, '0'),"
             " 'user_' || lpad(g::text, 7, '0') || '@example.com',"
             f" (ARRAY[{firsts}])[g % 10 + 1], (ARRAY[{lasts}])[(g / 10) % 10 + 1], 'x', 0"
             f" FROM generate_series(0, {args.users - 1}) g")
        folded = ",".join(f"({lit(n)}, {lit(f)})" for n, f in FIRST + LAST)
        psql(f"WITH m(name, folded) AS (VALUES {folded})"
             " INSERT INTO user_search_keys (search_key, user_id)"
             " SELECT DISTINCT t, u.id FROM users u JOIN m f ON f.name = u.first_name"
             " JOIN m l ON l.name = u.last_name,"
             " unnest(array_prepend(u.username::text,"
             " string_to_array(f.folded || ' ' || l.folded, ' '))) t ON CONFLICT DO NOTHING")
        psql(f"UPDATE search_keys_backfill SET done_up_to = {args.users}")
        psql(f"SELECT setval(pg_get_serial_sequence('users', 'id'), {args.users})")
        psql("VACUUM ANALYZE users")
        psql("VACUUM ANALYZE user_search_keys")
        collation = psql("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        print(f"\n== PostgreSQL, {args.users:,} users (inserted in {time.monotonic() - t0:.1f} s;"
              f" database collation {collation.strip()}, users.username COLLATE \"C\")")
        for prefix in PREFIXES:
            for label, sql in (("range ", RANGE_SQL.format(lo=lit(prefix), hi=lit(upper(prefix)))),
                               ("substr", SUBSTR_SQL.format(n=len(prefix), lo=lit(prefix)))):
                reps = max(3, args.repeat // 20)
                best = float("inf")
                plan = ""
                for _ in range(reps):
                    out = psql("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
                    m = re.search(r"Execution Time: ([\d.]+) ms", out)
                    best = min(best, float(m.group(1)))
                    plan = "; ".join(ln.strip() for ln in out.splitlines()
                                     if "Scan" in ln or "Cond" in ln or "Filter" in ln)
                print(f"  SQL {label} q={prefix:<10} best {best:9.3f} ms  ({plan})")
        out = psql("EXPLAIN (ANALYZE, COSTS OFF) " + people_search_sql("ostergaard"))
        print("  people search plan (q=ostergaard):\n    " + "\n    ".join(out.splitlines()))
        assert "Seq Scan" not in out and "Index Cond: ((search_key >= 'ostergaard'" in out, out
        serve_and_measure(args, data, url)
    finally:
        stack.stop_all()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/release/bsocial")
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--dbs", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsocial-search-bench-"))
    for db in args.dbs.split(","):
        {"sqlite": run_sqlite, "postgresql": run_postgresql}[db.strip()](args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
