"""Use cases, one screen each, with `now` passed in: import the inventory, assess exposure, snooze, digests and the
outbox, and the service's ticks. The poll cycle has its own package: tracker/cycle/."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from tracker.config import Config
from tracker.cycle.report import PollReport, outcome_tally
from tracker.domain.decide import FetchOutcome
from tracker.domain.exposure import Assessor, Exposure
from tracker.domain.exposure import Policy as ExposurePolicy
from tracker.domain.health import Facts, FailedDelivery, SourceFacts, Verdict, assess
from tracker.domain.inventory import ImportPlan, ImportResult, plan_import
from tracker.domain.words import count, noun
from tracker.notify.outbox import Sender, Stop, WorkReport, work_channel, work_outbox
from tracker.store import OutboxStatus, fastpath, repo
from tracker.store.advisories import advisory_warnings
from tracker.store.assets import apply_plan, load_assets
from tracker.store.db import session_scope
from tracker.store.outbox import Message, MessageKind, deliveries, due_channels, enqueue
from tracker.store.sources import active_sources

if TYPE_CHECKING:
    from tracker.config import WatchlistConfig
    from tracker.cycle.fetch import Watch
    from tracker.store.models import DeliveryRow, OutboxRow, SourceRow
    from tracker.store.snoozes import NewSnooze

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportMode:
    replace: bool = False  # assets absent from the file are removed
    dry_run: bool = False  # planned and shown, nothing written


def import_inventory(
    engine: Engine, result: ImportResult, origin: str, now: datetime, mode: ImportMode = ImportMode()
) -> ImportPlan:
    """Plan an import against the stored assets and, unless a dry run, apply it in one transaction.
    The caller has checked `result.ok`: an import with problems is never applied."""
    with session_scope(engine) as session:
        plan = plan_import(load_assets(session), list(result.assets), mode.replace, origin)
        if not mode.dry_run:
            apply_plan(session, plan, now)
    return plan


def assess_exposure(config: Config, engine: Engine, now: datetime) -> list[Exposure]:
    """Every asset against the catalog, worst first."""
    from tracker.domain.advisories import for_exposure
    from tracker.lifecycle import lifecycles
    from tracker.store.advisories import load_advisories
    from tracker.upgrade_order import vcenter_first

    with session_scope(engine) as session:
        catalog = repo.load_catalog(session)
        assets = load_assets(session)
        advisories = for_exposure(load_advisories(session).values(), catalog)
    policy = ExposurePolicy(cooldown_days=config.policy.cooldown_days)
    assessor = Assessor(
        catalog,
        now,
        advisories=advisories,
        lifecycles=lifecycles(),
        policy=policy,
        upgrade_order=vcenter_first(),
        vcenters=assets,
    )
    return assessor.assess_all(assets)


# --- alerts ------------------------------------------------------------------------------------------------------
class Refused(ValueError):
    """What a snooze or watchlist asked for cannot be stored: each problem as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def plan_snooze(targets: dict[str, str | None], until: str, reason: str, now: datetime) -> "NewSnooze":
    """`tracker snooze add` and the web's: exactly one target (asset, build or advisory), `until` a date in the
    future, a reason. Refused naming each field wrong."""
    from tracker.config import ConfigError, clock
    from tracker.store.snoozes import NewSnooze

    given = [(k, v) for k, v in targets.items() if v not in (None, "")]
    problems: list[tuple[str, str]] = []
    if len(given) != 1:
        problems.append(("target", f"give exactly one of {', '.join(targets)}"))
    try:
        until_at: datetime | None = clock(until)
    except ConfigError:
        until_at = None
        problems.append(("until", f"expected a date such as 2021-12-01 or 2021-12-01T08:00:00Z, got {until!r}"))
    if until_at is not None and until_at <= now:
        problems.append(("until", f"{until} is not in the future"))
    if not reason.strip():
        problems.append(("reason", "say why, so the digest can remind whoever reads it"))
    if problems or until_at is None:
        raise Refused(problems)
    kind, value = given[0]
    return NewSnooze(kind, str(value), until_at, reason.strip())


