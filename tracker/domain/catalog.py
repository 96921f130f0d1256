"""The build catalog and its per-source state: every build we know, each source's sightings and health.

These are the plain records the diff (tracker/domain/diff.py) reads and changes, and the store persists.
The catalog is a small aggregate (hundreds of builds), loaded whole for a poll and saved in one transaction.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tracker.domain.events import Confidence, Evidence
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product, Release


class BuildStatus(StrEnum):
    AVAILABLE = "available"
    PULLED = "pulled"


class Health(StrEnum):
    OK = "ok"
    ANOMALY = "anomaly"  # the last poll failed or looked wrong
    FAILING = "failing"  # it has failed `failing_after` polls in a row


BuildKey = tuple[Product, int]


@dataclass
class Entry:
    """One build in the catalog."""

    product: Product
    build: int
    release: Release | None
    release_name: str
    first_seen: datetime
    release_date: str | None = None  # ISO date
    alt_builds: tuple[int, ...] = ()
    notes_url: str | None = None
    status: BuildStatus = BuildStatus.AVAILABLE
    pull_confidence: Confidence | None = None
    pull_notices: set[str] = field(default_factory=set)  # sources whose pull notice for it still stands
    replaced_by: int | None = None

    @property
    def key(self) -> BuildKey:
        return (self.product, self.build)

    @property
    def line(self) -> str | None:
        return self.release.line if self.release else None


@dataclass
class Sighting:
    """A source listing a build: when first and last, how many good polls in a row it has been missing."""

    source_id: str
    product: Product
    build: int
    first_seen: datetime
    last_seen: datetime
    url: str
    excerpt: str = ""
    misses: int = 0
    gone: bool = False  # missing for `pull_confirmations` good polls

    @property
    def present(self) -> bool:
        return self.misses == 0


@dataclass
class SourceState:
    """What the tracker remembers of one source between polls."""

    id: str
    kind: str
    url: str
    product: Product
    role: SourceRole
    created_at: datetime
    parent_id: str | None = None  # set for release notes found through a KB row's link
    baselined: bool = False  # it has had one good poll
    health: Health = Health.OK
    failures: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    rows_seen: int = 0


@dataclass(frozen=True)
class Policy:
    """How sure the tracker wants to be (config `policy`)."""

    pull_confirmations: int = 2
    max_drop_ratio: float = 0.2
    failing_after: int = 3
    cooldown_days: int = 7


@dataclass
class Catalog:
    """Everything the diff needs: builds, sightings, sources and when each product had its baseline.

    Sightings are indexed by source and vCenter's second builds by number, so a poll costs time in proportion to
    its page, not to the whole catalog. `dirty_*` name what a diff changed, so the store writes only that. A 304
    changes no sighting: a present row was last seen at its source's last good poll (`seen_at`), so the store need
    not rewrite every row a source lists each time its page answers "unchanged".
    """

    entries: dict[BuildKey, Entry] = field(default_factory=dict)
    sources: dict[str, SourceState] = field(default_factory=dict)
    baselines: dict[Product, datetime] = field(default_factory=dict)
    dirty_entries: set[BuildKey] = field(default_factory=set)
    dirty_sightings: set[tuple[str, Product, int]] = field(default_factory=set)
    dirty_sources: set[str] = field(default_factory=set)
    new_baselines: set[Product] = field(default_factory=set)
    # Builds gone from an availability source during this cycle, with the evidence: decided by corroboration.settle once
    # every source of the cycle has spoken (two sources dropping a build in one cycle agree; they do not disagree).
    vanished: list[tuple[BuildKey, Evidence]] = field(default_factory=list)
    _by_source: dict[str, dict[BuildKey, Sighting]] = field(default_factory=dict)
    _alt: dict[BuildKey, BuildKey] = field(default_factory=dict)

    # --- entries ---------------------------------------------------------------------------------------------
    def add_entry(self, entry: Entry) -> None:
        self.entries[entry.key] = entry
        self.index_alt_builds(entry)

    def index_alt_builds(self, entry: Entry) -> None:
        for alt in entry.alt_builds:
            self._alt[(entry.product, alt)] = entry.key

    def find(self, product: Product, build: int) -> Entry | None:
        """The entry for a build number, matching vCenter's second (Client/MOB) build too."""
        key = (product, build)
        entry = self.entries.get(key)
        if entry is None and key in self._alt:
            entry = self.entries.get(self._alt[key])
        return entry

    def find_release(self, release: Release) -> list[Entry]:
        """Entries whose release is the one named (a notice naming `ESXi 7.0 Update 3a` without a build)."""
        wanted = _release_identity(release)
        return [e for e in self.entries.values() if e.release and _release_identity(e.release) == wanted]

    # --- sightings -------------------------------------------------------------------------------------------
    def add_sighting(self, sighting: Sighting) -> None:
        self._by_source.setdefault(sighting.source_id, {})[(sighting.product, sighting.build)] = sighting

    def drop_sightings(self, source_id: str) -> None:
        """Forget a source's sightings: a cycle about to read them all from the store, in their stored order."""
        self._by_source.pop(source_id, None)

    def sighting(self, source_id: str, key: BuildKey) -> Sighting | None:
        return self._by_source.get(source_id, {}).get(key)

    def sightings_of(self, source_id: str) -> list[Sighting]:
        return list(self._by_source.get(source_id, {}).values())

    def sightings_for(self, key: BuildKey) -> list[Sighting]:
        return [found for listed in self._by_source.values() if (found := listed.get(key)) is not None]

    def all_sightings(self) -> list[Sighting]:
        return [s for listed in self._by_source.values() for s in listed.values()]

    # --- change tracking -------------------------------------------------------------------------------------
    def mark(self, *, entry: Entry | None = None, sighting: Sighting | None = None, source: str | None = None) -> None:
        if entry is not None:
            self.dirty_entries.add(entry.key)
        if sighting is not None:
            self.dirty_sightings.add((sighting.source_id, sighting.product, sighting.build))
        if source is not None:
            self.dirty_sources.add(source)

    def clear_dirty(self) -> None:
        self.dirty_entries.clear()
        self.dirty_sightings.clear()
        self.dirty_sources.clear()
        self.new_baselines.clear()

    def baseline(self, product: Product, now: datetime) -> datetime:
        """When the product's baseline poll ran; the first successful poll of a product is that baseline."""
        if product not in self.baselines:
            self.baselines[product] = now
            self.new_baselines.add(product)
        return self.baselines[product]


def _release_identity(release: Release) -> tuple[object, ...]:
    return (
        release.product,
        release.major,
        release.minor,
        release.update,
        release.letter or "",
        release.security_only,
        release.patch,
    )
