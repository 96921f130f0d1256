"""`tracker run`: APScheduler wiring only, no logic. Every tick (config `service.tick`, a minute by default) the
sources that are due are polled together in one cycle, through the same engine as `tracker poll`
(tracker/jobs/poll.py `poll`, with the tick's `AfterPoll`). Deliveries run apart from polling: each channel has its
own sender thread, woken every tick and as soon as a cycle (or a digest, or a reopened snooze) has queued messages,
so neither a poll waiting for another process's cycle nor a hung receiver holds up another channel. `tracker run
--once` runs one tick of each in turn (tracker/cli/service.py) and exits.

Digest state lives in the database (tracker/notify/digest.py), not in the scheduler's memory: a restart neither
re-sends nor skips a due digest. Run one scheduler per database (STACK.md: APScheduler job stores must not be
shared); replicas are safe all the same, as one poll cycle runs at a time (the `poll` lease) and the outbox claims
each message.

No worker dies on an error (tracker/workers.py): each says it once, backs off and carries on, and a database
outage is one line when it starts and one when it ends. A sender thread that still dies takes the process down
with exit code 1, so that a supervisor restarts it. A cycle that outlives a tick is normal: APScheduler's
"skipped: maximum number of running instances reached" is kept at debug level.

SIGTERM and SIGINT stop the service within seconds, whatever is in flight: the senders stop waiting for their
sends at once and give the messages back (due again at once: a restart sends them), and the jobs get STOP_GRACE
seconds to finish. What is still running then is named in the log and abandoned (the process exits all the same,
with 0, as after a clean stop: a poll cycle left half done is run again by the next one).
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from tracker.config import Config
from tracker.cycle import Request
from tracker.domain.words import count
from tracker.jobs import poll as use_case
from tracker.jobs.delivery import channel_tick, digest_tick, outbox_chores
from tracker.notify.outbox import Stop
from tracker.workers import Guard, Outage

if TYPE_CHECKING:
    from tracker.web.server import WebThread

Log = Callable[[str], None]
STOP_GRACE = 5.0  # seconds the jobs in flight get to finish after SIGTERM before they are abandoned
TICK = use_case.AfterPoll(wait=use_case.POLL_WAIT, give_memory_back=True)  # the senders deliver, woken after it


def poll_tick(config: Config, engine: Engine, now: datetime) -> str:
    """A tick's poll job: the sources that are due, in one cycle; its log line."""
    return use_case.poll_line(use_case.poll(config, lambda: engine, Request(now, due_only=True), TICK))


