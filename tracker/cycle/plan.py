"""The plan stage: which pages this cycle fetches, with which validators, read from the store's snapshot before
anything is fetched.

- Configured sources: all of them (`tracker poll`), one (`--source ID`), or those due (`tracker run`: never polled,
  or their interval has elapsed since their last poll, in the cycle's `now`).
- The release notes a KB table's rows link to, with their table: by tier (tracker/domain/tiers.py), at most
  `http.follow_limit` of them per KB table and cycle (every-cycle pages first, then those waiting longest; the rest
  stay due for the next cycle). Pages never fetched are added while the cycle runs, up to the follow limit again
  (tracker/cycle/full.py): a KB table costs at most twice the follow limit in followed pages per cycle, however
  many rows it lists.
A multi-document kind's root (the depot index) rarely changes while its parts do: it is always read through.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tracker.config import Config, SourceConfig
from tracker.domain.catalog import Health
from tracker.domain.roles import SourceRole
from tracker.domain.tiers import Tier, due, tiers
from tracker.domain.versions import Product
from tracker.http import Validators
from tracker.sources import REGISTRY
from tracker.store.snapshot import Snapshot, StoredSource


@dataclass(frozen=True)
class Request:
    """What the caller asks of a cycle."""

    now: datetime
    only: str | None = None  # `tracker poll --source ID`
    due_only: bool = False  # the service: only the sources whose interval has elapsed


@dataclass(frozen=True)
class Planned:
    """One page to fetch."""

    id: str
    kind: str
    url: str  # the real URL (a download token from ${VAR} in it): never stored or shown
    product: str
    validators: Validators = field(default_factory=Validators)
    parent_id: str | None = None
    tier: Tier | None = None  # for followed release notes

    @property
    def multi_document(self) -> bool:
        return REGISTRY[self.kind].multi_document


def wanted_sources(config: Config, snapshot: Snapshot, request: Request) -> list[SourceConfig]:
    if request.only is not None:
        return [config.source(request.only)]
    if not request.due_only:
        return list(config.sources)
    return [s for s in config.sources if _due(snapshot.sources.get(s.id), s.interval, request.now)]


def _due(stored: StoredSource | None, interval: int, now: datetime) -> bool:
    return stored is None or stored.last_fetch_at is None or now - stored.last_fetch_at >= timedelta(seconds=interval)


def planned_source(config: Config, source: SourceConfig, snapshot: Snapshot) -> Planned:
    stored = snapshot.sources.get(source.id)
    same = stored is not None and stored.url == config.mask(source.url) and stored.kind == source.kind
    conditional = same and not REGISTRY[source.kind].multi_document
    validators = Validators(stored.etag, stored.last_modified) if conditional and stored else Validators()
    return Planned(source.id, source.kind, source.url, source.product, validators)


def follows(source: SourceConfig) -> bool:
    return source.follow_links and REGISTRY[source.kind].role is SourceRole.INDEX


def known_children(source: SourceConfig, snapshot: Snapshot, tier_of: "TierOf", limit: int) -> list[Planned]:
    """The followed pages fetched before whose tier makes them due, at most `limit` of them (every-cycle pages
    first, then those fetched longest ago), in id order."""
    if not follows(source) or limit <= 0:
        return []  # `follow_limit: 0` follows none: no tier is worked out (the snapshot may carry no build facts)
    now = tier_of.now
    waiting: list[tuple[Tier, StoredSource]] = []
    for child in snapshot.children(source.id):
        if child.last_fetch_at is None:
            continue  # never fetched: a new page, under the follow limit
        tier = tier_of(child)
        if due(tier, child.last_fetch_at, now):
            waiting.append((tier, child))
    waiting.sort(key=lambda item: (item[0] is not Tier.EVERY_CYCLE, item[1].last_fetch_at))
    chosen = sorted(waiting[:limit], key=lambda item: item[1].id)
    return [
        Planned(c.id, c.kind, c.url, c.product, Validators(c.etag, c.last_modified), source.id, tier)
        for tier, c in chosen
    ]


def plan(config: Config, snapshot: Snapshot, request: Request) -> list[Planned]:
    """The pages known before the cycle starts, in the order they are decided: each configured source, then the
    known release notes it links to."""
    result: list[Planned] = []
    tier_of = TierOf(snapshot, request.now)
    for source in wanted_sources(config, snapshot, request):
        result.append(planned_source(config, source, snapshot))
        result += known_children(source, snapshot, tier_of, config.http.follow_limit)
    return result


class TierOf:
    """The tier of each followed page, worked out once per cycle, on first use (a config without followed pages
    never needs it)."""

    def __init__(self, snapshot: Snapshot, now: datetime) -> None:
        self.snapshot, self.now = snapshot, now
        self._tiers: dict[tuple[Product, int], Tier] | None = None

    def __call__(self, child: StoredSource) -> Tier:
        if self._tiers is None:
            self._tiers = tiers(self.snapshot.notes, self.now)
        return self._tiers.get((Product(child.product), child_build(child.id)), Tier.EVERY_CYCLE)


def quiet_possible(config: Config, snapshot: Snapshot, planned: list[Planned]) -> bool:
    """Whether a cycle whose pages all answer 304 can be recorded by the store's fast path: the stored sources
    are those of the config (nothing to sync), and every planned page is a healthy, single-document page fetched
    before with no vanished row waiting for confirmation."""
    sources = snapshot.sources
    for source in config.sources:
        row = sources.get(source.id)
        expected = (source.kind, config.mask(source.url), source.product, True, True)
        if row is None or (row.kind, row.url, row.product, row.configured, row.active) != expected:
            return False
    configured = {s.id for s in config.sources}
    if any(r.configured and r.active and r.id not in configured for r in sources.values()):
        return False  # a source left the config: the ORM path retires it
    if config.http.follow_limit and any(_unfetched_children(s, snapshot) for s in config.sources):
        return False  # linked release notes wait for their first fetch: the full path follows them
    return bool(planned) and all(_quiet(sources.get(p.id), p, snapshot) for p in planned)


def _unfetched_children(source: SourceConfig, snapshot: Snapshot) -> bool:
    return follows(source) and any(c.last_fetch_at is None for c in snapshot.children(source.id))


def _quiet(row: StoredSource | None, planned: Planned, snapshot: Snapshot) -> bool:
    return (
        row is not None
        and not planned.multi_document
        and row.health == Health.OK
        and row.last_fetch_at is not None
        and row.id not in snapshot.pending
    )


def child_id(parent_id: str, build: int) -> str:
    """The id of the release-notes page a KB row links to."""
    return f"{parent_id}:notes:{build}"


def child_build(source_id: str) -> int:
    """The build whose notes a followed page is (the inverse of `child_id`)."""
    return int(source_id.rsplit(":notes:", 1)[1])


@dataclass(frozen=True)
class Schedule:
    """When a source is polled next, as `tracker sources` shows it."""

    next_poll: datetime | None  # None: with its KB table (release notes of the every-cycle tier)
    tier: Tier | None = None  # for followed release notes


def schedules(config: Config, snapshot: Snapshot, now: datetime) -> dict[str, Schedule]:
    """Every configured source's next poll, and every followed page's tier and next fetch."""
    result: dict[str, Schedule] = {}
    tier_of = TierOf(snapshot, now)
    for source in config.sources:
        stored = snapshot.sources.get(source.id)
        last = stored.last_fetch_at if stored else None
        result[source.id] = Schedule(last + timedelta(seconds=source.interval) if last else now)
        for child in snapshot.children(source.id) if follows(source) else []:
            tier = tier_of(child)
            fetched = child.last_fetch_at
            rest = fetched + tier.every if fetched and tier is not Tier.EVERY_CYCLE else None
            result[child.id] = Schedule(rest, tier)
    return result
