"""Alerts: which watchlists an event concerns, what message each gets, and when a failed send is tried again.

Pure decisions (PRODUCT.md section 6), in the Alertmanager spirit: small stages, `now` passed in, reasons returned.
Products, lines, kinds and severity select events; vCenters, clusters and tags (globs) select the watchlist's
assets. An event concerns a watchlist when it passes the event filters and either affects one of its assets or is
a pull, reissue or restore in a watched line (those matter before a rollout too). The message lists only the
watchlist's own assets.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase

from tracker.domain.events import EventKind
from tracker.domain.exposure import Exposure
from tracker.domain.fixes import Severity
from tracker.domain.health import SourceLine
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.versions import Product

# Transient failures are tried again after these delays, then every 6 h until a day has passed: then failed.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
RETRY_EVERY = timedelta(hours=6)
RETRY_FOR = timedelta(hours=24)
LINE_KINDS = frozenset({EventKind.PULLED, EventKind.REISSUED, EventKind.RESTORED})
EVENT_SEVERITY = {
    EventKind.PULLED: Severity.CRITICAL,
    EventKind.REISSUED: Severity.IMPORTANT,
    EventKind.RESTORED: Severity.MODERATE,
    EventKind.DISCREPANCY: Severity.MODERATE,
    EventKind.ADVISORY: Severity.IMPORTANT,
    EventKind.NEW: Severity.LOW,
    EventKind.SOURCE_ANOMALY: Severity.LOW,
    EventKind.SOURCE_FAILING: Severity.MODERATE,
    EventKind.SOURCE_RECOVERED: Severity.LOW,
}


class SnoozeKind(StrEnum):
    """What a snooze keeps out of immediate alerts: one asset (by name), every asset on a build (by number), or a
    finding that is only one advisory (by id, any revision)."""

    ASSET = "asset"
    BUILD = "build"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class Watchlist:
    name: str
    owner: str = ""
    products: tuple[Product, ...] = ()  # empty = all
    lines: tuple[str, ...] = ()  # "7.0"; empty = all
    vcenters: tuple[str, ...] = ()  # globs
    clusters: tuple[str, ...] = ()  # globs
    tags: tuple[str, ...] = ()  # globs
    events: tuple[EventKind, ...] = ()  # empty = all
    min_severity: Severity = Severity.NONE
    immediate: tuple[str, ...] = ()  # channel names
    digest: tuple[str, ...] = ()
    health: bool = False  # the operators' route: the tracker's own health (sources failing and recovering)

    def selects_asset(self, asset: Asset) -> bool:
        return (
            _any_glob(self.vcenters, [asset.vcenter])
            and _any_glob(self.clusters, [asset.cluster])
            and _any_glob(self.tags, list(asset.tags))
        )

    def selects_event(self, kind: EventKind, product: str | None, line: str | None) -> bool:
        if self.events and kind.value not in self.events:
            return False
        if self.products and product is not None and product not in self.products:
            return False
        if self.lines and line is not None and line not in self.lines:
            return False
        return EVENT_SEVERITY[kind].rank >= self.min_severity.rank


def _any_glob(patterns: Sequence[str], values: Sequence[str]) -> bool:
    if not patterns:
        return True
    return any(fnmatchcase(v.casefold(), p.casefold()) for p in patterns for v in values if v)


@dataclass(frozen=True)
class AffectedAsset:
    name: str
    cluster: str
    vcenter: str
    runs: str  # "ESXi 7.0 U3 (18644231)"
    statuses: tuple[str, ...]
    advice: str = ""  # Exposure.advice: the target with its caveats and what comes first, or the hold


@dataclass(frozen=True)
class ClusterCount:
    """How many of an alert's affected assets sit in one cluster: VMs are told by cluster, not one by one."""

    cluster: str
    vcenter: str
    count: int


def by_cluster(assets: Sequence[Asset]) -> tuple[ClusterCount, ...]:
    """Counts per (cluster, vCenter), most first, then by name: "12 VMs in cluster prod-a" for 12 lines."""
    counts: dict[tuple[str, str], int] = {}
    for asset in assets:
        counts[(asset.cluster, asset.vcenter)] = counts.get((asset.cluster, asset.vcenter), 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ClusterCount(cluster, vcenter, count) for (cluster, vcenter), count in ordered)


@dataclass(frozen=True)
class Target:
    release: str
    build: int
    notes_url: str | None = None


