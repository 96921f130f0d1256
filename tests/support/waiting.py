"""Waiting on state another thread or process writes (a database row, a lease), where there is no event to wait on:
look again every `EVERY` seconds until it holds, or fail after `seconds` (a generous bound on something that must
happen, never a measure of how fast it does)."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
EVERY = 0.05


def wait_until(condition: Callable[[], T | None], seconds: float, what: str) -> T:
    """What `condition` gives once it gives something other than None/False."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(EVERY)
    raise AssertionError(f"not within {seconds} s: {what}")
