"""Browser end-to-end test of the bSocial web app (web/), against the real backend.

The test builds nothing: it expects `web/dist` (npm --prefix web run build) and
`web/node_modules` (npm --prefix web ci, for playwright-core), and Debian's Chromium at
/usr/bin/chromium (apt-get install chromium). It starts, in a pytest tmp dir:

  Kafka       stack/bstack.py (one broker, free ports)
  api         `bsocial serve --port 0 --data-dir D --static-dir <repo>/web/dist`
              (outbox relay on: comment.created reaches Kafka), which serves the app at /
  notifier    `bsocial notifier --port 0 --data-dir D` (same data dir: same database and
              JWT secret), which turns the comment into a notification

then runs tests/web/journey.mjs (Node + playwright-core + Chromium) against the api's
origin (and proxy_journey.mjs through the project's nginx conf in front of it, see
test_browser_through_nginx): two people register, log in, follow, post, comment; the notification reaches the
other browser live over the WebSocket; tests/web/a11y.mjs (test_accessibility_through_nginx):
axe-core on every main page and the keyboard checks; test_static_files_gzip: the build's
gzip files, directly and through nginx. Screenshots land in the test's tmp dir
(printed at the end; keep them with `--basetemp DIR`).

Environment: BSOCIAL_BIN (default <repo>/build/debug/bsocial), CHROMIUM (default
/usr/bin/chromium), NODE (default: `node` on PATH).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bsocial_testkit.nginx import NginxProxy
from bsocial_testkit.paths import REPO, binary_path
from bsocial_testkit.server import NotifierProcess, ServerProcess
from bsocial_testkit.stack import Stack
from bsocial_testkit.waiting import wait_until

WEB = REPO / "web"
DIST = WEB / "dist"
JOURNEY = Path(__file__).resolve().parent / "journey.mjs"
LOGIN_MAX_FAILURES = 3  # small, so the journey can show the 429 screen quickly
READY_TIMEOUT = 90.0
JOURNEY_TIMEOUT = 300.0

PROXY_JOURNEY = Path(__file__).resolve().parent / "proxy_journey.mjs"
LIVE_JOURNEY = Path(__file__).resolve().parent / "live_journey.mjs"
NOTIFICATIONS_JOURNEY = Path(__file__).resolve().parent / "notifications_journey.mjs"
PEOPLE_JOURNEY = Path(__file__).resolve().parent / "people_journey.mjs"
A11Y = Path(__file__).resolve().parent / "a11y.mjs"
ADMIN = "a11y_admin"  # registered and made an administrator (bsocial admin grant) for a11y.mjs


def _preconditions() -> dict[str, str]:
    problems = []
    if not (DIST / "index.html").is_file():
        problems.append(f"{DIST}/index.html is missing: build the web app first "
                        f"(cd web && npm ci && npm run build)")
    if not (WEB / "node_modules" / "playwright-core" / "package.json").is_file():
        problems.append(f"{WEB}/node_modules/playwright-core is missing: cd web && npm ci")
    node = os.environ.get("NODE") or shutil.which("node")
    if not node:
        problems.append("node is not on PATH (Node 20 is needed to drive the browser)")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        problems.append(f"{chromium} is missing: apt-get install -y chromium "
                        f"(Debian's Chromium; the test downloads no browser)")
    binary = binary_path()
    if not os.access(binary, os.X_OK):
        problems.append(f"{binary} is missing: build bSocial first (or set BSOCIAL_BIN)")
    if problems:
        pytest.fail("web e2e test cannot run:\n  - " + "\n  - ".join(problems), pytrace=False)
    return {"node": str(node), "chromium": chromium, "binary": str(binary)}


def _get(url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tools = _preconditions()
    root = tmp_path_factory.mktemp("web-e2e")
    stack = Stack(root / "stack")
    procs = []
    try:
        bootstrap = stack.start_kafka(brokers=1)
        api = ServerProcess(workdir=root / "api", extra_args=["--static-dir", str(DIST)],
                            env_overrides={
                                "BSOCIAL_KAFKA_BROKERS": bootstrap,
                                "BSOCIAL_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
                                "BSOCIAL_LOGIN_WINDOW_SECONDS": "900",
                                # nginx, in test_browser_through_nginx
                                "BSOCIAL_TRUSTED_PROXIES": "127.0.0.1/32",
                            })
        procs.append(api.start())
        notifier = NotifierProcess(api, {"BSOCIAL_KAFKA_BROKERS": bootstrap})
        procs.append(notifier.start())

        def notifier_ready():
            status, _, body = _get(notifier.base_url + "/readyz")
            checks = json.loads(body or b"{}").get("checks") or {}
            return status == 200 and checks.get("kafka") == "ok"

        wait_until(notifier_ready, READY_TIMEOUT, what="the notifier's /readyz (kafka ok)",
                   tolerate=(OSError,))
        wait_until(lambda: _get(api.base_url + "/readyz")[0] == 200, READY_TIMEOUT,
                   what="the api's /readyz", tolerate=(OSError,))
        yield {"root": root, "api": api, "notifier": notifier, "tools": tools}
    finally:
        for p in reversed(procs):
            rc = p.stop(check=False) if isinstance(p, ServerProcess) else p.stop()
            if rc not in (0, None):
                print(f"{p.name} exited with {rc}; stderr tail:\n{p.stderr_tail(30)}")
        stack.stop_kafka()


def test_sources_have_no_html_sinks():
    """The app builds DOM with text nodes only: no HTML-parsing sinks, no eval (XSS, CSP)."""
    sinks = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\s*\(|"
                       r"new\s+Function|setAttribute\(\s*['\"]on|\.style\s*=)")
    found = []
    for f in sorted((WEB / "src").rglob("*")):
        if f.suffix in (".ts", ".js", ".html") and f.is_file():
            for no, line in enumerate(f.read_text().splitlines(), 1):
                if sinks.search(line) and not line.lstrip().startswith(("//", "*", "/*")):
                    found.append(f"{f.relative_to(REPO)}:{no}: {line.strip()}")
    assert not found, "HTML/script sinks in web/src:\n" + "\n".join(found)


def test_built_index_has_nothing_inline():
    """web/dist/index.html works under `script-src 'self'; style-src 'self'`."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST}/index.html is missing: cd web && npm ci && npm run build", pytrace=False)
    html = (DIST / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script in dist/index.html: {tag}"
    assert "<style" not in html and " style=" not in html, "inline style in dist/index.html"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler in dist/index.html"


def test_csp_header_on_index(deployment):
    """`/` is the app's index.html with the strict CSP (security checklist S12)."""
    status, headers, body = _get(deployment["api"].base_url + "/")
    assert status == 200, f"GET / answered {status}: {body[:200]!r}"
    assert b'<div id="toasts"' in body, "GET / is not web/dist/index.html"
    h = {k.lower(): v for k, v in headers.items()}
    csp = h.get("content-security-policy", "")
    for d in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
              "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert d in csp, f"CSP on / lacks {d!r}: {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert h.get("x-content-type-options") == "nosniff"
    assert h.get("content-type", "").startswith("text/html"), h.get("content-type")


def _run_journey(deployment, script: Path, what: str, *, through_nginx: str | None = None,
                 env: dict | None = None, timeout: float = JOURNEY_TIMEOUT) -> None:
    """Runs one browser journey (node tests/web/<script>) against the api, or through
    deploy/nginx/bsocial.conf (`through_nginx`: the proxy's directory under the run's
    root); fails with its output, where the screenshots are and the servers' last lines."""
    shots = deployment["root"] / "screenshots"
    nginx = (NginxProxy(deployment["root"] / through_nginx, deployment["api"].port).start()
             if through_nginx else None)
    try:
        run_env = dict(os.environ)
        run_env.update({"BSOCIAL_WEB_URL": nginx.url if nginx else deployment["api"].base_url,
                        "BSOCIAL_SCREENSHOT_DIR": str(shots),
                        "CHROMIUM": deployment["tools"]["chromium"], **(env or {})})
        try:
            r = subprocess.run([deployment["tools"]["node"], str(script)], env=run_env, cwd=REPO,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"the {what} took over {timeout:.0f} s\n{e.stdout or ''}\n{e.stderr or ''}")
        print(r.stdout)
        print(r.stderr, file=sys.stderr)
        print(f"screenshots: {shots}")
        assert r.returncode == 0, (
            f"{what} failed (exit {r.returncode}); screenshots in {shots}\n"
            f"--- output ---\n{r.stdout[-6000:]}\n--- errors ---\n{r.stderr[-6000:]}\n"
            + (f"--- nginx ---\n{nginx.log_tail()}\n" if nginx else "")
            + f"--- api stderr ---\n{deployment['api'].stderr_tail(30)}\n"
            f"--- notifier stderr ---\n{deployment['notifier'].stderr_tail(30)}")
    finally:
        if nginx:
            nginx.stop()


def test_browser_journey(deployment):
    """Two browsers: register, log in/out, find and follow, post, comment, live notification,
    XSS shown as text, 429 with Retry-After. Screenshots in <tmp>/screenshots."""
    _run_journey(deployment, JOURNEY, "browser journey",
                 env={"BSOCIAL_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES)})


def test_notifications_and_text_journey(deployment):
    """Issue 27: 30 comments on one post are one group ("@omar and 2 others commented on
    '…'"), unread until marked read (server state, live); RTL text laid out right-to-left;
    http(s) links clickable with rel="noopener nofollow ugc", javascript: not; at 390 px the
    author and the time link stay in the viewport; relative times update (fake clock).
    tests/web/notifications_journey.mjs; screenshots in <tmp>/screenshots."""
    _run_journey(deployment, NOTIFICATIONS_JOURNEY, "notifications journey")


def test_people_journey(deployment):
    """Issue 28: suggestions on a new user's empty feed, a search by a last name without
    its accent, follow from the list, the Sessions page with two logins and "log out
    everywhere else" (tests/web/people_journey.mjs)."""
    _run_journey(deployment, PEOPLE_JOURNEY, "people journey")


def test_browser_through_nginx(deployment):
    """The web app through deploy/nginx/bsocial.conf (a real nginx, the api trusting
    127.0.0.1): register, log in with the cookie, post, comment, the socket goes live.
    Before issue 22 every cookie write got 403 forbidden_origin through nginx."""
    _run_journey(deployment, PROXY_JOURNEY, "browser journey through nginx",
                 through_nginx="nginx", timeout=120)


def test_live_journey_through_nginx(deployment):
    """Issue 27, tests/web/live_journey.mjs through deploy/nginx, two people in Chromium:
    the 202-comment post (newest first, own comment on screen at once), live comments, a
    live "new posts" indicator, Back and reload after a deep infinite scroll restore the
    pages and the place, and deletions seen live by the other person."""
    _run_journey(deployment, LIVE_JOURNEY, "live journey", through_nginx="nginx-live",
                 timeout=300)


def _login_page_files(base: str) -> list[str]:
    """`/` and the scripts and stylesheets index.html loads (the login page's weight)."""
    _, _, html = _get(base + "/", headers={"Accept-Encoding": "identity"})
    refs = re.findall(r'(?:src|href)="(/assets/[^"]+\.(?:js|css))"', html.decode())
    assert refs, f"no script or stylesheet in index.html: {html[:300]!r}"
    return ["/", *refs]


@pytest.mark.parametrize("through", ["serve", "nginx"])
def test_static_files_gzip(deployment, through):
    """Issue 28 item 5: the JS and CSS are sent gzipped (the build's .gz files) to a client
    that accepts gzip, identical once decompressed, with Vary and an ETag of their own;
    plain to anyone else; the same through deploy/nginx. Prints the login page's weight."""
    nginx = None
    base = deployment["api"].base_url
    if through == "nginx":
        nginx = NginxProxy(deployment["root"] / "nginx-gzip", deployment["api"].port).start()
        base = nginx.url
    try:
        plain_total = zipped_total = 0
        for path in _login_page_files(base):
            st, plain_h, plain = _get(base + path, headers={"Accept-Encoding": "identity"})
            assert st == 200, (path, st)
            st, gz_h, zipped = _get(base + path, headers={"Accept-Encoding": "gzip, deflate, br"})
            assert st == 200, (path, st)
            ph = {k.lower(): v for k, v in plain_h.items()}
            gh = {k.lower(): v for k, v in gz_h.items()}
            assert "content-encoding" not in ph, (path, ph)
            assert gh.get("content-encoding") == "gzip", (path, gh)
            assert "Accept-Encoding" in gh.get("vary", "") and "Accept-Encoding" in ph.get("vary", ""), (path, gh, ph)
            assert gzip.decompress(zipped) == plain, f"{path}: the gzip body is not the file"
            assert len(zipped) < len(plain), path
            if "content-length" in gh:  # nginx may send it chunked
                assert int(gh["content-length"]) == len(zipped), (path, gh)
            assert ph.get("etag") and gh.get("etag") and ph["etag"] != gh["etag"], (path, ph, gh)
            assert gh.get("content-type") == ph.get("content-type"), path
            plain_total += len(plain)
            zipped_total += len(zipped)
        print(f"login page weight through {through}: {plain_total} B plain -> {zipped_total} B gzip")
        # no Accept-Encoding at all: plain
        js = _login_page_files(base)[1]
        req = urllib.request.Request(base + js)
        req.remove_header("Accept-encoding")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.headers.get("Content-Encoding") is None
    finally:
        if nginx:
            nginx.stop()


def test_accessibility_through_nginx(deployment):
    """Issue 28 items 3 and 4, tests/web/a11y.mjs through deploy/nginx: axe-core finds no
    serious or critical violation on the main pages; the skip link comes first in the Tab
    order, every route change focuses the page's heading, the comment box says its shortcut;
    an administrator who follows nobody reads a post read-only, nobody else can."""
    # An administrator is an account the operator granted (issue 24, item 1): register it,
    # `bsocial admin grant` it, and let a11y.mjs log in with it.
    password = "a11y admin pass " + os.urandom(4).hex()
    req = urllib.request.Request(
        deployment["api"].base_url + "/api/v1/users", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"first_name": "Ada", "last_name": "Admin", "username": ADMIN,
                         "email": f"{ADMIN}@example.com", "password": password,
                         "password_confirmation": password}).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 201
    grant = subprocess.run([deployment["tools"]["binary"], "admin", "grant", ADMIN, "--data-dir",
                            str(deployment["api"].data_dir)], capture_output=True, text=True,
                           timeout=60)
    assert grant.returncode == 0, grant.stderr
    time.sleep(2.5)  # the server reads the roles again after 2 s
    _run_journey(deployment, A11Y, "accessibility journey", through_nginx="nginx-a11y",
                 env={"BSOCIAL_ADMIN": ADMIN, "BSOCIAL_ADMIN_PASSWORD": password}, timeout=240)
