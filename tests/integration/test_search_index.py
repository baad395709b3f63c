"""People search reads a range of the username index (issue 24, item 4), on both databases.

EXPLAIN of the very statement the server runs (read from src/bsocial/social/sql.hpp, its
one definition) must show an index range on users.username, not a scan: before, the
`substr(username, 1, n) = :prefix` form made every search read every username (SQLite:
"SCAN u USING INDEX", PostgreSQL: "Seq Scan" / a full index scan without a condition).
PostgreSQL gets 20,000 users and ANALYZE first, so its planner chooses by real costs.
The results: exactly the names that start with the prefix, in byte order, paged.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bsocial_testkit.http import Client
from bsocial_testkit.paths import REPO

SQL_HPP = REPO / "src" / "bsocial" / "social" / "sql.hpp"


def search_statement() -> str:
    """search_page_sql as the server prepares it: its string literals joined, the column
    macro expanded."""
    text = SQL_HPP.read_text()
    m = re.search(r"search_page_sql\s*=(.*?);", text, re.S)
    assert m, "search_page_sql not found in social/sql.hpp"
    body = m.group(1)
    cols = re.search(r"#define BSOCIAL_USER_COLUMNS((?:.*\\\n)*.*)", text)
    assert cols, "BSOCIAL_USER_COLUMNS not found"
    columns = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', cols.group(1)))
    body = body.replace("BSOCIAL_USER_COLUMNS", f'"{columns}"')
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))


def bind(sql: str, values: dict) -> str:
    """Literals for the placeholders `sql` has (names of today's statement and of the
    substr() one before it, so the test reads the plan of either)."""
    for name, v in values.items():
        lit = str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
        sql = re.sub(rf":{name}\b", lit, sql)
    assert not re.search(r"(?<!:):[a-z_]+", sql), f"unbound placeholder in {sql}"
    return sql


def test_search_is_an_index_range_not_a_scan(server, client):
    db = server.db
    sql = bind(search_statement(), {"from": "zzzz", "to": "zzz{", "limit": 21,
                                    "prefix_length": 4, "prefix": "zzzz", "after": ""})
    if db.pg_url:
        db.execute_admin("", (
            "INSERT INTO users (username, email, first_name, last_name, password_hash,"
            " created_at) SELECT 'explain_' || g, 'explain_' || g || '@example.com', 'E', 'X',"
            " 'x', 0 FROM generate_series(1, 20000) g; ANALYZE users"))
        plan = "\n".join(r[0] for r in db.rows("EXPLAIN " + sql))
        print("\n" + plan)
        assert "Seq Scan" not in plan, plan
        assert re.search(r"Index (Only )?Scan using \w+ on users", plan), plan
        cond = re.search(r"Index Cond: \((.*)\)", plan)
        assert cond and ">=" in cond.group(1) and "<" in cond.group(1), plan
        assert "username" in cond.group(1), plan
    else:
        plan = "\n".join(str(r[-1]) for r in db.rows("EXPLAIN QUERY PLAN " + sql))
        print("\n" + plan)
        assert re.search(r"SEARCH u USING INDEX \w+ \(username>\? AND username<\?\)", plan), plan
        assert "SCAN" not in plan, plan


def test_search_returns_the_names_with_the_prefix_in_byte_order_paged(client):
    base = "q" + client.new_user().username[-6:] + "m"  # fresh names for this run
    names = [f"{base}_a", f"{base}_b", f"{base}z", f"{base}zz", f"{base}0", f"{base}9x",
             f"{base}_"]
    for n in names:
        client.new_user(username=n)
    viewer = client.new_user()
    # just outside the range on each side: "m" - 1 and "m" + 1 in place of the last "m"
    client.new_user(username=base[:-1] + "lzz")
    client.new_user(username=base[:-1] + "n")

    def search(q: str) -> list[str]:
        return [u["username"] for u in
                client.list_all(f"/api/v1/users?q={quote(q)}", viewer.token, limit=2)]

    assert search(base) == sorted(names), "every name with the prefix, in byte order"
    assert search(base.upper() + "_") == sorted(n for n in names if n.startswith(base + "_"))
    assert search(base + "z") == [f"{base}z", f"{base}zz"]
    assert search(base + "zzz") == []
    # Since issue 28 a search is words (tests/integration/test_people.py): punctuation
    # separates them, so '%' is no wildcard (never LIKE) but a separator, and "é" is "e".
    assert search(base + "%") == sorted(names)
    assert search(base.upper() + "é") == []
