"""From events to outbox rows: which watchlists an event concerns, and one message per event and channel.

Stages: affected assets -> exposure (skipping snoozed findings) -> concerned watchlists (domain/alerts.py) ->
group by channel -> an `AlertMessage` payload in the outbox. Rendering and sending happen later (outbox.py), so
queueing a fan-out to thousands of assets and a hundred channels stays cheap.
"""

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlmodel import Session

from tracker.config import Config, WatchlistConfig
from tracker.domain.advisories import for_exposure
from tracker.domain.alerts import (
    AffectedAsset,
    AlertMessage,
    ClusterCount,
    Concern,
    Reminder,
    SnoozeKind,
    Target,
    Watchlist,
    by_cluster,
    concerns,
    operators_watchlist,
)
from tracker.domain.bom import releases_containing
from tracker.domain.catalog import Catalog
from tracker.domain.clock import human
from tracker.domain.decide import Knowledge
from tracker.domain.events import EventKind
from tracker.domain.exposure import Assessor, Exposure
from tracker.domain.exposure import Policy as ExposurePolicy
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.versions import Product
from tracker.notify.naming import source_names
from tracker.notify.snoozes import Snooze, Snoozes, standing
from tracker.reference import lifecycles
from tracker.store import MessageKind, repo
from tracker.store import watchlists as stored_watchlists
from tracker.store.advisories import load_advisories
from tracker.store.assets import load_assets
from tracker.store.outbox import Message, enqueue
from tracker.store.records import EventRecord, EvidenceRecord
from tracker.store.snoozes import end as end_snooze
from tracker.store.vcf_releases import load_vcf_releases
from tracker.upgrade_order import vcenter_first

MAX_ASSETS_IN_PAYLOAD = 200  # a message lists at most 20; the payload keeps some more for the digest


def watchlists(config: Config, session: Session) -> list[Watchlist]:
    """The config's watchlists and those added with `tracker watch add`."""
    specs = [w.model_dump() for w in config.watchlists]
    specs += stored_watchlists.stored_specs(session)
    found = [to_watchlist(WatchlistConfig.model_validate(spec)) for spec in specs]
    operators = operators_watchlist(config.operators.immediate, config.operators.digest)
    return [*found, operators] if operators else found


def to_watchlist(spec: WatchlistConfig) -> Watchlist:
    return Watchlist(
        name=spec.name,
        owner=spec.owner,
        products=spec.products,
        lines=spec.lines,
        vcenters=spec.vcenters,
        clusters=spec.clusters,
        tags=spec.tags,
        events=spec.events,
        min_severity=spec.min_severity,
        immediate=spec.immediate,
        digest=spec.digest,
    )


class AlertContext:
    """What queueing needs, loaded once per batch of events: catalog, assets, exposure, snoozes, watchlists."""

    def __init__(self, config: Config, session: Session, now: datetime, known: Knowledge | None = None) -> None:
        self.now = now
        self.configured = {s.id: s for s in config.sources}  # to name sources as people know them
        # A poll cycle hands over the catalog and advisories it holds; other callers load them.
        self.catalog: Catalog = known.catalog if known else repo.load_catalog(session)
        self.assets = load_assets(session)

        stored = known.advisories if known else load_advisories(session)
        advisories = for_exposure(stored.values(), self.catalog)
        self.assessor = Assessor(
            self.catalog,
            now,
            advisories=advisories,
            lifecycles=lifecycles(),
            policy=ExposurePolicy(config.policy.cooldown_days),
            upgrade_order=vcenter_first(),
            vcenters=self.assets,
        )
        self.snoozes = Snoozes.load(session, now)
        self.watchlists = watchlists(config, session)
        self.vcf_releases = load_vcf_releases(session)
        self._by_build: dict[tuple[str, int], list[Asset]] = {}
        for asset in self.assets:
            if asset.build is not None:
                self._by_build.setdefault((asset.kind.product.value, asset.build), []).append(asset)

    def affected(self, event: EventRecord) -> list[Exposure]:
        """Exposures of the assets an event touches (pulls, restores: hosts on the build; reissues: hosts on the
        builds it replaces; new builds: older hosts of the line), snoozed findings left out."""
        if event.kind == EventKind.ADVISORY and event.advisory:
            label = event.advisory
            exposures = [self.assessor.assess(a) for a in self.assets]
            return [e for e in exposures if label in e.advisories and not self.snoozes.covers(e)]
        if event.build is None or event.product is None:
            return []
        builds = list(event.replaces) if event.kind == EventKind.REISSUED else [event.build]
        assets = [a for b in builds for a in self._by_build.get((event.product, b), [])]
        if event.kind == EventKind.NEW:
            assets = self._older_in_line(event)
        exposures = [self.assessor.assess(a) for a in assets]
        return [e for e in exposures if not self.snoozes.covers(e)]

    def _older_in_line(self, event: EventRecord) -> list[Asset]:
        entry = self.catalog.find(event.product or Product.ESXI, event.build or 0)
        if entry is None or entry.release is None:
            return []
        older = []
        for asset in self.assets:
            known = self.catalog.find(asset.kind.product, asset.build) if asset.build else None
            if known and known.release and known.release.line == entry.release.line and known.release < entry.release:
                older.append(asset)
        return older

    def line_of(self, event: EventRecord) -> str | None:
        if event.product is None or event.build is None:
            return None
        entry = self.catalog.find(event.product, event.build)
        return entry.line if entry else None

    def vcf_releases_containing(self, event: EventRecord) -> tuple[str, ...]:
        """A pull's VCF releases whose BOM names the build ("VCF 9.0.0.0"): who runs those runs it too."""
        if event.kind is not EventKind.PULLED or event.product is None or event.build is None:
            return ()
        return tuple(r.name for r in releases_containing(self.vcf_releases, event.product, event.build))

    def target_for_build(self, event: EventRecord) -> Exposure | None:
        """The advice for someone about to roll out the event's build (no asset of theirs runs it)."""
        if event.product is None or event.build is None:
            return None
        kind = AssetKind.ESXI if event.product is Product.ESXI else AssetKind.VCENTER
        return self.assessor.assess(Asset(f"(build {event.build})", kind, event.build))


