"""The tracker's own health, as an operator needs it: is it still hearing the vendor, and still telling people?

Pure: the store hands in what it holds (sources, failed deliveries, the last fetch), the caller the clock. A
tracker quietly cut off from the vendor is worse than none, so anything that stops the news reaching people is
a problem with a subject, a reason and the time it began:
- a configured source failing or looking wrong (its last error);
- a configured source never polled although it has been configured for longer than its interval;
- no poll at all for twice the shortest interval (the service is not running, or its cycles never finish);
- a message whose delivery failed for good in the last week (until it is retried: `tracker deliveries retry`);
- an advisory's fixed version that no build could be mapped to (`advisory_unmapped`): hosts cannot be judged;
- a channel that cannot be used (its ${VAR} is unset);
- a digest queued more than DIGEST_GRACE ago and still not sent;
- a stalled outbox: a message due more than STALL_GRACE ago and still waiting (the channel's sender is not
  working: its process stopped, or the database was away), named by channel.
A source configured less than its interval ago and not polled yet is `never polled`: shown, not a problem yet.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tracker.domain.words import count


class SourceState(StrEnum):
    OK = "ok"
    ANOMALY = "anomaly"
    FAILING = "failing"
    NEVER_POLLED = "never polled"


@dataclass(frozen=True)
class SourceFacts:
    id: str
    health: str  # tracker.domain.catalog.Health as stored
    interval: timedelta
    configured_at: datetime
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def state(self) -> SourceState:
        return SourceState.NEVER_POLLED if self.last_fetch_at is None else SourceState(self.health)


@dataclass(frozen=True)
class FailedDelivery:
    channel: str
    what: str  # "alert for event 17", "digest of 2021-11-20"
    error: str | None
    at: datetime


@dataclass(frozen=True)
class Problem:
    subject: str  # "source esxi-kb", "channel team-mail", "polling"
    reason: str
    since: datetime | None


@dataclass(frozen=True)
class Verdict:
    problems: tuple[Problem, ...]
    sources: tuple[SourceFacts, ...]
    warnings: tuple[str, ...] = ()  # worth saying, not a problem: healthy all the same (exit 0)

    @property
    def healthy(self) -> bool:
        return not self.problems


DELIVERY_WINDOW = timedelta(days=7)  # a delivery that failed for good stays a problem this long, unless retried
DIGEST_GRACE = timedelta(hours=1)  # a queued digest not sent by then is overdue
NO_CHANNEL = "no channel configured: alerts and digests go nowhere until one is added under `channels:`"
STALL_GRACE = timedelta(minutes=5)  # a message due this long and not sent means the outbox is not being worked


@dataclass(frozen=True)
class Facts:
    """What the store and the config say, for `assess`."""

    sources: tuple[SourceFacts, ...] = ()
    failed: tuple[FailedDelivery, ...] = ()
    unusable: tuple[tuple[str, str], ...] = ()  # (channel, why)
    unsent_digests: tuple[FailedDelivery, ...] = ()  # queued digests not sent yet (`at`: when queued)
    advisory_warnings: tuple[tuple[str, str], ...] = ()  # (source id, advisory_unmapped warning)
    waiting: tuple[FailedDelivery, ...] = ()  # messages (not digests) waiting to be sent (`at`: when they were due)
    channels: int = 1  # channels configured: with none, nothing the tracker finds reaches anyone


def assess(facts: Facts, now: datetime) -> Verdict:
    """Every problem: sources (in id order), polling as a whole, channels that cannot be used, deliveries that
    failed for good (oldest first), digests overdue."""
    sources = facts.sources
    problems = [p for s in sorted(sources, key=lambda s: s.id) if (p := _source_problem(s, now))]
    stalled = _polling_problem(sources, now)
    if stalled:
        problems.append(stalled)
    problems += [Problem(f"advisories of {source}", warning, None) for source, warning in facts.advisory_warnings]
    problems += [Problem(f"channel {channel}", f"cannot be used: {why}", None) for channel, why in facts.unusable]
    problems += [
        Problem(f"channel {f.channel}", f"{f.what} failed for good: {f.error or 'no reason given'}", f.at)
        for f in sorted(facts.failed, key=lambda f: f.at)
        if now - f.at <= DELIVERY_WINDOW
    ]
    problems += [
        Problem(f"channel {d.channel}", f"{d.what} is overdue: queued, not sent ({d.error or 'not tried yet'})", d.at)
        for d in sorted(facts.unsent_digests, key=lambda d: d.at)
        if now - d.at > DIGEST_GRACE
    ]
    problems += _stalled(facts.waiting, now)
    warnings = () if facts.channels else (NO_CHANNEL,)
    return Verdict(tuple(problems), tuple(sources), warnings)


def _stalled(waiting: Sequence[FailedDelivery], now: datetime) -> list[Problem]:
    """One problem per channel whose oldest waiting message was due more than STALL_GRACE ago."""
    late: dict[str, list[FailedDelivery]] = {}
    for item in sorted(waiting, key=lambda w: w.at):
        if now - item.at > STALL_GRACE:
            late.setdefault(item.channel, []).append(item)
    return [
        Problem(
            f"channel {channel}",
            f"outbox stalled: {count(len(items), 'message')} due since {items[0].at:%Y-%m-%d %H:%M} UTC, not sent"
            f" ({items[0].error or 'not tried yet'}): is `tracker run` running, and its database reachable?",
            items[0].at,
        )
        for channel, items in sorted(late.items())
    ]


def _source_problem(source: SourceFacts, now: datetime) -> Problem | None:
    subject = f"source {source.id}"
    match source.state:
        case SourceState.NEVER_POLLED:
            if now - source.configured_at <= source.interval:
                return None
            return Problem(subject, f"never polled, although its interval is {_span(source.interval)}", None)
        case SourceState.OK:
            return None
        case state:
            error = source.last_error or "no error recorded"
            return Problem(subject, f"{state.value}: {error}", _trouble_began(source))


def _trouble_began(source: SourceFacts) -> datetime | None:
    """The first failure after the last success is not stored; the last success bounds it (or the last error)."""
    return source.last_success_at or source.last_error_at


def _polling_problem(sources: Sequence[SourceFacts], now: datetime) -> Problem | None:
    polled = [s.last_fetch_at for s in sources if s.last_fetch_at is not None]
    if not polled:
        return None  # each source that should have been polled by now is its own problem
    shortest = min(s.interval for s in sources)
    last = max(polled)
    if now - last <= 2 * shortest:
        return None
    reason = f"no source polled for {_span(now - last)}, twice the shortest interval is {_span(2 * shortest)}"
    return Problem("polling", reason + ": is `tracker run` running?", last)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= 10 * size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
