"""The digest: per channel, on a cron schedule in the configured time zone (default daily 08:00).

Which periods are due comes from the stored end of the last queued period (`digest_state`), never from the
process's memory, so a restart neither re-sends nor skips a digest: after a restart at 08:05 the 08:00 digest is
still due once; after one at 07:55 it is not yet due. A digest is an outbox row keyed by its period end, so
queueing it twice adds nothing. The first tick for a channel only starts its schedule (there is no period before
the tracker watched); `tracker digest --send` sends one at any time.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim
from sqlmodel import Session

from tracker.config import Config
from tracker.domain.alerts import AffectedAsset, AlertMessage, DigestMessage, Watchlist, concerns
from tracker.domain.clock import human
from tracker.domain.exposure_filter import severity_counts, status_counts
from tracker.domain.health import SourceLine, SourceState, assess
from tracker.jobs.health import gather
from tracker.notify.pipeline import AlertContext, affected_asset, alert_from_payload, alert_payload, watchlists
from tracker.store import MessageKind
from tracker.store import digests as stored
from tracker.store.outbox import Message, enqueue
from tracker.store.records import EventRecord
from tracker.store.snoozes import expiring

WORST_SHOWN = 10


def digest_channels(found: list[Watchlist]) -> list[str]:
    return sorted({c for w in found for c in w.digest})


def previous_fire(schedule: str, zone: str, now: datetime) -> datetime:
    """The last time the cron schedule fired at or before `now`, in the schedule's time zone (cronsim: cron's own
    rules, DST included; `0 8 29 2 *` fires on leap days only)."""
    local = now.astimezone(ZoneInfo(zone))
    # cronsim walks back from its start, exclusive: start a second later so a fire exactly at `now` counts.
    start = local.replace(microsecond=0) + timedelta(seconds=1)
    fire: datetime = next(CronSim(schedule, start, reverse=True))
    return fire.astimezone(now.tzinfo)


def queue_due_digests(config: Config, session: Session, now: datetime) -> int:
    """Queue the digest of every channel whose scheduled time has come since its last one. The catalog and the
    exposure are loaded only when one is due (most ticks, none is)."""
    due_at = previous_fire(config.digest.schedule, config.timezone, now)
    starts = {c: stored.last_period_end(session, c) for c in digest_channels(watchlists(config, session))}
    for channel in [c for c, start in starts.items() if start is None]:
        stored.period_queued(session, channel, due_at)  # its schedule starts now: the first digest covers from here
    due = {c: start for c, start in starts.items() if start is not None and start < due_at}
    if not due:
        return 0
    context = AlertContext(config, session, now)
    queued = 0
    for channel, start in due.items():
        digest = compose(config, session, context, Period(channel, start, due_at))
        if not digest.empty or config.digest.send_when_empty:
            message = Message(f"digest:{due_at.isoformat()}", channel, MessageKind.DIGEST, digest_payload(digest))
            queued += enqueue(session, message, now)
        stored.period_queued(session, channel, due_at)
    return queued


@dataclass(frozen=True)
class Period:
    """One channel's digest period: (start, end]."""

    channel: str
    start: datetime
    end: datetime


def compose(config: Config, session: Session, context: AlertContext, period: Period) -> DigestMessage:
    """The digest of one channel for its period."""
    channel, start, end = period.channel, period.start, period.end
    mine = [w for w in context.watchlists if channel in w.digest]
    events = stored.events_between(session, start, end)
    messages: list[AlertMessage] = []
    for event in events:
        found = concerns(mine, event.kind, event.product, context.line_of(event), context.affected(event))
        if found or event.kind.is_source_health:
            messages.append(_brief(event, found))
    exposures = [context.assessor.assess(a) for a in context.assets if any(w.selects_asset(a) for w in mine)]
    counts = {status.value: n for status, n in status_counts(exposures).items() if n}  # as /exposure?status=...
    severities = {severity.value: n for severity, n in severity_counts(exposures).items()}  # the overview's cards
    exposures.sort(key=lambda e: (-e.severity.rank, e.asset.name))
    worst = tuple(affected_asset(e) for e in exposures[:WORST_SHOWN] if e.severity.rank > 0)
    expiring_soon, health = _expiring(session, end, config.timezone), _health(config, session, end)
    return DigestMessage(
        channel, start, end, config.timezone, tuple(messages), counts, worst, expiring_soon, health, severities
    )


