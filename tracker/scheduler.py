"""`tracker run`: APScheduler wiring only, no logic. Every tick (config `service.tick`, a minute by default) the
sources that are due are polled together in one cycle, through the same engine as `tracker poll`
(tracker/jobs.py `poll_tick`); the outbox is worked on its own thread every tick and as soon as a cycle has queued
alerts, and digests are checked every tick on their own executor, so a poll waiting for another process's cycle
never holds up deliveries. `tracker run --once` runs one tick of
each in turn (`jobs.service_tick`) and exits.

Digest state lives in the database (tracker/notify/digest.py), not in the scheduler's memory: a restart neither
re-sends nor skips a due digest. SIGTERM and SIGINT let the running step finish, then stop the scheduler. Run one
scheduler per database (STACK.md: APScheduler job stores must not be shared); replicas are safe all the same, as
one poll cycle runs at a time (the `poll` lease) and the outbox claims each message.
"""

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from tracker.config import Config

Log = Callable[[str], None]


def run_service(config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
    from tracker.jobs import digest_tick, outbox_tick, poll_tick

    executors = {"default": ThreadPoolExecutor(2), "polls": ThreadPoolExecutor(1)}
    scheduler = BlockingScheduler(timezone=config.timezone, executors=executors)
    tick = IntervalTrigger(seconds=config.service.tick)
    deliveries = _Deliveries(lambda: log(outbox_tick(config, engine, clock())), config.service.tick)

    def poll() -> None:
        log(poll_tick(config, engine, clock()))
        deliveries.wake()  # what the cycle queued goes out now, not a tick later

    def digests() -> None:
        log(digest_tick(config, engine, clock()))

    for name, run, executor in (("poll", poll, "polls"), ("digest", digests, "default")):
        scheduler.add_job(run, tick, id=name, executor=executor, next_run_time=clock(), max_instances=1, coalesce=True)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log(f"received signal {signum}: finishing the current step, then stopping")
        deliveries.stop()
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(
        f"{len(config.sources)} source(s), each polled when its interval has elapsed; due sources, the outbox and"
        f" digests checked every {config.service.tick} s; stop with Ctrl-C or SIGTERM"
    )
    deliveries.start()
    scheduler.start()


class _Deliveries(threading.Thread):
    """The outbox worker: every tick, and at once when a poll cycle has queued alerts."""

    def __init__(self, work: Callable[[], None], tick: float) -> None:
        super().__init__(name="deliveries", daemon=True)
        self._work, self._tick = work, tick
        self._woken, self._stopping = threading.Event(), threading.Event()

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._work()
            self._woken.wait(self._tick)
            self._woken.clear()
