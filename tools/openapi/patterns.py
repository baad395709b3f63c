"""The long `pattern`s of docs/openapi.yaml, built from the server's rules so that the
document is exactly as strict as the server (issue 23). `python3 tools/openapi/patterns.py`
prints them; tests/fuzz/test_openapi_patterns.py fails when the document differs.

- Cursors: base64url (no padding) of what social/cursor.cpp encodes: `t1:<created_at ms>:<id>`
  (feed, a user's posts, comments, notifications) and `n1:<username>` (user search, followers,
  following). A regular expression over base64 is built 3 bytes (4 characters) at a time.
- Texts and names: social/validation.cpp `check_text` / `check_name`: trimmed of
  ` \\t\\n\\r\\v\\f`, then 1..N characters without C0 controls (texts keep tab, newline and
  CR), DEL, C1 controls, U+2028/U+2029, Unicode format characters (Cf; U+200C/U+200D are
  allowed) and the Hangul fillers.
"""
from __future__ import annotations

import string

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _cls(values) -> str:
    chars = sorted({B64[v] for v in values})
    if len(chars) == 1:
        return chars[0]
    out, i = [], 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        out.append(f"{chars[i]}-{chars[j]}" if j - i >= 2 else "".join(chars[i:j + 1]))
        i = j + 1
    assert "-" not in chars and "_" not in chars  # would need escaping in a class
    return "[" + "".join(out) + "]"


def _alt(parts) -> str:
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _first_two(first, high_nibble: int) -> str:
    """Characters 1-2 of a group: byte 1 in `first`, byte 2's high nibble given."""
    by_char1: dict[int, set[int]] = {}
    for b in first:
        by_char1.setdefault(b >> 2, set()).add(((b & 3) << 4) | high_nibble)
    by_set: dict[frozenset, list[int]] = {}
    for c1, c2 in by_char1.items():
        by_set.setdefault(frozenset(c2), []).append(c1)
    return _alt([_cls(c1) + _cls(c2) for c2, c1 in by_set.items()])


def _group(b1s, b2s, b3s) -> str:
    """Three bytes, each from its set, as base64url."""
    alts = []
    for h in sorted({b >> 4 for b in b2s}):
        lows = [b & 15 for b in b2s if b >> 4 == h]
        by_top: dict[int, set[int]] = {}
        for b in b3s:
            by_top.setdefault(b >> 6, set()).add(b & 63)
        rest = [_cls([(lo << 2) | top for lo in lows]) + _cls(c4)
                for top, c4 in sorted(by_top.items())]
        alts.append(_first_two(b1s, h) + _alt(rest))
    return _alt(alts)


def _tail1(b1s) -> str:
    """One last byte: two characters, the second's low 4 bits zero."""
    by_char1: dict[int, set[int]] = {}
    for b in b1s:
        by_char1.setdefault(b >> 2, set()).add((b & 3) << 4)
    by_set: dict[frozenset, list[int]] = {}
    for c1, c2 in by_char1.items():
        by_set.setdefault(frozenset(c2), []).append(c1)
    return _alt([_cls(c1) + _cls(c2) for c2, c1 in by_set.items()])


def _tail2(b1s, b2s) -> str:
    """Two last bytes: three characters, the third's low 2 bits zero."""
    return _alt([_first_two(b1s, h) + _cls([(b & 15) << 2 for b in b2s if b >> 4 == h])
                 for h in sorted({b >> 4 for b in b2s})])


def _bytes(chars: str) -> list[int]:
    return [ord(c) for c in chars]


def name_cursor() -> str:
    """`n1:` + a username of 3..30 of [a-z0-9_] (`n1:` is one group: `bjE6`)."""
    name = _bytes(string.ascii_lowercase + string.digits + "_")
    g = _group(name, name, name)
    return (f"^bjE6(?:(?:{g}){{1,10}}|(?:{g}){{1,9}}"
            f"(?:{_tail1(name)}|{_tail2(name, name)}))$")


