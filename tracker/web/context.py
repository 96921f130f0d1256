"""What every route is given (`Ctx`): the config, the database, the clock, the cached exposure assessment and the
poll queue. Built once per app by create_app(); routes take it with `Depends(ctx)`."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from tracker.config import Config
from tracker.web.exposure import ExposureCache

if TYPE_CHECKING:
    from tracker.jobs.poll import PollResult


class PollQueue:
    """`POST /api/v1/poll`: one whole cycle at a time on a background thread, as `tracker poll` runs it (every
    source, then the outbox). A request while one runs is not queued twice; `GET /api/v1/poll` says how the last
    one ended."""

    def __init__(self, work: "Callable[[], PollResult]") -> None:
        self._work = work
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last: PollResult | None = None  # what the last cycle asked for here did

    def queue(self) -> bool:
        """True when a cycle was started now; False when one is running already."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=self._run, name="web poll", daemon=True)
            self._thread.start()
            return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        self.last = self._work()


@dataclass
class WebContext:
    config: Config
    engine: Engine
    clock: Callable[[], datetime]
    exposure: ExposureCache
    polls: PollQueue
    started_at: datetime
    notes: dict[str, str] = field(default_factory=dict)  # e.g. "mode": "service" | "serve"
    up_since: float = field(default_factory=time.monotonic)  # the process's own clock, whatever --now says

    @property
    def now(self) -> datetime:
        return self.clock()


def ctx(request: Request) -> WebContext:
    context: WebContext = request.app.state.ctx
    return context


Ctx = Annotated[WebContext, Depends(ctx)]