def _brief(event: EventRecord, found: list[Any]) -> AlertMessage:
    total = sum(len(c.exposures) for c in found)
    return AlertMessage(
        event.id,
        event.kind,
        event.product.value if event.product else None,
        event.build,
        event.release,
        event.observed_at,
        event.confidence.value,
        event.detail,
        None,
        "",
        (),
        ", ".join(sorted({c.watchlist.name for c in found})),
        tuple(),
        total,
        None,
        None,
        (),
        tuple(event.replaces),
    )


def _expiring(session: Session, end: datetime, zone: str) -> tuple[str, ...]:
    rows = expiring(session, end, end + timedelta(days=7))
    return tuple(f"{r.target_kind} {r.target} until {human(r.until, zone)}: {r.reason}" for r in rows)


def _health(config: Config, session: Session, now: datetime) -> tuple[SourceLine, ...]:
    """The health verdict on each source, as `tracker health` gives it at the end of the period (never polled,
    warning and removed included: never an `ok` the verdict did not say)."""
    return assess(gather(config, session, now), now).lines()


def preview(config: Config, session: Session, now: datetime) -> list[DigestMessage]:
    """What each channel's digest would say if it went out now (for `tracker digest --preview`)."""
    context = AlertContext(config, session, now)
    result = []
    for channel in digest_channels(context.watchlists):
        start = stored.last_period_end(session, channel) or now - timedelta(days=1)
        result.append(compose(config, session, context, Period(channel, start, now)))
    return result


def send_now(config: Config, session: Session, now: datetime) -> int:
    """`tracker digest --send`: queue every channel's digest for the period ending now."""
    queued = 0
    for digest in preview(config, session, now):
        if digest.empty and not config.digest.send_when_empty:
            continue
        message = Message(f"digest:{now.isoformat()}", digest.channel, MessageKind.DIGEST, digest_payload(digest))
        queued += enqueue(session, message, now)
        stored.period_queued(session, digest.channel, now)
    return queued


def digest_payload(digest: DigestMessage) -> dict[str, Any]:
    data = asdict(digest)
    data["period_start"], data["period_end"] = digest.period_start.isoformat(), digest.period_end.isoformat()
    data["events"] = [alert_payload(e) for e in digest.events]
    return data


def digest_from_payload(data: dict[str, Any]) -> DigestMessage:
    return DigestMessage(
        channel=data["channel"],
        period_start=datetime.fromisoformat(data["period_start"]),
        period_end=datetime.fromisoformat(data["period_end"]),
        timezone=data["timezone"],
        events=tuple(alert_from_payload(e) for e in data["events"]),
        exposure_counts=dict(data["exposure_counts"]),
        worst=tuple(AffectedAsset(**{**a, "statuses": tuple(a["statuses"])}) for a in data["worst"]),
        snoozes_expiring=tuple(data["snoozes_expiring"]),
        source_health=tuple(_source_line(h) for h in data["source_health"]),
        severity_counts=dict(data.get("severity_counts", {})),  # a digest queued before it was carried: none
    )


def _source_line(data: Any) -> SourceLine:
    """A source's line as the payload holds it; a digest queued before the verdict was carried held
    `[id, health, last error]`, where only `ok` was not a problem."""
    if isinstance(data, dict):
        return SourceLine(str(data["id"]), SourceState(data["state"]), str(data["reason"]), bool(data["problem"]))
    source, health, error = (str(part) for part in data)
    return SourceLine(source, SourceState(health), error, health != SourceState.OK)
