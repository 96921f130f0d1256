"""The poll use case as the service, the CLI and the web run it (the cycle itself: tracker/cycle/)."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from tracker.config import Config
from tracker.cycle.report import PollReport, outcome_tally
from tracker.domain.decide import FetchOutcome
from tracker.domain.words import count
from tracker.jobs.delivery import digest_tick, outbox_tick

if TYPE_CHECKING:
    from tracker.cycle.fetch import Watch


def poll_tick(config: Config, engine: Engine, now: datetime, progress: "Watch | None" = None) -> str:
    """The service's poll: one cycle over the sources that are due (tracker/cycle), as `tracker poll` runs it;
    `progress` hears how far its fetches are (`tracker run --once` on a terminal)."""
    from tracker.cycle import Hooks, Request, run_cycle
    from tracker.store.leases import LeaseLost

    try:
        report = run_cycle(config, lambda: engine, Request(now, due_only=True), Hooks(progress, wait=POLL_WAIT))
    except LeaseLost as error:
        return f"poll: {error}"
    if any(o.outcome != FetchOutcome.NOT_MODIFIED for o in report.outcomes):
        give_memory_back()  # a cycle that parsed pages and loaded the catalog; a quiet one allocates little
    return cycle_line(report)


def poll_now(config: Config, engine: Engine, now: datetime) -> str:
    """A cycle asked for by hand (the web's `POST /api/v1/poll`): every source, as `tracker poll` runs it, then the
    outbox, so its alerts go out at once."""
    from tracker.cycle import Hooks, Request, run_cycle
    from tracker.store.leases import LeaseLost

    try:
        report = run_cycle(config, lambda: engine, Request(now), Hooks(wait=POLL_WAIT))
    except LeaseLost as error:
        return f"poll: {error}"
    line = cycle_line(report)
    if config.channels:
        line += "; " + outbox_tick(config, engine, now)
    give_memory_back()
    return line


def give_memory_back() -> None:
    """Return the pages, trees and catalog of the cycle just recorded to the system, not only to the allocator:
    a service idles between cycles for most of its life (glibc only; elsewhere the collection alone)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    libc = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
    if trim is not None:
        trim(0)


POLL_WAIT = 60.0  # seconds the service's cycle waits for another process's; then it tries again next tick


def cycle_line(report: PollReport) -> str:
    """One log line per cycle: what each source did, and what failed, with the reason."""
    if report.blocked_by is not None:
        return f"poll: skipped, another poll cycle still runs ({report.blocked_by.holder})"
    if not report.outcomes:
        return "poll: no source due"
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    problems = "".join(f"; {o.source_id} {o.outcome}: {o.error}" for o in report.outcomes if o.error)
    return (
        f"poll: {count(len(report.outcomes), 'page')}: {outcome_tally(counts)}{problems}; "
        f"{count(len(report.events), 'event')}, {count(report.queued, 'alert')} queued"
    )


def service_tick(config: Config, engine: Engine, now: datetime, progress: "Watch | None" = None) -> list[str]:
    """`tracker run --once`: the due sources in one cycle, then the outbox, then the digests."""
    polled = poll_tick(config, engine, now, progress)
    return [polled, outbox_tick(config, engine, now), digest_tick(config, engine, now)]