@dataclass(frozen=True)
class AlertMessage:
    """Everything a template needs to tell one watchlist about one event."""

    event_id: int
    kind: EventKind
    product: str | None
    build: int | None
    release: str
    observed_at: datetime
    confidence: str
    detail: str
    evidence_url: str | None
    evidence_excerpt: str
    sources: tuple[str, ...]  # which sources agree
    watchlist: str
    assets: tuple[AffectedAsset, ...]  # the watchlist's affected assets, worst first
    assets_total: int
    target: Target | None
    hold: str | None
    caveats: tuple[str, ...]  # e.g. the VIB known issue
    replaces: tuple[int, ...] = ()
    replaced_by: int | None = None
    clusters: tuple[ClusterCount, ...] = ()  # set for VMs: the alert counts them per cluster instead of listing
    vcf_releases: tuple[str, ...] = ()  # a pulled build: the VCF releases whose BOM names it ("VCF 9.0.0.0")

    @property
    def severity(self) -> Severity:
        return EVENT_SEVERITY[self.kind]


@dataclass(frozen=True)
class Reminder:
    """A snooze that reopened ("remind me after", PRODUCT.md 1): which assets, why it reopened, and why it had been
    snoozed; one per channel of the watchlists the assets belong to."""

    snooze_id: int
    target: str  # what was snoozed: an asset name, a build number, an advisory id
    assets: tuple[AffectedAsset, ...]
    reason: str  # why it reopened
    snoozed_for: str  # the old snooze's reason
    until: datetime
    watchlist: str


@dataclass(frozen=True)
class Concern:
    """A watchlist an event concerns, with its affected assets (worst first) and why it concerns it."""

    watchlist: Watchlist
    exposures: tuple[Exposure, ...]
    reason: str  # "affects 3 of its assets" / "a pull in a watched line (7.0)"


def concerns(
    watchlists: Sequence[Watchlist],
    kind: EventKind,
    product: str | None,
    line: str | None,
    affected: Sequence[Exposure],
) -> list[Concern]:
    """The watchlists an event concerns. `affected` are the exposures of the assets the event touches."""
    places: dict[tuple[str, str, tuple[str, ...]], list[Exposure]] = {}
    for exposure in affected:  # thousands of hosts share a few (vCenter, cluster, tags): match globs per place
        asset = exposure.asset
        places.setdefault((asset.vcenter, asset.cluster, asset.tags), []).append(exposure)
    result = []
    for watchlist in watchlists:
        if kind.is_source_health:  # no asset is touched: the tracker's own health concerns its operators only
            if watchlist.health and watchlist.selects_event(kind, None, None):
                result.append(Concern(watchlist, (), "the tracker's own health"))
            continue
        if not watchlist.selects_event(kind, product, line):
            continue
        chosen = {id(e) for place, group in places.items() if _selects_place(watchlist, *place) for e in group}
        mine = tuple(e for e in affected if id(e) in chosen) if chosen else ()
        if mine:
            result.append(Concern(watchlist, mine, f"affects {len(mine)} of its assets"))
        elif kind in LINE_KINDS and line is not None and (not watchlist.lines or line in watchlist.lines):
            result.append(Concern(watchlist, (), f"a {kind.value} build in a watched line ({line})"))
    return result


OPERATORS = "(operators)"  # the operators' route, named so that no configured watchlist can take its name
OPERATOR_EVENTS = (EventKind.SOURCE_FAILING, EventKind.SOURCE_RECOVERED)


def operators_watchlist(immediate: Sequence[str], digest: Sequence[str]) -> Watchlist | None:
    """The config's `operators:` as a watchlist of the tracker's own health, or None when it routes nowhere."""
    if not immediate and not digest:
        return None
    return Watchlist(
        OPERATORS, "operators", events=OPERATOR_EVENTS, immediate=tuple(immediate), digest=tuple(digest), health=True
    )


def _selects_place(watchlist: Watchlist, vcenter: str, cluster: str, tags: tuple[str, ...]) -> bool:
    return watchlist.selects_asset(Asset("", AssetKind.ESXI, None, vcenter=vcenter, cluster=cluster, tags=tags))


def next_attempt(first_try: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try a transient failure again after `attempts` tries, or None when it is time to give up."""
    delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else RETRY_EVERY
    when = now + delay
    return when if when - first_try <= RETRY_FOR else None


@dataclass(frozen=True)
class DigestMessage:
    """One digest for one channel: the period's events, exposure counts, worst assets, snoozes, source health."""

    channel: str
    period_start: datetime
    period_end: datetime
    timezone: str
    events: tuple[AlertMessage, ...] = ()
    exposure_counts: dict[str, int] = field(default_factory=dict)  # assets with each status (an asset may have several)
    worst: tuple[AffectedAsset, ...] = ()
    snoozes_expiring: tuple[str, ...] = ()
    source_health: tuple[SourceLine, ...] = ()  # the health verdict on each source when the digest was made
    severity_counts: dict[str, int] = field(default_factory=dict)  # assets of each severity, exactly, worst first

    @property
    def empty(self) -> bool:
        return not self.events
