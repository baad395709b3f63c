"""Behind the project's own nginx (deploy/nginx/bsocial.conf, issue 22 items 1 and 3).

A real nginx (bsocial_testkit.nginx) in front of `bsocial serve` with
BSOCIAL_TRUSTED_PROXIES=127.0.0.1/32: nginx reaches serve from 127.0.0.1, the test's
clients reach nginx from other loopback addresses (127.0.0.2, 127.0.0.3, ...).

- a browser's cookie writes and the notification WebSocket through nginx, with the Origin
  a browser sends (http://127.0.0.1:NGINXPORT), are accepted (before: 403 forbidden_origin,
  nginx passed `Host $host` without the port);
- the per-address limits (registrations, failed logins) count each client behind nginx
  apart (before: every client was nginx's address);
- X-Forwarded-For from a client that is not a trusted proxy is ignored (no fresh budget);
- a malformed BSOCIAL_TRUSTED_PROXIES entry stops the start.
"""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from bsocial_testkit.api import assert_error
from bsocial_testkit.http import Client
from bsocial_testkit.nginx import NginxProxy
from bsocial_testkit.paths import binary_path

TRUSTED = {"BSOCIAL_TRUSTED_PROXIES": "127.0.0.1/32"}


class ProxyClient(Client):
    """A client that talks to nginx instead of the server (same checks on every answer)."""

    def __init__(self, server, proxy: NginxProxy, source_ip: str | None = None):
        super().__init__(server, source_ip=source_ip)
        self.proxy = proxy

    @property
    def port(self) -> int:
        return self.proxy.port

    def from_address(self, ip: str) -> "ProxyClient":
        return ProxyClient(self.server, self.proxy, ip)


@pytest.fixture
def proxied(start_server, tmp_path):
    """start_proxied(env) -> (server, nginx) with the server trusting 127.0.0.1."""
    proxies: list[NginxProxy] = []

    def _start(env: dict | None = None):
        srv = start_server(env={**TRUSTED, **(env or {})})
        nginx = NginxProxy(tmp_path / f"nginx{len(proxies)}", srv.port).start()
        proxies.append(nginx)
        return srv, nginx

    yield _start
    for p in proxies:
        p.stop()


def browser_headers(nginx: NginxProxy) -> dict:
    """What Chromium adds to a same-origin fetch() on the page served by nginx."""
    return {"Origin": nginx.origin, "Sec-Fetch-Site": "same-origin"}


def session_cookie(login_response) -> str:
    cookie = login_response.header("Set-Cookie") or ""
    assert cookie.startswith("bsocial_session="), login_response
    return cookie.split(";", 1)[0]


def open_websocket(port: int, path: str, headers: dict, source: str):
    """(status line, socket) of a WebSocket handshake; the caller closes the socket."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(request.encode())
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(1024)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n", 1)[0].decode("latin-1"), s


def websocket_status(port: int, path: str, headers: dict, source: str) -> str:
    """The status line of a WebSocket handshake (the socket is closed right after)."""
    status, s = open_websocket(port, path, headers, source)
    s.close()
    return status


def test_browser_cookie_writes_and_websocket_pass_through_nginx(proxied):
    srv, nginx = proxied()
    c = ProxyClient(srv, nginx, "127.0.0.2")
    hdrs = browser_headers(nginx)
    ada = c.register()
    bob = c.register()
    r = c.login_raw(ada.username, ada.password, headers=hdrs)
    assert r.status == 200, r
    cookie = session_cookie(r)

    r = c.post("/api/v1/posts", {"content": "through the proxy"}, cookie=cookie, headers=hdrs)
    assert r.status == 201, f"a cookie POST through nginx must pass the Origin check: {r!r}"
    post_id = r.json["post"]["id"]
    r = c.post(f"/api/v1/posts/{post_id}/comments", {"content": "and a comment"},
               cookie=cookie, headers=hdrs)
    assert r.status == 201, r
    r = c.put(f"/api/v1/users/me/following/{bob.username}", cookie=cookie, headers=hdrs)
    assert r.status == 204, r
    status = websocket_status(nginx.port, "/api/v1/notifications/stream",
                              {"Cookie": cookie, **hdrs}, "127.0.0.2")
    assert status.startswith("HTTP/1.1 101"), f"WebSocket through nginx: {status}"
    r = c.delete("/api/v1/sessions/current", cookie=cookie, headers=hdrs)
    assert r.status == 204, r
    assert c.get("/api/v1/users/me", cookie=cookie).status == 401

    # The check still bites: another origin, or a cross-site fetch, is refused.
    r2 = c.login_raw(ada.username, ada.password, headers=hdrs)
    cookie = session_cookie(r2)
    for bad in ({"Origin": "http://evil.example"},
                {"Origin": f"http://127.0.0.1:{srv.port}"},  # the port behind nginx
                {"Origin": nginx.origin, "Sec-Fetch-Site": "cross-site"}):
        assert_error(c.post("/api/v1/posts", {"content": "x"}, cookie=cookie, headers=bad),
                     403, "forbidden_origin")
    # X-Forwarded-Host from a client is not believed: nginx sets its own.
    assert_error(c.post("/api/v1/posts", {"content": "x"}, cookie=cookie,
                        headers={"Origin": "http://evil.example",
                                 "X-Forwarded-Host": "evil.example"}),
                 403, "forbidden_origin")


def test_forwarded_host_is_believed_only_from_a_trusted_proxy(start_server):
    """Straight to serve from 127.0.0.2 (not trusted), X-Forwarded-Host/-Proto count for
    nothing; from 127.0.0.1 (trusted) they name the browser's origin exactly."""
    srv = start_server(env=TRUSTED)
    c = Client(srv, source_ip="127.0.0.2")
    u = c.new_user()
    cookie = f"bsocial_session={u.token}"
    forged = {"Origin": "https://app.example", "X-Forwarded-Host": "app.example",
              "X-Forwarded-Proto": "https"}
    assert_error(c.post("/api/v1/posts", {"content": "x"}, cookie=cookie, headers=forged),
                 403, "forbidden_origin")
    trusted = Client(srv, source_ip="127.0.0.1")
    assert trusted.post("/api/v1/posts", {"content": "x"}, cookie=cookie,
                        headers=forged).status == 201
    # the scheme the proxy names is the only one accepted
    assert_error(trusted.post("/api/v1/posts", {"content": "x"}, cookie=cookie,
                              headers={**forged, "Origin": "http://app.example"}),
                 403, "forbidden_origin")


