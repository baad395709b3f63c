#!/usr/bin/env python3
"""Include rules of the C++ modules (docs/architecture.md).

Every module directory src/bsocial/<module>/ has a README.md with a line

    May include: core, store, events

naming the modules whose headers it may include ("May include: nothing" for none). A
temporary allowance, to be removed at a merge, is a line of its own:

    May include (TODO <why>): api

This script reads every `#include "bsocial/<module>/..."` of src/bsocial/**/*.{hpp,cpp}
and fails (exit 1) on each include the module's README does not allow, on a README
without a `May include:` line, and on a rule naming a module that does not exist.
apps/ and main.cpp sit above the modules and may include any of them.

    tools/check_includes.py [src/bsocial [docs/architecture.md]]
        check the tree (the `include_rules` ctest); with the architecture page, also that
        its module table ("| `module` | owns | may include |") says what the READMEs say
    tools/check_includes.py --self-test       prove that a forbidden include is caught
"""

from __future__ import annotations

import pathlib
import re
import sys
import tempfile

TABLE_ROW = re.compile(r"^\|\s*`([A-Za-z0-9_]+)`\s*\|.*\|\s*([^|]+?)\s*\|\s*$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"bsocial/([A-Za-z0-9_]+)/')
RULE = re.compile(r"^May include(?: \((TODO[^)]*)\))?:\s*(.*?)\s*$")


def read_rules(module_dir: pathlib.Path) -> tuple[set[str], dict[str, str], list[str]]:
    """(allowed modules, temporary allowances {module: why}, problems) of one module."""
    readme = module_dir / "README.md"
    if not readme.is_file():
        return set(), {}, [f"{module_dir.name}: no README.md"]
    allowed: set[str] = set()
    todo: dict[str, str] = {}
    found = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = RULE.match(line.strip())
        if not m:
            continue
        names = [n.strip() for n in m.group(2).split(",") if n.strip()]
        if names == ["nothing"]:
            names = []
        if m.group(1):
            todo.update({n: m.group(1) for n in names})
        else:
            found = True
            allowed.update(names)
    problems = [] if found else [f"{readme}: no 'May include: ...' line"]
    return allowed, todo, problems


def check(root: pathlib.Path) -> list[str]:
    modules = sorted(p for p in root.iterdir() if p.is_dir())
    names = {p.name for p in modules}
    problems: list[str] = []
    for module_dir in modules:
        allowed, todo, found = read_rules(module_dir)
        problems += found
        for name in sorted((allowed | set(todo)) - names):
            problems.append(f"{module_dir.name}/README.md allows '{name}': no such module")
        for why_module, why in sorted(todo.items()):
            print(f"note: {module_dir.name} may include {why_module} for now ({why})")
        for source in sorted(module_dir.rglob("*")):
            if source.suffix not in (".hpp", ".cpp"):
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if target == module_dir.name or target in allowed or target in todo:
                    continue
                problems.append(
                    f"{source.relative_to(root.parent)}:{number}: {module_dir.name} includes "
                    f"{target}, which {module_dir.name}/README.md does not allow "
                    f"(May include: {', '.join(sorted(allowed)) or 'nothing'})")
    return problems


def check_doc(root: pathlib.Path, doc: pathlib.Path) -> list[str]:
    """The module table of `doc` against the READMEs' `May include:` lines (TODO lines and
    parenthesised notes in the table are not compared)."""
    table: dict[str, set[str]] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = TABLE_ROW.match(line)
        if m and m.group(1) != "module":
            names = re.sub(r"\([^)]*\)", "", m.group(2))
            table[m.group(1)] = {n.strip() for n in names.split(",") if n.strip()} - {"nothing"}
    problems = []
    for module_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        allowed, _, _ = read_rules(module_dir)
        if module_dir.name not in table:
            problems.append(f"{doc}: the module table has no row for {module_dir.name}")
        elif table[module_dir.name] != allowed:
            problems.append(
                f"{doc}: {module_dir.name} may include {', '.join(sorted(table[module_dir.name]))}"
                f" there, but {', '.join(sorted(allowed)) or 'nothing'} in its README")
    return problems


def self_test() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "bsocial"
        for name, rule, include in (("core", "May include: nothing", None),
                                    ("store", "May include: core", "core/a.hpp"),
                                    ("web", "May include: core", "store/b.hpp")):
            (root / name).mkdir(parents=True)
            (root / name / "README.md").write_text(f"# {name}\n{rule}\n")
            body = f'#include "bsocial/{include}"\n' if include else ""
            (root / name / "x.cpp").write_text(body)
        problems = check(root)
        if len(problems) != 1 or "web includes store" not in problems[0]:
            print(f"self-test FAILED: expected one problem (web includes store), got {problems}")
            return 1
        (root / "web" / "README.md").write_text("# web\nMay include (TODO until x): store\n")
        problems = check(root)
        if problems != [str(root / "web" / "README.md") + ": no 'May include: ...' line"]:
            print(f"self-test FAILED: a TODO line alone is no rule, got {problems}")
            return 1
    print("self-test passed: a forbidden include and a missing rule are both caught")
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(argv[1] if len(argv) > 1 else "src/bsocial").resolve()
    problems = check(root)
    if len(argv) > 2:
        problems += check_doc(root, pathlib.Path(argv[2]))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include rule violation(s); the rules: each module's README.md")
        return 1
    count = sum(1 for p in root.iterdir() if p.is_dir())
    print(f"include rules hold for {count} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
