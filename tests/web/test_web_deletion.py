"""Deleting in the browser (issue 27): tests/web/deletion.mjs (Node + playwright-core +
Debian's Chromium) against `bsocial serve --static-dir web/dist` on SQLite. Only what I
wrote has a Delete action; it asks first (Cancel keeps it); a deleted comment leaves the
list and the count; a deleted post says so in place and is gone from both people's feeds
and the profile after a reload. Needs what test_web_e2e.py needs (web/dist, web/node_modules,
/usr/bin/chromium); no Kafka. Screenshots in the test's tmp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bsocial_testkit.server import ServerProcess

from test_web_e2e import DIST, _preconditions

DELETION = Path(__file__).resolve().parent / "deletion.mjs"


def test_delete_my_post_and_my_comment_in_the_browser(tmp_path):
    tools = _preconditions()
    api = ServerProcess(workdir=tmp_path / "api", extra_args=["--static-dir", str(DIST)],
                        env_overrides={"BSOCIAL_LOGIN_WINDOW_SECONDS": "900"}).start()
    shots = tmp_path / "screenshots"
    try:
        env = dict(os.environ, BSOCIAL_WEB_URL=api.base_url, BSOCIAL_SCREENSHOT_DIR=str(shots),
                   CHROMIUM=tools["chromium"])
        try:
            r = subprocess.run([tools["node"], str(DELETION)], env=env, capture_output=True,
                               text=True, timeout=180)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"the deletion journey took over 180 s\n{e.stdout or ''}\n{e.stderr or ''}")
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        assert r.returncode == 0, (
            f"deletion journey failed (exit {r.returncode}); screenshots in {shots}\n"
            f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}\n--- api ---\n{api.stderr_tail(30)}")
    finally:
        api.stop(check=False)
