"""Connection caps and deadlines of `bsocial serve`, through its settings (issue 9 item 6,
issue 10): the N+1-th connection from one address is refused with a problem answer and
Retry-After while the N open ones keep working; another address is not affected; a
connection that sends nothing is closed at the header deadline. Decisions:
docs/security.md, item 6."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from bsocial_testkit.paths import binary_path

PER_CLIENT = 4


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def _read_all(s: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _get(s: socket.socket, path: str = "/healthz") -> bytes:
    """One keep-alive request; returns the status line (the connection stays open)."""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "server closed a connection it should have kept"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += s.recv(65536)
    return head.split(b"\r\n")[0]


def test_per_client_cap_refuses_the_next_connection_and_spares_the_others(start_server):
    srv = start_server(env={"BSOCIAL_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT)})
    held = [_connect(srv.port) for _ in range(PER_CLIENT)]
    try:
        for s in held:  # all admitted and working
            assert _get(s) == b"HTTP/1.1 200 OK"

        extra = _connect(srv.port)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = _read_all(extra)  # the server closes after its answer
        extra.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 429"), answer
        assert b"\r\nRetry-After: 1" in head, answer
        assert json.loads(body)["error"]["code"] == "rate_limited", answer

        # another loopback address has its own budget
        other = _connect(srv.port, source="127.0.0.77")
        assert _get(other) == b"HTTP/1.1 200 OK"
        other.close()

        for s in held:  # the existing ones are unharmed
            assert _get(s) == b"HTTP/1.1 200 OK"
    finally:
        for s in held:
            s.close()

    # once they are closed, the address may connect again
    def admitted() -> bool:
        s = _connect(srv.port)
        try:
            return _get(s) == b"HTTP/1.1 200 OK"
        finally:
            s.close()
    deadline = time.monotonic() + 5
    while not admitted():
        assert time.monotonic() < deadline, "connections were not released after close"
        time.sleep(0.05)


def test_a_silent_connection_is_closed_at_the_header_deadline(start_server):
    srv = start_server(env={"BSOCIAL_HEADER_TIMEOUT_SECONDS": "1",
                            "BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS": "1"})
    silent = _connect(srv.port)
    kept = _connect(srv.port)
    try:
        assert _get(kept) == b"HTTP/1.1 200 OK"
        silent.settimeout(10)  # a liveness bound, far above the 1 s deadline
        kept.settimeout(10)
        assert _read_all(silent) == b""  # closed by the server, nothing sent
        assert _read_all(kept) == b""    # idle keep-alive closed too
    finally:
        silent.close()
        kept.close()


def test_bad_cap_settings_stop_the_start():
    r = subprocess.run([str(binary_path()), "serve", "--max-connections-per-client", "0",
                        "--port", "0"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "BSOCIAL_MAX_CONNECTIONS_PER_CLIENT" in r.stderr, r.stderr
