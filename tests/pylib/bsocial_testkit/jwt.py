"""JWT (HS256) pieces for tests that forge, decode or check tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token: str) -> tuple[dict, dict, bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def jwt_encode(header: dict, payload: dict, key: bytes | None) -> str:
    """key None -> empty signature (for alg none)."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if key is None:
        return signing_input + "."
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def jwt_key_candidates(secret_hex: str) -> list[bytes]:
    # The contract does not say whether the 64-hex secret is used as text or as the
    # 32 bytes it encodes; the suites accept either, decided from a real token.
    return [secret_hex.encode(), bytes.fromhex(secret_hex)]


def find_jwt_key(token: str, secret_hex: str) -> bytes | None:
    h, p, s = token.split(".")
    for key in jwt_key_candidates(secret_hex):
        mac = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
        if hmac.compare_digest(mac, b64url_decode(s)):
            return key
    return None