def add_watchlist(config: Config, engine: Engine, spec: Mapping[str, object], now: datetime) -> "WatchlistConfig":
    """`tracker watch add` and the web's: checked as the config's watchlists are, its channels known, its name new."""
    from pydantic import ValidationError

    from tracker.config import WatchlistConfig
    from tracker.store import watchlists as stored_watchlists

    try:
        checked = WatchlistConfig.model_validate(spec)
    except ValidationError as error:
        raise Refused([(".".join(map(str, e["loc"])) or "watchlist", e["msg"]) for e in error.errors()]) from None
    unknown = [c for c in (*checked.immediate, *checked.digest) if c not in config.channels]
    if unknown:
        known = ", ".join(sorted(config.channels)) or "none"
        what = f"unknown {noun(len(unknown), 'channel')} {', '.join(unknown)}"
        raise Refused([("channels", f"{what} (channels defined: {known})")])
    name = checked.name
    if any(w.name == name for w in config.watchlists):
        raise Refused([("name", f"a watchlist named {name!r} is defined in the config already")])
    with session_scope(engine) as session:
        if not stored_watchlists.add(session, name, checked.model_dump(mode="json"), now):
            raise Refused([("name", f"a watchlist named {name!r} exists already")])
    return checked


def snooze(config: Config, engine: Engine, wanted: "NewSnooze", now: datetime) -> int:
    """Store a snooze with the finding's fingerprint as it is now, so a material change reopens it."""
    from dataclasses import replace

    from tracker.notify.snoozes import fingerprint
    from tracker.store import snoozes

    kind, target = wanted.kind, wanted.target
    exposures = {(e.asset.name.casefold(), str(e.asset.build)): e for e in assess_exposure(config, engine, now)}
    matching = [
        e
        for (name, build), e in exposures.items()
        if (kind == "asset" and name == target.casefold()) or (kind == "build" and build == target)
    ]
    print_ = fingerprint(matching[0]) if matching and kind == "asset" else ""
    if kind == "advisory":
        print_ = _advisory_label(engine, target)
    with session_scope(engine) as session:
        return snoozes.add(session, replace(wanted, fingerprint=print_), now)


def _advisory_label(engine: Engine, advisory_id: str) -> str:
    """The advisory's label at its current revision (VMSA-2021-0028.1), or "" when it is not known yet."""
    from tracker.notify.snoozes import advisory_base
    from tracker.store.advisories import load_advisories

    with session_scope(engine) as session:
        stored = load_advisories(session).get(advisory_base(advisory_id))
    return stored.label if stored else ""


def digest_now(config: Config, engine: Engine, now: datetime, send: bool) -> str:
    """`tracker digest --preview` (the text of each channel's digest) or `--send` (queue and deliver them now)."""
    from tracker.notify import digest as digests
    from tracker.notify.render import render_digest

    with session_scope(engine) as session:
        if not send:
            previews = digests.preview(config, session, now)
            if not previews:
                return "no watchlist has a digest channel: add `digest: [CHANNEL]` to a watchlist"
            return "\n\n".join(f"--- digest for {d.channel} ---\n" + render_digest(d, "text")[1] for d in previews)
        queued = digests.send_now(config, session, now)
    report = work_outbox(config, engine, now)
    return (
        f"{count(queued, 'digest')} queued: {report.sent} sent, {report.retrying} waiting for a retry, "
        f"{report.failed} failed"
    )


def outbox_tick(config: Config, engine: Engine, now: datetime, stop: Stop | None = None) -> str:
    """`tracker poll` and `tracker run --once`: remind of snoozes that reopened, then one pass over the outbox, each
    channel on its own sender (a hung receiver costs its own channel one deadline, and no other channel anything)."""
    reminded, noticed = _queue_tellings(config, engine, now)
    report = work_outbox(config, engine, now, stop)
    told = f"{count(reminded, 'reopened snooze')} to tell; " if reminded else ""
    told += f"{count(noticed, 'health notice')} for the operators; " if noticed else ""
    return f"outbox: {told}{outbox_line(report)}"