def test_websockets_through_nginx_count_per_forwarded_client(proxied):
    """The per-client connection cap behind nginx: one client's open notification sockets
    do not use up anyone else's (before, they all counted as nginx's address)."""
    srv, nginx = proxied({"BSOCIAL_MAX_CONNECTIONS_PER_CLIENT": "3"})
    hdrs = browser_headers(nginx)
    a = ProxyClient(srv, nginx, "127.0.0.2")
    b = ProxyClient(srv, nginx, "127.0.0.3")
    stream = "/api/v1/notifications/stream"
    cookie_a = f"bsocial_session={a.new_user().token}"
    cookie_b = f"bsocial_session={b.new_user().token}"
    held = []
    try:
        for _ in range(3):
            status, s = open_websocket(nginx.port, stream, {"Cookie": cookie_a, **hdrs},
                                       "127.0.0.2")
            held.append(s)
            assert status.startswith("HTTP/1.1 101"), status
        status = websocket_status(nginx.port, stream, {"Cookie": cookie_a, **hdrs}, "127.0.0.2")
        assert status.startswith("HTTP/1.1 429"), f"client A's 4th socket: {status}"
        status = websocket_status(nginx.port, stream, {"Cookie": cookie_b, **hdrs}, "127.0.0.3")
        assert status.startswith("HTTP/1.1 101"), f"client B's first socket: {status}"
        # plain requests through nginx are not capped per client by serve (nginx caps them)
        for c in (a, b):
            assert c.get("/api/v1/users/me", cookie=cookie_a).status == 200
    finally:
        for s in held:
            s.close()


def test_registrations_are_limited_per_client_behind_nginx(proxied):
    srv, nginx = proxied({"BSOCIAL_REGISTRATIONS_PER_MINUTE": "1",
                          "BSOCIAL_REGISTRATION_BURST": "3"})
    a = ProxyClient(srv, nginx, "127.0.0.2")
    b = ProxyClient(srv, nginx, "127.0.0.3")
    for _ in range(3):
        a.register()
    r, _ = a.register_raw()
    assert_error(r, 429, "rate_limited")
    # A spoofed X-Forwarded-For through nginx is to the left of the address nginx saw.
    r = a.post("/api/v1/users", a.user_fields(), headers={"X-Forwarded-For": "198.51.100.7"})
    assert_error(r, 429, "rate_limited")
    r, _ = b.register_raw()
    assert r.status == 201, f"client B must not pay for client A's registrations: {r!r}"


def test_failed_logins_of_one_client_do_not_lock_another_behind_nginx(proxied):
    srv, nginx = proxied({"BSOCIAL_LOGIN_MAX_FAILURES": "2"})  # per address: 4 x 2
    a = ProxyClient(srv, nginx, "127.0.0.2")
    b = ProxyClient(srv, nginx, "127.0.0.3")
    victim = b.register()
    statuses = [a.login_raw(f"nobody_{i}", "wrong password").status for i in range(9)]
    assert statuses[:8] == [401] * 8 and statuses[8] == 429, statuses
    r = b.login_raw(victim.username, victim.password)
    assert r.status == 200, f"client A's failures locked client B out: {r!r}"


def test_x_forwarded_for_from_an_untrusted_client_is_ignored(start_server):
    """Straight to serve, a client that is not a trusted proxy cannot pick its address."""
    srv = start_server(env={**TRUSTED, "BSOCIAL_REGISTRATIONS_PER_MINUTE": "1",
                            "BSOCIAL_REGISTRATION_BURST": "2"})
    c = Client(srv, source_ip="127.0.0.2")
    for i in range(2):
        r = c.post("/api/v1/users", c.user_fields(),
                   headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status == 201, r
    r = c.post("/api/v1/users", c.user_fields(), headers={"X-Forwarded-For": "198.51.100.99"})
    assert_error(r, 429, "rate_limited")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "127.0.0.1/32,nginx", "fd00::/8,[::1]"])
def test_a_malformed_trusted_proxy_entry_stops_the_start(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BSOCIAL_")}
    env["BSOCIAL_TRUSTED_PROXIES"] = value
    try:
        r = subprocess.run([str(binary_path()), "serve", "--port", "0", "--data-dir",
                            str(tmp_path / "data")], env=env, capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve started with BSOCIAL_TRUSTED_PROXIES={value!r}")
    assert r.returncode != 0, r
    assert "BSOCIAL_TRUSTED_PROXIES" in r.stderr and "listening" not in r.stdout, r.stderr