def run_service(config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
    _Service(config, engine, clock, log).run()


class _Service:
    """The scheduler and its jobs (poll, digests, the outbox's chores), one sender per channel, and the stop."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
        self.config, self.engine, self.clock, self.log = config, engine, clock, log
        executors = {"default": ThreadPoolExecutor(2), "polls": ThreadPoolExecutor(1)}
        self.scheduler = BlockingScheduler(timezone=config.timezone, executors=executors)
        self.stopping, self.running = Stop(), _Running()
        self.outage = Outage(log)
        tick = config.service.tick
        self.senders = [
            _Sender(name, self._sends(name), Guard(f"sender {name}", tick, self.outage, log), log)
            for name in config.channels
        ]
        self.web = _web(config, engine, clock, log)

    def run(self) -> None:
        config, engine, clock = self.config, self.engine, self.clock
        jobs = (
            ("poll", "the poll cycle", lambda: poll_tick(config, engine, clock()), "polls"),
            ("digest", "the digest check", lambda: digest_tick(config, engine, clock(), send=False), "default"),
            ("outbox", "the outbox's chores", lambda: outbox_chores(config, engine, clock(), self.stopping), "default"),
        )
        _quiet_skips()
        tick = IntervalTrigger(seconds=config.service.tick)
        for name, what, work, executor in jobs:
            # The first run is now on the real clock: the scheduler's clock is real even under --now (a --now in
            # 2021 made it walk every tick since then before running anything).
            first = datetime.now(UTC)
            job = self._job(name, what, work)
            self.scheduler.add_job(
                job, tick, id=name, executor=executor, next_run_time=first, max_instances=1, coalesce=True
            )
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.log(
            f"{count(len(config.sources), 'source')}, each polled when its interval has elapsed; due sources and"
            f" digests checked every {config.service.tick} s; {count(len(self.senders), 'channel sender')}; stop with"
            " Ctrl-C or SIGTERM"
        )
        for sender in self.senders:
            sender.start()
        if self.web is not None:
            self.web.start()
        self.scheduler.start()
        if self.web is not None:
            self.web.stop(STOP_GRACE)
        _finish(self.senders, self.running, self.log)

    def _sends(self, channel: str) -> Callable[[], None]:
        def work() -> None:
            line = channel_tick(self.config, self.engine, channel, self.clock(), self.stopping)
            if line:
                self.log(line)

        return work

    def _job(self, name: str, what: str, work: Callable[[], str]) -> Callable[[], None]:
        """The job as the scheduler runs it: never raising (its Guard says a failure once), and skipping its ticks
        while it backs off."""
        tick = self.config.service.tick
        guard = Guard(name if name != "outbox" else "outbox chores", tick, self.outage, self.log)
        resume = [0.0]  # the monotonic time before which the job, backing off, skips its ticks

        def once() -> None:
            with self.running(what):
                line = work()
            if line:
                self.log(line)
            for sender in self.senders:  # what the job queued goes out now, not a tick later
                sender.wake()

        def run() -> None:
            if time.monotonic() < resume[0]:
                return
            resume[0] = time.monotonic() + guard.run(once) - tick

        return run

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.log(f"received signal {signum}: stopping (sends in flight are given back; jobs get {STOP_GRACE:g} s)")
        self.stopping.set()
        for sender in self.senders:
            sender.stop()
        if self.scheduler.running:  # a second signal finds it stopped already
            self.scheduler.shutdown(wait=False)


def _web(config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> "WebThread | None":
    """The web face on its own thread when the config has `web:` (lazy: FastAPI and uvicorn otherwise unloaded)."""
    if config.web is None:
        return None
    from tracker.web.server import WebThread  # lazy: FastAPI, uvicorn and jinja2, only for a config with `web:`

    return WebThread(config, engine, clock, log)


def _finish(senders: list["_Sender"], running: "_Running", log: Log) -> None:
    """After the scheduler stopped: wait up to STOP_GRACE for the senders and jobs; abandon what still runs."""
    deadline = time.monotonic() + STOP_GRACE
    for sender in senders:
        sender.join(max(0.0, deadline - time.monotonic()))
    busy = [f"the sender of channel {s.channel}" for s in senders if s.is_alive()]
    busy += running.wait_idle(max(0.0, deadline - time.monotonic()))
    if not busy:
        log("stopped")
        return
    log(f"stopped after {STOP_GRACE:g} s, abandoning {', '.join(busy)}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the abandoned threads are not ours to join (APScheduler's pool would wait for them at exit)


class _Running:
    """The jobs running now, by name, so the stop can wait for them and name those it abandons."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._changed = threading.Condition()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        with self._changed:
            self._names.append(name)
        try:
            yield
        finally:
            with self._changed:
                self._names.remove(name)
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> list[str]:
        """The names still running after at most `timeout` seconds ([] once all have finished)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._names, timeout)
            return list(self._names)


def _quiet_skips() -> None:
    """A cycle that outlives a tick is normal: APScheduler's "skipped" warning is said at debug level instead."""
    logger = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkipsToDebug) for f in logger.filters):
        logger.addFilter(_SkipsToDebug())


class _SkipsToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" not in record.getMessage():
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.DEBUG)


class _Sender(threading.Thread):
    """One channel's sender: works the channel's due rows every tick, and at once when woken; a failure is its
    Guard's to say, and it waits its backoff before the next try."""

    def __init__(self, channel: str, work: Callable[[], None], guard: Guard, log: Log) -> None:
        super().__init__(name=f"sender {channel}", daemon=True)
        self.channel, self._work, self._guard, self._log = channel, work, guard, log
        self._woken, self._stopping = threading.Event(), threading.Event()

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                delay = self._guard.run(self._work)
                self._woken.wait(delay)
                self._woken.clear()
        except BaseException as error:  # the Guard let it through: without its sender a channel is silent for ever
            self._log(f"the sender of channel {self.channel} died ({type(error).__name__}: {error}); exiting")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)  # a supervisor restarts the service; the outbox keeps every message