def channel_tick(config: Config, engine: Engine, channel: str, now: datetime, stop: Stop) -> str:
    """The service's sender for one channel: its due rows, in order; "" when there was nothing to send. Woken after
    every job of every tick, it first asks the store's fast path whether anything at all waits (no ORM query)."""
    if fastpath.outbox_idle(config.database, now):
        return ""
    report = work_channel(Sender.of(config, engine, stop), channel, now)
    return "" if report.idle else f"outbox: {channel}: {outbox_line(report)}"


def outbox_chores(config: Config, engine: Engine, now: datetime, stop: Stop) -> str:
    """The service's minute for the outbox besides the channels' senders: queue reminders of snoozes that reopened,
    and fail the rows of channels no longer in the config. "" when there was nothing to do."""
    reminded, noticed = _queue_tellings(config, engine, now)
    sender = Sender.of(config, engine, stop)
    gone = [c for c in due_channels(engine, now, sender.terms) if c not in config.channels]
    failed = sum(work_channel(sender, channel, now).failed for channel in gone)
    parts = []
    if reminded:
        parts.append(f"{count(reminded, 'reopened snooze')} to tell")
    if noticed:
        parts.append(f"{count(noticed, 'health notice')} for the operators")
    if failed:
        parts.append(f"{count(failed, 'message')} of channels no longer in the config failed")
    return f"outbox: {'; '.join(parts)}" if parts else ""


def _queue_tellings(config: Config, engine: Engine, now: datetime) -> tuple[int, int]:
    """What each outbox pass queues first: reminders of snoozes that reopened, and the operators' health notices."""
    from tracker.notify.pipeline import queue_reminders

    with session_scope(engine) as session:
        reminded = queue_reminders(config, session, now)
    return reminded, queue_health_notices(config, engine, now)


def outbox_line(report: WorkReport) -> str:
    line = f"{report.sent} sent, {report.retrying} waiting for a retry, {report.failed} failed"
    if report.abandoned:
        line += f", {report.abandoned} given back at shutdown (sent again on restart)"
    if report.lost:
        line += f", {report.lost} outlived its claim (another sender's result stands)"
    return line


def digest_tick(config: Config, engine: Engine, now: datetime, send: bool = True) -> str:
    """The service's minute for digests: queue those whose scheduled time has come, then (unless the service's
    channel senders do it) deliver them. Of two replicas queueing the same period at once, one commits and the
    other's insert breaks the outbox's unique (dedup_key, channel): its transaction is rolled back whole, and the
    winner's digest goes out."""
    from tracker.notify.digest import queue_due_digests

    try:
        with session_scope(engine) as session:
            queued = queue_due_digests(config, session, now)
    except IntegrityError:
        return "digest: queued by another process just now"
    if not queued:
        return "digest: nothing due"
    if not send:
        return f"digest: {queued} queued"
    report = work_outbox(config, engine, now)
    return f"digest: {queued} queued, {report.sent} sent"


# --- the service -------------------------------------------------------------------------------------------------
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


# --- the tracker's own health ------------------------------------------------------------------------------------
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


def _source_facts(config: Config, stored: "dict[str, SourceRow]", now: datetime) -> list[SourceFacts]:
    facts = []
    for source in config.sources:
        interval = timedelta(seconds=source.interval)
        row = stored.get(source.id)
        if row is None:  # configured since the last command that synced the sources: not polled yet
            facts.append(SourceFacts(source.id, "ok", interval, now))
            continue
        created = repo.utc(row.created_at)
        when = repo.opt_utc
        seen = (when(row.last_fetch_at), when(row.last_success_at), row.last_error, when(row.last_error_at))
        facts.append(SourceFacts(row.id, row.health, interval, created, *seen))
    return facts


def _failure(row: "OutboxRow", attempts: "list[DeliveryRow]") -> FailedDelivery:
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
