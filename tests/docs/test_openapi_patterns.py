"""The long patterns of docs/openapi.yaml are those tools/openapi/patterns.py builds from
the server's rules, and they accept what the server issues and refuses what it refuses
(the same rules written once more here, in Python, over random and edge values)."""
from __future__ import annotations

import base64
import random
import re
import string
from pathlib import Path

import pytest
import yaml

from patterns import PATTERNS  # tools/openapi/patterns.py (pytest.ini: pythonpath)

REPO = Path(__file__).resolve().parents[2]

SPEC = yaml.safe_load((REPO / "docs/openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
REGISTER = SCHEMAS["RegisterUserRequest"]["properties"]
IN_DOCUMENT = {
    "TimeCursor": SCHEMAS["TimeCursor"]["pattern"],
    "NameCursor": SCHEMAS["NameCursor"]["pattern"],
    "PostContent": SCHEMAS["PostContent"]["pattern"],
    "CommentContent": SCHEMAS["CommentContent"]["pattern"],
    "PersonName": SCHEMAS["PersonName"]["pattern"],
    "Email": REGISTER["email"]["pattern"],
    "UsernameField": REGISTER["username"]["pattern"],
    "Password": REGISTER["password"]["pattern"],
}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def compiled(name: str) -> re.Pattern:
    return re.compile(PATTERNS[name])


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_document_carries_the_built_pattern(name):
    assert IN_DOCUMENT[name] == PATTERNS[name], (
        f"docs/openapi.yaml's {name} pattern is stale: python3 tools/openapi/patterns.py")


def test_cursor_examples_are_cursors_the_server_issues():
    assert compiled("TimeCursor").search(SPEC["components"]["parameters"]["TimeCursor"]["example"])
    assert compiled("NameCursor").search(SPEC["components"]["parameters"]["NameCursor"]["example"])


def test_every_issued_cursor_matches_and_nothing_else():
    rnd = random.Random(23)
    time_re, name_re = compiled("TimeCursor"), compiled("NameCursor")
    for _ in range(5000):
        at = rnd.randrange(10 ** rnd.randint(1, 18))
        post_id = rnd.randrange(1, 10 ** rnd.randint(1, 18))
        assert time_re.search(b64(f"t1:{at}:{post_id}")), (at, post_id)
        name = "".join(rnd.choice(string.ascii_lowercase + string.digits + "_")
                       for _ in range(rnd.randint(3, 30)))
        assert name_re.search(b64(f"n1:{name}")), name
    # What social/cursor.cpp refuses (or never issues).
    for bad in ["t1:5:0", "t1:5:07", "t1::5", "t1:5", "t1:-1:5", "t1:1:2:3", "n1:5:5"]:
        assert not time_re.search(b64(bad)), bad
    for bad in ["n1:ab", "n1:Alice", "n1:" + "a" * 31, "n1:a-b", "n1:\u00e9t\u00e9", "t1:1:2"]:
        assert not name_re.search(b64(bad)), bad
    assert not time_re.search(b64("t1:5:5") + "=")  # padded: never issued, refused


def test_texts_follow_check_text():
    post = compiled("PostContent")
    for ok in ["a", "  Down the rabbit hole.\n", "line\nline\ttab", "x" * 1000,
               " " * 50 + "x" * 1000 + "\n" * 5, "caf\u00e9 \U0001F600", "a\u200db"]:
        assert post.search(ok), ok
    for bad in ["", "   ", "\n\t", "x" * 1001, "a\u0000b", "a\u0007", "a\u000bb", "a\u007f",
                "a\u009bb", "a\u2028b", "a\u202eb", "\u3164", "a\u200bb", "a\U000E0041b",
                "a\U0001D173b"]:
        assert not post.search(bad), repr(bad)
    name = compiled("PersonName")
    assert name.search(" Alice ") and name.search("a" * 100) and name.search("Zo\u00eb")
    for bad in ["", " ", "a" * 101, "Al\tice", "Al\nice", "\u115f", "a\u2029"]:
        assert not name.search(bad), repr(bad)


def test_registration_fields_follow_the_checks():
    email, user, pw = compiled("Email"), compiled("UsernameField"), compiled("Password")
    for ok in ["a@b.cd", " Alice@Example.org\t", "a.b+c!#$%&'*/=?^_`{|}~-@x-y.z.org"]:
        assert email.search(ok), ok
    for bad in ["a@b", "a@.b.c", "a@b..c", "a@b.c.", "@b.cd", "a@b@c.d", "a b@c.d",
                "a\\b@c.d", "a<b@c.d", "x" * 65 + "@b.cd", "\u00e9@b.cd"]:
        assert not email.search(bad), bad
    assert user.search(" Alice_1 ") and not user.search("al") and not user.search("a" * 31)
    assert not user.search("al ice") and not user.search("\u00e9lise")
    assert pw.search("   x    ") and not pw.search(" \t\n       ")


def test_what_the_cursor_patterns_generate_decodes_to_a_cursor():
    # The other direction, as schemathesis draws from the patterns (hypothesis comes with it).
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    def text_of(cursor: str) -> str:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()

    @hypothesis.settings(max_examples=300, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(st.from_regex(PATTERNS["TimeCursor"], fullmatch=True),
                      st.from_regex(PATTERNS["NameCursor"], fullmatch=True))
    def check(time_cursor: str, name_cursor: str):
        assert re.fullmatch(r"t1:[0-9]{1,18}:[1-9][0-9]{0,17}", text_of(time_cursor))
        assert b64(text_of(time_cursor)) == time_cursor
        assert re.fullmatch(r"n1:[a-z0-9_]{3,30}", text_of(name_cursor))
        assert b64(text_of(name_cursor)) == name_cursor

    check()
