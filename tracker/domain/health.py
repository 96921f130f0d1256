"""The tracker's own health, as an operator needs it: is it still hearing the vendor, and still telling people?

This is the one verdict every face shows (`tracker health`, `tracker sources`, the digest, the operators' notices,
the overview and the sources page, the API, `/metrics`, `/readyz`): computed here once, from the facts the store
and the config hand in (gathered once, in tracker/jobs/health.py), with the clock passed in. A face formats it and
never judges a source again.

Each source gets one state, with its reasons:
- `never polled`: configured, no fetch recorded yet. Never `ok`. Within its interval of being configured it is not
  a problem yet; after that it is one ("never polled, although its interval is 1 h").
- `ok`: its last poll answered and nothing it said was left unread.
- `warning`: its last poll answered, but what it said could not all be used (an advisory's fixes unreadable or
  unmapped): hosts cannot be judged, so it is a problem, and never shown as `ok`.
- `anomaly` / `failing`: its last poll failed or looked wrong (`failing`: `failing_after` polls in a row).
- `removed`: stored, but no longer in the config. Listed as such, never a problem, never polled again.
Pages followed from KB rows get the same states but are not the tracker's problems: their KB table's own state is.

A tracker quietly cut off from the vendor is worse than none, so anything that stops the news reaching people is
a problem with a subject, a reason and the time it began:
- a configured source in one of the problem states above (its last error, its advisory warnings);
- no poll at all for twice the shortest interval (the service is not running, or its cycles never finish);
- a message whose delivery failed for good in the last week (until it is retried: `tracker deliveries retry`);
- a channel that cannot be used (its ${VAR} is unset);
- a digest queued more than DIGEST_GRACE ago and still not sent;
- a stalled outbox: a message due more than STALL_GRACE ago and still waiting (the channel's sender is not
  working: its process stopped, or the database was away), named by channel.
The tracker is `healthy` without a problem (exit 0 of `tracker health`, maybe with warnings), `degraded` with one
(exit 3); `unavailable` is what the faces say when the facts cannot be read (the database does not answer, exit 1).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tracker.domain.catalog import Health
from tracker.domain.words import count


class SourceState(StrEnum):
    """A source's state in every face (the badge, `--json`'s `health`, the `state` label of /metrics)."""

    NEVER_POLLED = "never polled"
    OK = "ok"
    WARNING = "warning"
    ANOMALY = "anomaly"
    FAILING = "failing"
    REMOVED = "removed"


class Status(StrEnum):
    """The tracker's overall status: `tracker health`'s exit 0, 3 and 1."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class SourceFacts:
    id: str
    health: Health  # as the last poll left it
    interval: timedelta
    configured_at: datetime
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    in_config: bool = True  # False: stored, but no longer in the config (a followed page: no longer listed)


@dataclass(frozen=True)
class SourceVerdict:
    """One source as every face shows it: its state, why (empty when `ok`; its advisory warnings among them),
    whether it makes the tracker degraded, since when its trouble began (when known), and its advisory warnings
    alone (what `tracker sources` lists under the table)."""

    facts: SourceFacts
    state: SourceState
    reasons: tuple[str, ...] = ()
    problem: bool = False
    since: datetime | None = None
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.facts.id


@dataclass(frozen=True)
class SourceLine:
    """One source as a message carries the verdict on it (the digest): plain values that survive the outbox's
    JSON, so a digest sent later says what the verdict said when it was made."""

    id: str
    state: SourceState
    reason: str = ""  # the verdict's reasons, joined
    problem: bool = False


@dataclass(frozen=True)
class FailedDelivery:
    channel: str
    what: str  # "alert for event 17", "digest of 2021-11-20"
    error: str | None
    at: datetime


@dataclass(frozen=True)
class Problem:
    subject: str  # "source esxi-kb", "advisories of vmsa", "channel team-mail", "polling"
    reason: str
    since: datetime | None
    source: str | None = None  # the source it is about, if it is about one (its state says so too)


@dataclass(frozen=True)
class Verdict:
    problems: tuple[Problem, ...]
    sources: tuple[SourceVerdict, ...]  # the configured sources, then those removed from the config, by id
    warnings: tuple[str, ...] = ()  # worth saying, not a problem: healthy all the same (exit 0)
    followed: tuple[SourceVerdict, ...] = ()  # release-notes pages followed from KB rows: shown, never a problem

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def status(self) -> Status:
        return Status.HEALTHY if self.healthy else Status.DEGRADED

    @property
    def every_source_ok(self) -> bool:
        """At least one source is configured, and every configured one answered with nothing left unread."""
        configured = [s for s in self.sources if s.state != SourceState.REMOVED]
        return bool(configured) and all(s.state == SourceState.OK for s in configured)

    def states(self) -> dict[SourceState, int]:
        """How many of the sources (configured and removed) are in each state, in the enum's order."""
        found = [s.state for s in self.sources]
        return {state: found.count(state) for state in SourceState if state in found}

    def lines(self) -> tuple[SourceLine, ...]:
        """Each configured or removed source as a message carries it."""
        return tuple(SourceLine(s.id, s.state, "; ".join(s.reasons), s.problem) for s in self.sources)

    def of(self, source_id: str) -> SourceVerdict | None:
        """The verdict on one source (a configured, removed or followed one)."""
        return next((s for s in (*self.sources, *self.followed) if s.id == source_id), None)