def time_cursor() -> str:
    """`t1:` + 1..18 digits + `:` + an id of 1..18 digits without a leading zero (what
    encode_cursor writes for any id below 10^18). Which
    group holds the colon depends on the length of the first number modulo 3."""
    d, nz, colon = _bytes(string.digits), _bytes("123456789"), _bytes(":")
    g = _group(d, d, d)
    t1, t2 = _tail1(d), _tail2(d, d)
    end = f"(?:{t1}|{t2})?"
    # The id after the colon's group: 18 digits at the most, so it fits an int64.
    colon_first = (f"(?:{g}){{1,6}}(?:{_group(colon, nz, d)}(?:(?:{g}){{0,4}}{end}|(?:{g}){{5}}{t1}?)"
                   f"|{_tail2(colon, nz)})")
    colon_second = f"(?:{g}){{0,5}}{_group(d, colon, nz)}(?:{g}){{0,5}}{end}"
    colon_third = (f"(?:{g}){{0,5}}{_group(d, d, colon)}"
                   f"(?:{_group(nz, d, d)}(?:(?:{g}){{0,4}}{end}|(?:{g}){{5}})"
                   f"|{_tail1(nz)}|{_tail2(nz, d)})")
    return f"^dDE6(?:{colon_first}|{colon_second}|{colon_third})$"


_TRIMMED = r" \t\n\r\u000B\u000C"
_REFUSED = (r"\u007F-\u009F\u2028\u2029"  # DEL, C1, line and paragraph separators
            # Cf (format) characters but U+200C/U+200D, then the Hangul fillers
            r"\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B\u200E\u200F"
            r"\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\u115F\u1160\u3164\uFFA0"
            # Outside the BMP ECMA-262 (`\u{...}`, u flag) and Python (`\U...`) share no escape:
            # the characters themselves, which the YAML file spells as `\U` escapes.
            "\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A"
            "\U000E0001\U000E0020-\U000E007F")


def trimmed_text(max_chars: int, newlines: bool) -> str:
    c0 = r"\u0000-\u0008\u000B\u000C\u000E-\u001F" if newlines else r"\u0000-\u001F"
    inner = f"[^{c0}{_REFUSED}]"
    edge = f"[^{c0}{_REFUSED} \\t\\n\\r]" if newlines else f"[^{c0}{_REFUSED} ]"
    return f"^[{_TRIMMED}]*{edge}(?:{inner}{{0,{max_chars - 2}}}{edge})?[{_TRIMMED}]*$"


def _ascii_class(chars: str) -> str:
    """A character class of printable ASCII `chars`, as ranges."""
    codes = sorted(ord(c) for c in chars)
    out, i = [], 0
    esc = lambda c: "\\" + chr(c) if chr(c) in "\\]-^[" else chr(c)
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(f"{esc(codes[i])}-{esc(codes[j])}" if j - i >= 2
                   else "".join(esc(c) for c in codes[i:j + 1]))
        i = j + 1
    return "[" + "".join(out) + "]"


def email() -> str:
    """social/validation.cpp `check_email`: trimmed; printable ASCII but `<>",;\\`; one `@`
    after 1..64 characters; a domain of dot-separated non-empty labels, at least two."""
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    local = _ascii_class("".join(c for c in printable if c not in '<>",;\\@'))
    label = _ascii_class("".join(c for c in printable if c not in '<>",;\\@.'))
    return f"^[{_TRIMMED}]*{local}{{1,64}}@{label}+(?:\\.{label}+)+[{_TRIMMED}]*$"


PATTERNS = {
    "TimeCursor": time_cursor(),
    "NameCursor": name_cursor(),
    "PostContent": trimmed_text(1000, True),
    "CommentContent": trimmed_text(500, True),
    "PersonName": trimmed_text(100, False),
    "Email": email(),
    "UsernameField": f"^[{_TRIMMED}]*[A-Za-z0-9_]{{3,30}}[{_TRIMMED}]*$",
    "Password": f"[^{_TRIMMED}]",
}

def yaml_string(pattern: str) -> str:
    """`pattern` as a double-quoted YAML scalar: the regular expression's backslashes
    doubled, characters outside ASCII as YAML escapes (the file stays plain ASCII)."""
    out = []
    for ch in pattern:
        c = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif c > 0xFFFF:
            out.append(f"\\U{c:08X}")
        elif c > 0x7E or c < 0x20:
            out.append(f"\\u{c:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


if __name__ == "__main__":
    for name, pattern in PATTERNS.items():
        print(f"{name}: {yaml_string(pattern)}")
