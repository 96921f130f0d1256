"""`tracker run`: APScheduler wiring only, no logic. Every tick (config `service.tick`, a minute by default) the
sources that are due are polled together in one cycle, through the same engine as `tracker poll`
(tracker/jobs.py `poll_tick`); the outbox is worked and digests are checked every tick too, on their own executor,
so a poll waiting for another process's cycle never holds up deliveries. `tracker run --once` runs one tick of
each in turn (`jobs.service_tick`) and exits.

Digest state lives in the database (tracker/notify/digest.py), not in the scheduler's memory: a restart neither
re-sends nor skips a due digest. SIGTERM and SIGINT let the running step finish, then stop the scheduler. Run one
scheduler per database (STACK.md: APScheduler job stores must not be shared); replicas are safe all the same, as
one poll cycle runs at a time (the `poll` lease) and the outbox claims each message.
"""

import signal
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

    executors = {"default": ThreadPoolExecutor(4), "polls": ThreadPoolExecutor(1)}
    scheduler = BlockingScheduler(timezone=config.timezone, executors=executors)
    tick = IntervalTrigger(seconds=config.service.tick)
    jobs: list[tuple[str, Callable[[Config, Engine, datetime], str], str]] = [
        ("poll", poll_tick, "polls"),
        ("outbox", outbox_tick, "default"),
        ("digest", digest_tick, "default"),
    ]
    for name, job, executor in jobs:
        scheduler.add_job(
            lambda job=job: log(job(config, engine, clock())),
            tick,
            id=name,
            executor=executor,
            next_run_time=clock(),
            max_instances=1,
            coalesce=True,
        )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log(f"received signal {signum}: finishing the current step, then stopping")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(
        f"{len(config.sources)} source(s), each polled when its interval has elapsed; due sources, the outbox and"
        f" digests checked every {config.service.tick} s; stop with Ctrl-C or SIGTERM"
    )
    scheduler.start()
