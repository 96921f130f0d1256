"""`tracker run`: APScheduler wiring only. Each source is polled on its own interval, with jitter.

SIGTERM and SIGINT let the running poll finish, then stop the scheduler. The alerts issue adds the outbox worker and
the digests here.
"""

import signal
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from tracker.config import Config


def run_service(config: Config, engine: Engine, clock: Callable[[], datetime], log: Callable[[str], None]) -> None:
    from tracker.jobs import poll_once

    scheduler = BlockingScheduler(timezone=config.timezone)

    def poll(source_id: str) -> None:
        report = poll_once(config, engine, clock(), source_id)
        log(
            f"{source_id}: "
            + ", ".join(f"{o.source_id} {o.outcome}" for o in report.outcomes[:1])
            + f"; {len(report.events)} event(s)"
        )

    for source in config.sources:
        trigger = IntervalTrigger(seconds=source.interval, jitter=min(60, source.interval // 10))
        scheduler.add_job(
            poll,
            trigger,
            args=[source.id],
            id=f"poll:{source.id}",
            next_run_time=clock(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=source.interval,
        )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log(f"received signal {signum}: finishing the current step, then stopping")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"polling {len(config.sources)} source(s); stop with Ctrl-C or SIGTERM")
    scheduler.start()
