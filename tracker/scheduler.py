"""`tracker run`: APScheduler wiring only, no logic. Each source is polled on its own interval with jitter; the
outbox is worked every minute; digests are checked every minute against their cron schedule. Polls run one at a
time on their own executor (one poll cycle at a time anyway: the `poll` lease), so a poll waiting for another
process's cycle never holds up the outbox or the digests.

Digest state lives in the database (tracker/notify/digest.py), not in the scheduler's memory: a restart neither
re-sends nor skips a due digest. SIGTERM and SIGINT let the running step finish, then stop the scheduler. Run one
scheduler per database (STACK.md: APScheduler job stores must not be shared).
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
POLL_WAIT = 60.0  # seconds a due poll waits for another process's cycle; then it is skipped until next time


def run_service(config: Config, engine: Engine, clock: Callable[[], datetime], log: Log) -> None:
    from tracker.jobs import digest_tick, outbox_tick
    from tracker.polling import poll_once
    from tracker.store.leases import LeaseLost

    executors = {"default": ThreadPoolExecutor(4), "polls": ThreadPoolExecutor(1)}
    scheduler = BlockingScheduler(timezone=config.timezone, executors=executors)

    def poll(source_id: str) -> None:
        try:
            report = poll_once(config, engine, clock(), source_id, wait=POLL_WAIT)
        except LeaseLost as error:
            log(f"poll {source_id}: {error}")
            return
        if report.blocked_by is not None:
            log(f"poll {source_id}: skipped, another poll cycle still runs ({report.blocked_by.holder})")
            return
        outcomes = ", ".join(f"{o.source_id} {o.outcome}" for o in report.outcomes[:3])
        log(f"poll {source_id}: {outcomes}; {len(report.events)} event(s), {report.queued} alert(s) queued")

    for source in config.sources:
        trigger = IntervalTrigger(seconds=source.interval, jitter=min(60, source.interval // 10))
        scheduler.add_job(
            poll,
            trigger,
            args=[source.id],
            id=f"poll:{source.id}",
            executor="polls",
            next_run_time=clock(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=source.interval,
        )
    every_minute = IntervalTrigger(minutes=1)
    scheduler.add_job(
        lambda: log(outbox_tick(config, engine, clock())),
        every_minute,
        id="outbox",
        next_run_time=clock(),
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        lambda: log(digest_tick(config, engine, clock())),
        every_minute,
        id="digest",
        next_run_time=clock(),
        max_instances=1,
        coalesce=True,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log(f"received signal {signum}: finishing the current step, then stopping")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"polling {len(config.sources)} source(s); outbox and digests every minute; stop with Ctrl-C or SIGTERM")
    scheduler.start()
