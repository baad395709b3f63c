#!/usr/bin/env python3
"""README.md's settings table is generated from the modules' declarations.

`bsocial settings --markdown` renders every setting each subcommand composes
(src/apps/settings.hpp, core/settings.hpp); README.md holds that output between

    <!-- settings:begin (generated: tools/check_settings_table.py --write) -->
    <!-- settings:end -->

    tools/check_settings_table.py BSOCIAL_BIN README.md          fail (exit 1) when stale
    tools/check_settings_table.py BSOCIAL_BIN README.md --write  rewrite the table
"""

from __future__ import annotations

import difflib
import pathlib
import re
import subprocess
import sys

BEGIN = "<!-- settings:begin (generated: tools/check_settings_table.py --write) -->"
END = "<!-- settings:end -->"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--write"):
        print(__doc__, file=sys.stderr)
        return 2
    binary, readme = argv[0], pathlib.Path(argv[1])
    table = subprocess.run([binary, "settings", "--markdown"], check=True, capture_output=True,
                           text=True, env={}).stdout
    text = readme.read_text(encoding="utf-8")
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    if not m:
        print(f"{readme}: no {BEGIN} ... {END} markers", file=sys.stderr)
        return 1
    if m.group(1) == table:
        return 0
    if len(argv) == 3:
        readme.write_text(text[:m.start(1)] + table + text[m.end(1):], encoding="utf-8")
        print(f"{readme}: settings table rewritten")
        return 0
    sys.stdout.writelines(difflib.unified_diff(m.group(1).splitlines(True), table.splitlines(True),
                                               f"{readme} (settings table)",
                                               "bsocial settings --markdown"))
    print(f"\n{readme}'s settings table is stale: run tools/check_settings_table.py "
          f"{binary} {readme} --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
