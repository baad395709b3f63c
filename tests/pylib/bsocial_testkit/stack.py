"""stack/bstack.py (PostgreSQL, Kafka, Elasticsearch/OpenSearch for tests and benches).

stack/ is not a package: under pytest, pytest.ini's `pythonpath` holds it; a script run
outside pytest (bench/, tests/compose/compose_test.py) gets bstack and its package
bstacklib from this module, loaded once from their files."""

from __future__ import annotations

import importlib.util
import sys

from .paths import REPO


def _load(name: str, path, package: bool = False):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _load_bstack():
    try:
        import bstack  # type: ignore  (pytest: pythonpath = ... stack)
        return bstack
    except ModuleNotFoundError:
        # by file, with its package bstacklib first (stack/ is not put on sys.path)
        _load("bstacklib", REPO / "stack" / "bstacklib" / "__init__.py", package=True)
        return _load("bstack", REPO / "stack" / "bstack.py")


bstack = _load_bstack()
Stack = bstack.Stack
