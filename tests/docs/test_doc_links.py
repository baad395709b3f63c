"""Every relative link in README.md, docs/*.md and the READMEs of the modules (every
README.md git tracks) points to a file or folder the repository tracks: not to one outside
it (../shared/ exists on a developer's machine only), nor to a build product."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# [text](target "title") and reference definitions `[name]: target`; not inside code spans.
INLINE_RE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
CODE_RE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
EXTERNAL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


def tracked_files(pattern: str | None = None) -> list[str]:
    return subprocess.run(["git", "ls-files", *([pattern] if pattern else [])], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout.split()


def tracked_paths() -> set[Path]:
    """Tracked files and the folders that hold them."""
    paths = set()
    for f in tracked_files():
        p = REPO / f
        paths.add(p)
        paths.update(p.parents)
    return paths


def documents() -> list[Path]:
    tracked = tracked_files("*.md")
    picked = {p for p in tracked
              if p == "README.md" or Path(p).name == "README.md"
              or (p.startswith("docs/") and p.count("/") == 1)}
    return [REPO / p for p in sorted(picked)]


def relative_links(text: str) -> list[str]:
    text = CODE_RE.sub("", text)
    targets = INLINE_RE.findall(text) + REFERENCE_RE.findall(text)
    return [t for t in targets if not EXTERNAL_RE.match(t)]


def broken_links(doc: Path, known: set[Path]) -> list[str]:
    broken = []
    for target in relative_links(doc.read_text()):
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (REPO / path.lstrip("/")) if path.startswith("/") else doc.parent / path
        if Path(os.path.normpath(resolved)) not in known:
            broken.append(target)
    return broken


KNOWN = tracked_paths()


def test_the_documents_are_found():
    names = {str(p.relative_to(REPO)) for p in documents()}
    assert {"README.md", "docs/architecture.md", "src/bsocial/api/README.md"} <= names


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_to_files(doc: Path):
    assert broken_links(doc, KNOWN) == [], f"{doc.relative_to(REPO)} links to missing files"


def test_a_broken_link_is_seen(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text("[ok](README.md) [here](./there.md#a) [dir](.) [gone](missing.md#x) `[code](nope.md)` [web](https://x.org)\n"
                   "[ref]: ./also-missing.md\n")
    (tmp_path / "there.md").write_text("")
    known = {doc, tmp_path / "there.md", tmp_path}
    assert broken_links(doc, known) == ["missing.md#x", "./also-missing.md"]
    assert broken_links(tmp_path / "there.md", known) == []
