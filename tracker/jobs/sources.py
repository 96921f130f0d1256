"""Listing the sources (`tracker sources`, the sources page, `/api/v1/sources`, the overview, `/metrics`): the stored
sources, when each is polled next, the configured ones not stored yet, the process polling right now, and the
health verdict that gives each its state. Read only: a source new in the config is listed, not stored. The faces
turn the listing into what they show (tracker/listings.py `source_items`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from tracker.config import Config
from tracker.cycle.plan import Schedule, schedules
from tracker.domain.clock import human
from tracker.domain.health import Verdict, assess
from tracker.jobs.health import gather
from tracker.store import POLL_LEASE, leases
from tracker.store.db import session_scope
from tracker.store.records import SourceStatus
from tracker.store.sources import snapshot, source_statuses


@dataclass(frozen=True)
class SourceListing:
    """The stored sources, their schedules, configured sources not polled yet (id, kind, product), the process
    polling right now (if one is) and the health verdict, which gives each source its state, reasons and warnings
    (`advisory_unmapped` ...): the same verdict `tracker health` prints."""

    rows: Sequence[SourceStatus]
    planned: dict[str, Schedule]
    verdict: Verdict
    unsynced: Sequence[tuple[str, str, str]] = ()
    running: str | None = None


def gather_sources(config: Config, engine: Engine, now: datetime) -> SourceListing:
    """The listing, its store facts and health facts read in one session."""
    with session_scope(engine) as session:
        rows, stored, facts = source_statuses(session), snapshot(session), gather(config, session, now)
    held = leases.current(engine, POLL_LEASE)
    unsynced = [(s.id, s.kind, s.product) for s in config.sources if s.id not in stored.sources]
    planned = schedules(config, stored, now)
    running = None
    if held:
        since = f", since {human(held.acquired_at, config.timezone)}" if held.acquired_at else ""
        running = f"held by {held.holder}{since}"
    return SourceListing(rows, planned, assess(facts, now), unsynced, running)
