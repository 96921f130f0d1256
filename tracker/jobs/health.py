"""The tracker's own health: the store's and the config's facts, judged by the domain (tracker/domain/health.py)."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from tracker.config import Config
from tracker.domain.catalog import Health
from tracker.domain.health import Facts, FailedDelivery, SourceFacts, SourceState, Verdict, assess
from tracker.store import MessageKind, OutboxStatus, repo
from tracker.store.advisories import advisory_warnings
from tracker.store.db import session_scope
from tracker.store.outbox import Message, deliveries, enqueue
from tracker.store.sources import source_statuses

if TYPE_CHECKING:
    from tracker.store.records import DeliveryAttempt, OutboxMessage, SourceStatus

REMOVED_INTERVAL = timedelta(hours=1)  # a source the config no longer names has no interval: it is not polled


def health_verdict(config: Config, engine: Engine, now: datetime, each_tick: bool = False) -> Verdict:
    """The one verdict on the tracker's health (tracker/domain/health.py) that every face shows: the facts read
    once, in one read-only session, judged by the domain. `each_tick`: what the operators are told every tick
    (queue_health_notices): no notice that failed (it would beget another), no advisory warnings (they need the
    whole catalog; `tracker health` and `tracker sources` show them) and no followed release-notes pages."""
    with session_scope(engine) as session:  # read only
        facts = gather(config, session, now, each_tick)
    return assess(facts, now)


def gather(config: Config, session: Session, now: datetime, each_tick: bool = False) -> Facts:
    """The store's and the config's facts for `assess`, in the caller's session (the digest reads them in its own)."""
    stored = source_statuses(session)
    failed = [
        _failure(row, attempts)
        for row, attempts in deliveries(session, OutboxStatus.FAILED)
        if not (each_tick and row.kind == MessageKind.NOTICE)
    ]
    found = {} if each_tick else advisory_warnings(session)
    warnings = tuple((source, w) for source, each in found.items() for w in each)
    queued = [row for status in (OutboxStatus.PENDING, OutboxStatus.SENDING) for row, _ in deliveries(session, status)]
    waiting = [_failure(row, []) for row in queued if row.kind == MessageKind.DIGEST]
    due = [
        replace(_failure(row, []), at=repo.utc(row.next_attempt_at))
        for row in queued
        if row.kind != MessageKind.DIGEST and not (each_tick and row.kind == MessageKind.NOTICE)
    ]
    unusable = tuple(
        (name, ", ".join(f"${{{var}}} is not set" for _, var in config.unset(f"channels.{name}")))
        for name in config.channels
        if config.unset(f"channels.{name}")
    )
    sources, followed = _source_facts(config, stored, now), () if each_tick else _followed(config, stored)
    return Facts(sources, tuple(failed), unusable, tuple(waiting), warnings, tuple(due), len(config.channels), followed)


def _source_facts(config: Config, stored: "Sequence[SourceStatus]", now: datetime) -> tuple[SourceFacts, ...]:
    """Each configured source (one the config added since the last sync is configured now, not polled yet), then
    each stored one the config no longer names: removed, whether or not a sync has retired it yet."""
    rows = {row.id: row for row in stored if row.configured}
    facts = []
    for source in config.sources:
        interval = timedelta(seconds=source.interval)
        row = rows.pop(source.id, None)
        facts.append(_facts(row, interval) if row is not None else SourceFacts(source.id, Health.OK, interval, now))
    facts += [replace(_facts(row, REMOVED_INTERVAL), in_config=False) for row in rows.values()]
    return tuple(facts)


def _followed(config: Config, stored: "Sequence[SourceStatus]") -> tuple[SourceFacts, ...]:
    """The release-notes pages followed from KB rows (a retired one is `removed`), each with its KB table's interval."""
    intervals = {s.id: timedelta(seconds=s.interval) for s in config.sources}
    return tuple(
        replace(_facts(row, intervals.get(row.parent_id or "", REMOVED_INTERVAL)), in_config=row.active)
        for row in stored
        if not row.configured
    )


def _facts(row: "SourceStatus", interval: timedelta) -> SourceFacts:
    when = repo.opt_utc
    seen = (when(row.last_fetch_at), when(row.last_success_at), row.last_error, when(row.last_error_at))
    return SourceFacts(row.id, row.health, interval, repo.utc(row.created_at), *seen)


def _failure(row: "OutboxMessage", attempts: "list[DeliveryAttempt]") -> FailedDelivery:
    """A message as health reads it: when it was last tried (or queued), and why it did not go out."""
    at = max([a.attempted_at for a in attempts] or [row.created_at])
    return FailedDelivery(row.channel, f"{row.kind} {row.dedup_key}", row.last_error, repo.utc(at))


def queue_health_notices(config: Config, engine: Engine, now: datetime) -> int:
    """Tell the operators (`operators.immediate`) once of each problem the health check finds that no event tells
    them of: polling stalled, a source never polled although its interval has passed, a channel that cannot be
    used, a delivery failed for good, a digest overdue. A source that fails reaches them as its own
    `source_anomaly`/`source_failing` event. Each problem is one outbox row per channel, keyed by what it is and
    since when, so the next tick does not say it again."""
    channels = config.operators.immediate
    if not channels:
        return 0
    verdict = health_verdict(config, engine, now, each_tick=True)
    told = {f"source {s.id}" for s in verdict.sources if s.state in (SourceState.ANOMALY, SourceState.FAILING)}
    problems = [p for p in verdict.problems if p.subject not in told]
    queued = 0
    with session_scope(engine) as session:
        for problem in problems:
            since = problem.since.isoformat() if problem.since else problem.reason
            payload = {"subject": problem.subject, "reason": problem.reason, "since": _iso(problem.since)}
            for channel in channels:
                if problem.subject == f"channel {channel}":
                    continue  # a channel that cannot deliver is not told of itself; the others are
                message = Message(f"health:{problem.subject}:{since}", channel, MessageKind.NOTICE, payload)
                queued += enqueue(session, message, now)
    return queued


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