def queue_alerts(
    config: Config, session: Session, events: Sequence[EventRecord], now: datetime, known: Knowledge | None = None
) -> int:
    """Queue one outbox row per (event, channel) for the events' concerned watchlists. Returns rows queued.
    `known`: the catalog and advisories a poll cycle holds (not loaded again)."""
    routed = config.watchlists or config.operators.immediate or config.operators.digest
    if not events or not (routed or stored_watchlists.any_stored(session)):
        return 0
    context = AlertContext(config, session, now, known)
    evidence = repo.evidence_of(session, [e.id for e in events])
    queued = 0
    for event in events:
        affected = sorted(context.affected(event), key=_worst_first)
        found = concerns(context.watchlists, event.kind, event.product, context.line_of(event), affected)
        for channel, group in _by_channel(found).items():
            alert = _message(context, event, channel, group, evidence.get(event.id, []))
            queued += enqueue(
                session, Message(f"event:{event.id}", channel, MessageKind.ALERT, alert_payload(alert), event.id), now
            )
    return queued


def _worst_first(exposure: Exposure) -> tuple[int, str]:
    return (-exposure.severity.rank, exposure.asset.name)


def _by_channel(found: Iterable[Concern]) -> dict[str, list[Concern]]:
    grouped: dict[str, list[Concern]] = {}
    for concern in found:
        for channel in concern.watchlist.immediate:
            grouped.setdefault(channel, []).append(concern)
    return grouped


def _message(
    context: AlertContext, event: EventRecord, channel: str, group: list[Concern], evidence: list[EvidenceRecord]
) -> AlertMessage:
    if len(group) == 1:
        ordered = list(group[0].exposures)  # already worst first (queue_alerts sorts once)
    else:
        merged: dict[str, Exposure] = {}
        for concern in group:
            for exposure in concern.exposures:
                merged.setdefault(exposure.asset.name, exposure)
        ordered = sorted(merged.values(), key=_worst_first)
    advice = ordered[0] if ordered else context.target_for_build(event)
    entry = context.catalog.find(event.product, event.build) if event.product and event.build else None
    return AlertMessage(
        event_id=event.id,
        kind=event.kind,
        product=event.product.value if event.product else None,
        build=event.build,
        release=event.release,
        observed_at=event.observed_at,
        confidence=event.confidence.value,
        detail=event.detail,
        evidence_url=evidence[0].url if evidence else None,
        evidence_excerpt=evidence[0].excerpt if evidence else "",
        sources=tuple(sorted(source_names({e.source_id for e in evidence}, context.configured, context.catalog))),
        watchlist=", ".join(sorted({c.watchlist.name for c in group})),
        assets=tuple(affected_asset(e) for e in ordered[:MAX_ASSETS_IN_PAYLOAD]),
        assets_total=len(ordered),
        target=_target(advice),
        hold=advice.hold if advice else None,
        caveats=tuple(sorted({c for e in ordered for c in e.caveats})),
        replaces=tuple(event.replaces),
        replaced_by=entry.replaced_by if entry else None,
        clusters=by_cluster([e.asset for e in ordered if e.asset.kind is AssetKind.VM]),
        vcf_releases=context.vcf_releases_containing(event),
    )


def affected_asset(exposure: Exposure) -> AffectedAsset:
    release = exposure.release.short if exposure.release else "?"
    runs = f"{release} ({exposure.asset.build or '?'})"
    if exposure.asset.build is None and exposure.release is not None:  # a VM reports its Tools version only
        runs = exposure.release.name
    return AffectedAsset(
        exposure.asset.name,
        exposure.asset.cluster,
        exposure.asset.vcenter,
        runs,
        tuple(s.value for s in exposure.statuses),
        exposure.advice,
    )