@dataclass(frozen=True)
class Readiness:
    """`/readyz`'s answer: can this tracker serve? `reason` says why not."""

    ready: bool
    reason: str | None = None


DELIVERY_WINDOW = timedelta(days=7)  # a delivery that failed for good stays a problem this long, unless retried
DIGEST_GRACE = timedelta(hours=1)  # a queued digest not sent by then is overdue
NO_CHANNEL = "no channel configured: alerts and digests go nowhere until one is added under `channels:`"
NO_SOURCE = "no source configured: nothing is polled until one is added under `sources:`"
STALL_GRACE = timedelta(minutes=5)  # a message due this long and not sent means the outbox is not being worked
POLLING = "polling"  # the subject of the problem "no source polled for ..."


@dataclass(frozen=True)
class Facts:
    """What the store and the config say, for `assess`."""

    sources: tuple[SourceFacts, ...] = ()  # configured, and stored ones removed from the config (`in_config`)
    failed: tuple[FailedDelivery, ...] = ()
    unusable: tuple[tuple[str, str], ...] = ()  # (channel, why)
    unsent_digests: tuple[FailedDelivery, ...] = ()  # queued digests not sent yet (`at`: when queued)
    advisory_warnings: tuple[tuple[str, str], ...] = ()  # (source id, advisory_unmapped/unreadable warning)
    waiting: tuple[FailedDelivery, ...] = ()  # messages (not digests) waiting to be sent (`at`: when they were due)
    channels: int = 1  # channels configured: with none, nothing the tracker finds reaches anyone
    followed: tuple[SourceFacts, ...] = ()  # release-notes pages followed from KB rows


def assess(facts: Facts, now: datetime) -> Verdict:
    """Every source's state and every problem: sources (in id order), polling as a whole, channels that cannot be
    used, deliveries that failed for good (oldest first), digests overdue, outboxes stalled."""
    warned: dict[str, list[str]] = {}
    for source_id, warning in facts.advisory_warnings:
        warned.setdefault(source_id, []).append(warning)
    ordered = sorted(facts.sources, key=lambda s: (not s.in_config, s.id))
    sources = tuple(judge(s, now, tuple(warned.get(s.id, ()))) for s in ordered)
    problems = [_source_problem(s) for s in sources if s.problem and s.state != SourceState.WARNING]
    stalled = _polling_problem([s for s in facts.sources if s.in_config], now)
    if stalled:
        problems.append(stalled)
    # an advisory warning keeps its own subject: it is about what a page said, not whether the page answers
    problems += [Problem(f"advisories of {s.id}", w, None, s.id) for s in sources if s.problem for w in s.warnings]
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
    warnings = [] if any(s.in_config for s in facts.sources) else [NO_SOURCE]
    warnings += [] if facts.channels else [NO_CHANNEL]
    followed = tuple(
        judge(s, now, tuple(warned.get(s.id, ())), followed=True) for s in sorted(facts.followed, key=lambda s: s.id)
    )
    return Verdict(tuple(problems), sources, tuple(warnings), followed)


def judge(source: SourceFacts, now: datetime, warnings: tuple[str, ...] = (), followed: bool = False) -> SourceVerdict:
    """One source's state, reasons and whether it is a problem of the tracker (a configured source only)."""
    if not source.in_config:
        where = "listed by its KB table" if followed else "in the config"
        return SourceVerdict(source, SourceState.REMOVED, (f"no longer {where}: not polled",))
    counts = not followed
    if source.last_fetch_at is None:
        if now - source.configured_at <= source.interval:
            reason = f"not polled yet, within its interval of {_span(source.interval)}"
            return SourceVerdict(source, SourceState.NEVER_POLLED, (reason,))
        reason = f"never polled, although its interval is {_span(source.interval)}"
        return SourceVerdict(source, SourceState.NEVER_POLLED, (reason,), counts)
    if source.health != Health.OK:  # anomaly, failing: as the last poll left it
        reason = f"{source.health}: {source.last_error or 'no error recorded'}"
        since = _trouble_began(source)
        return SourceVerdict(source, SourceState(source.health), (reason, *warnings), counts, since, warnings)
    if warnings:
        return SourceVerdict(source, SourceState.WARNING, warnings, counts, None, warnings)
    return SourceVerdict(source, SourceState.OK)


def readiness(verdict: Verdict, starting: bool) -> Readiness:
    """Can this tracker serve? Yes while its database answers (there is a verdict at all) and what it serves is
    current: polling is not stalled (a service that `starting` has not polled yet gets its grace). A source in
    trouble, a failed delivery or an advisory warning leaves it degraded but serving: taking the web face away would
    hide the very problems it shows."""
    stalled = next((p for p in verdict.problems if p.subject == POLLING), None)
    if stalled is None or starting:
        return Readiness(True)
    return Readiness(False, stalled.reason)


def _source_problem(source: SourceVerdict) -> Problem:
    return Problem(f"source {source.id}", source.reasons[0], source.since, source.id)


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
    return Problem(POLLING, reason + ": is `tracker run` running?", last)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= 10 * size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
