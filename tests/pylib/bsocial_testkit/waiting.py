"""The one bounded wait of the test kit."""

from __future__ import annotations

import time


def wait_until(pred, timeout: float, interval: float = 0.25, what: str = "condition",
               tolerate: tuple = ()):
    """Bounded wait: returns pred()'s first truthy value, or raises AssertionError after
    `timeout` seconds. Exceptions of the types in `tolerate` (a server or search engine
    restarting) count as "not yet"; any other exception propagates."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
        except tolerate as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s (last: {last!r})")
        time.sleep(interval)