def _target(advice: Exposure | None) -> Target | None:
    if advice is None or advice.recommended is None:
        return None
    return Target(advice.recommended.release_name, advice.recommended.build, advice.recommended.notes_url)


def alert_payload(message: AlertMessage) -> dict[str, Any]:
    """The message as JSON for the outbox (by hand: dataclasses.asdict deep-copies, 10x slower on big fan-outs)."""
    data = {f: getattr(message, f) for f in _ALERT_FIELDS}
    data["kind"] = message.kind.value
    data["observed_at"] = message.observed_at.isoformat()
    data["assets"] = [
        {
            "name": a.name,
            "cluster": a.cluster,
            "vcenter": a.vcenter,
            "runs": a.runs,
            "statuses": list(a.statuses),
            "advice": a.advice,
        }
        for a in message.assets
    ]
    data["target"] = asdict(message.target) if message.target else None
    data["clusters"] = [asdict(c) for c in message.clusters]
    for name in ("sources", "caveats", "replaces", "vcf_releases"):
        data[name] = list(data[name])
    return data


_ALERT_FIELDS = tuple(AlertMessage.__dataclass_fields__)


def alert_from_payload(data: dict[str, Any]) -> AlertMessage:
    values = dict(data)
    values["kind"] = EventKind(values["kind"])
    values["observed_at"] = datetime.fromisoformat(values["observed_at"])
    values["assets"] = tuple(AffectedAsset(**{**a, "statuses": tuple(a["statuses"])}) for a in values["assets"])
    values["target"] = Target(**values["target"]) if values["target"] else None
    values["clusters"] = tuple(ClusterCount(**c) for c in values.get("clusters", ()))
    for name in ("sources", "caveats", "replaces"):
        values[name] = tuple(values[name])
    values["vcf_releases"] = tuple(values.get("vcf_releases", ()))  # payloads queued before VCF releases
    return AlertMessage(**values)


# --- snoozes that reopen -------------------------------------------------------------------------------------------
def queue_reminders(config: Config, session: Session, now: datetime) -> int:
    """Snoozes that expired or whose finding materially changed reopen (ended, with the reason), and the channels
    of the watchlists their assets belong to get one message each naming the asset, why, and the old reason."""
    snoozes = standing(session)
    if not snoozes:
        return 0
    context = AlertContext(config, session, now)
    queued = 0
    for snooze in snoozes:
        matched = [
            e for e in (context.assessor.assess(a) for a in _snoozed_assets(context, snooze)) if snooze.matches(e)
        ]
        reason = _reopen_reason(snooze, matched, now, config.timezone)
        if reason is None:
            continue
        end_snooze(session, snooze.id, f"reopened: {reason}", now)
        queued += _remind(context, session, snooze, matched, reason)
    return queued


def _snoozed_assets(context: AlertContext, snooze: Snooze) -> list[Asset]:
    if snooze.kind is SnoozeKind.ASSET:
        return [a for a in context.assets if a.name.casefold() == snooze.target.casefold()]
    if snooze.kind is SnoozeKind.BUILD:
        return [a for a in context.assets if str(a.build) == snooze.target]
    return list(context.assets)


def _reopen_reason(snooze: Snooze, matched: list[Exposure], now: datetime, zone: str) -> str | None:
    if snooze.until <= now:
        return f"the snooze ran out on {human(snooze.until, zone)}"
    return next((why for e in matched if (why := snooze.changed(e)) is not None), None)


def _remind(context: AlertContext, session: Session, snooze: Snooze, matched: list[Exposure], why: str) -> int:
    queued = 0
    for watchlist in context.watchlists:
        if watchlist.health:
            continue  # the operators hear of the tracker's health, not of the estate's snoozes
        mine = tuple(affected_asset(e) for e in sorted(matched, key=_worst_first) if watchlist.selects_asset(e.asset))
        if not mine:
            continue
        reminder = Reminder(snooze.id, snooze.target, mine, why, snooze.reason, snooze.until, watchlist.name)
        for channel in watchlist.immediate:
            message = Message(f"snooze:{snooze.id}", channel, MessageKind.REMINDER, reminder_payload(reminder))
            queued += enqueue(session, message, context.now)
    return queued


def reminder_payload(reminder: Reminder) -> dict[str, Any]:
    data = asdict(reminder)
    data["until"] = reminder.until.isoformat()
    return data


def reminder_from_payload(data: dict[str, Any]) -> Reminder:
    values = dict(data)
    values["until"] = datetime.fromisoformat(values["until"])
    values["assets"] = tuple(AffectedAsset(**{**a, "statuses": tuple(a["statuses"])}) for a in values["assets"])
    return Reminder(**values)
