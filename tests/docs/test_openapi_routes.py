"""docs/openapi.yaml documents exactly the routes the server registers.

The server's routes are read from every C++ route table under src/ (add / add_websocket
calls), so a route added without its documentation, or documented but never served, fails
here."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ROUTE_FILES = sorted((REPO / "src").rglob("*.cpp"))
ADD_RE = re.compile(r'\badd\(\s*"([A-Z]+)",\s*"([^"]+)"')
WS_RE = re.compile(r'\badd_websocket\(\s*"([^"]+)"')
METHODS = {"get", "put", "post", "delete", "patch"}


def served_routes() -> set[tuple[str, str]]:
    routes = set()
    for f in ROUTE_FILES:
        text = f.read_text()
        routes |= {(m, p) for m, p in ADD_RE.findall(text)}
        routes |= {("GET", p) for p in WS_RE.findall(text)}
    return routes


def documented_routes() -> set[tuple[str, str]]:
    spec = yaml.safe_load((REPO / "docs/openapi.yaml").read_text())
    return {(method.upper(), path)
            for path, item in spec["paths"].items()
            for method in item if method in METHODS}


def test_every_served_route_is_documented_and_every_documented_route_is_served():
    served, documented = served_routes(), documented_routes()
    assert len(served) >= 19, "the route tables were not found or not parsed"
    assert served - documented == set(), "served but not in docs/openapi.yaml"
    assert documented - served == set(), "documented but not served"
