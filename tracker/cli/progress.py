"""The progress line of a long poll cycle (`tracker poll`, `tracker run --once`): one transient line on stderr, drawn
once the cycle has run about 2 s (a quick cycle shows nothing), gone when it ends. Only on a terminal and never with
--json: a pipe, a file, cron and the logs never see it. The cycle tells it how far its fetches are
(tracker/cycle/fetch.py `Fetching`); this only formats that."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tracker.domain.words import count
from tracker.escape import visible

if TYPE_CHECKING:
    from tracker.cycle.fetch import Fetching

SHOW_AFTER = 2.0  # seconds: a cycle quicker than this draws nothing


def progress_text(fetching: Fetching) -> str:
    """`polling: 12 of 40 pages fetched; waiting on docs.vmware.com (politeness delay)`."""
    text = f"polling: {fetching.fetched} of {count(fetching.planned, 'page')} fetched"
    if fetching.host is None:
        return text
    host = visible(fetching.host)
    return f"{text}; waiting on {host} (politeness delay)" if fetching.pausing else f"{text}; fetching from {host}"


class CycleProgress:
    """The cycle's `Hooks.progress`, used as a context manager around the cycle: nothing unless `enabled`."""

    def __init__(self, enabled: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled, self.clock = enabled, clock
        self.started = clock()
        self._live: Any = None  # rich's Live and its spinner, once the line is drawn
        self._spinner: Any = None

    def __enter__(self) -> CycleProgress:
        self.started = self.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()  # transient: the line is cleared
            self._live = None

    def __call__(self, fetching: Fetching) -> None:
        if not self.enabled or self.clock() - self.started < SHOW_AFTER:
            return
        # lazy: rich, only for a cycle that runs long on a terminal
        from rich.text import Text

        line = Text(progress_text(fetching))  # Text, not markup: "[::1]" is a host
        if self._live is not None:
            self._spinner.update(text=line)
            return
        # lazy: rich, only for a cycle that runs long on a terminal
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Spinner("dots", line, style="green")
        # stdout stays where it points (`tracker poll > out.txt`): rich would otherwise route it to the line's stderr
        self._live = Live(self._spinner, console=Console(stderr=True), transient=True, redirect_stdout=False)
        self._live.start()


def cycle_progress(as_json: bool) -> CycleProgress:
    """The progress line for a command's cycle: drawn only on a terminal's stderr, and never beside --json."""
    return CycleProgress(enabled=not as_json and sys.stderr.isatty())
