"""The tracker's own health: the store's and the config's facts, judged by the domain (tracker/domain/health.py)."""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from tracker.config import Config
from tracker.domain.catalog import Health
from tracker.domain.health import Facts, FailedDelivery, SourceFacts, Verdict, assess
from tracker.store import MessageKind, OutboxStatus, repo
from tracker.store.advisories import advisory_warnings
from tracker.store.db import session_scope
from tracker.store.outbox import Message, deliveries, enqueue
from tracker.store.sources import active_sources

if TYPE_CHECKING:
    from tracker.store.records import DeliveryAttempt, OutboxMessage, SourceStatus


def health_verdict(config: Config, engine: Engine, now: datetime, each_tick: bool = False) -> Verdict:
    """`tracker health`: the store's and the config's facts, judged by the domain (tracker/domain/health.py).
    `each_tick`: what the operators are told every tick (queue_health_notices): no notice that failed (it would beget
    another), and no advisory warnings (they need the whole catalog; `tracker health` and `tracker sources` show
    them)."""
    with session_scope(engine) as session:  # read only
        stored = {r.id: r for r in active_sources(session)}
        failed = [
            _failure(row, attempts)
            for row, attempts in deliveries(session, OutboxStatus.FAILED)
            if not (each_tick and row.kind == MessageKind.NOTICE)
        ]
        found = {} if each_tick else advisory_warnings(session)
        warnings = tuple((source, w) for source, each in found.items() for w in each)
        queued = [
            row for status in (OutboxStatus.PENDING, OutboxStatus.SENDING) for row, _ in deliveries(session, status)
        ]
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
    sources = tuple(_source_facts(config, stored, now))
    facts = Facts(sources, tuple(failed), unusable, tuple(waiting), warnings, tuple(due), len(config.channels))
    return assess(facts, now)


def _source_facts(config: Config, stored: "dict[str, SourceStatus]", now: datetime) -> list[SourceFacts]:
    facts = []
    for source in config.sources:
        interval = timedelta(seconds=source.interval)
        row = stored.get(source.id)
        if row is None:  # configured since the last command that synced the sources: not polled yet
            facts.append(SourceFacts(source.id, Health.OK, interval, now))
            continue
        created = repo.utc(row.created_at)
        when = repo.opt_utc
        seen = (when(row.last_fetch_at), when(row.last_success_at), row.last_error, when(row.last_error_at))
        facts.append(SourceFacts(row.id, row.health, interval, created, *seen))
    return facts


def _failure(row: "OutboxMessage", attempts: "list[DeliveryAttempt]") -> FailedDelivery:
    """A message as health reads it: when it was last tried (or queued), and why it did not go out."""
    at = max([a.attempted_at for a in attempts] or [row.created_at])
    return FailedDelivery(row.channel, f"{row.kind} {row.dedup_key}", row.last_error, repo.utc(at))


def queue_health_notices(config: Config, engine: Engine, now: datetime) -> int:
    """Tell the operators (`operators.immediate`) once of each problem the health check finds that no event tells
    them of: polling stalled, a channel that cannot be used, a delivery failed for good, a digest overdue. A
    source in trouble reaches them as its own `source_failing` event. Each problem is one outbox row per channel,
    keyed by what it is and since when, so the next tick does not say it again."""
    channels = config.operators.immediate
    if not channels:
        return 0
    verdict = health_verdict(config, engine, now, each_tick=True)
    problems = [p for p in verdict.problems if not p.subject.startswith("source ")]
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
