"""How the service's workers (the poll, the digest check, the outbox's chores, each channel's sender) survive errors.

No worker dies on an error. Each one's failure is said once when it starts (and again only when it changes),
the worker backs off (its tick, doubled per failure in a row, at most MAX_BACKOFF) and carries on; the first
success after failures says so. A database that cannot be reached is one line for the whole process when the
outage starts ("database unreachable: ...") and one when it ends ("database back after 70 s"), however many
workers hit it: never a traceback per tick.
"""

import threading
import time
from collections.abc import Callable

from tracker.store.db import unreachable

Log = Callable[[str], None]
MAX_BACKOFF = 30.0  # seconds: the longest a failing worker waits before it tries again


class Outage:
    """Whether the database is away, shared by every worker of the process."""

    def __init__(self, log: Log, clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self._clock = log, clock
        self._since: float | None = None
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._since is None:
                self._since = self._clock()
                self._log(f"database unreachable: {describe(error)}; the workers retry, backing off")

    def answered(self) -> None:
        with self._lock:
            if self._since is not None:
                self._log(f"database back after {self._clock() - self._since:.0f} s")
                self._since = None

    @property
    def down(self) -> bool:
        return self._since is not None


def describe(error: BaseException) -> str:
    """The error in one line, as the driver said it: no SQL, no library URL ("Background on this error ...")."""
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split())
    for cut in ("(Background on this error", "[SQL:"):
        text = text.split(cut)[0].strip()
    return text[:300] or type(cause).__name__


class Guard:
    """One worker's failures: `run(work)` runs it, never raises, and returns how long to wait before the next try."""

    def __init__(self, name: str, tick: float, outage: Outage, log: Log) -> None:
        self.name, self.tick, self.outage, self.log = name, tick, outage, log
        self._failures = 0
        self._said: str | None = None

    def run(self, work: Callable[[], None]) -> float:
        try:
            work()
        except Exception as error:  # a worker must outlive any error: it is said once, here
            return self._failed(error)
        self.outage.answered()
        if self._said is not None:  # the end of a database outage is said once, by the outage
            self.log(f"{self.name}: working again after {_tries(self._failures)}")
        self._failures, self._said = 0, None
        return self.tick

    def _failed(self, error: Exception) -> float:
        self._failures += 1
        if unreachable(error):
            self.outage.failed(error)
        else:
            said = f"{type(error).__name__}: {describe(error)}"
            if said != self._said:
                self.log(f"{self.name} failed: {said}; retrying, backing off")
            self._said = said
        return min(MAX_BACKOFF, float(self.tick) * float(2 ** min(self._failures, 16)))


def _tries(count: int) -> str:
    return "1 failed try" if count == 1 else f"{count} failed tries"
