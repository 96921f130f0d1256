"""The store's side of a poll cycle: what it decides over, read as it needs it (`CatalogReader`), and the record
stage: everything the cycle decided, written in one transaction (one store call): the release-notes pages its KB
rows link to, a fetch row per page, the catalog's changes, its events and the advisories.

A cycle where one page of fifty changed reads the sightings of that page's source and of the builds it lists, not
the whole catalog's: its cost follows what changed, not the size of the catalog (benchmarks/bench_poll.py (e))."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, String, Table, func, or_
from sqlalchemy import cast as sa_cast
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from tracker.domain.catalog import BuildKey, BuildStatus, Catalog
from tracker.domain.decide import Knowledge
from tracker.domain.events import Change
from tracker.domain.outcomes import FetchOutcome
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product
from tracker.store import repo
from tracker.store.advisories import save_advisories
from tracker.store.db import session_scope
from tracker.store.models import FetchRow, ProductStateRow, SourceRow
from tracker.store.records import EventRecord
from tracker.store.vcf_releases import save_vcf_releases

SOURCES = cast(Table, SourceRow.__table__)  # type: ignore[attr-defined]
FETCHES = cast(Table, FetchRow.__table__)  # type: ignore[attr-defined]
CHUNK = 500  # values per IN (...): under SQLite's parameter limit
# Builds a diff may reach without a page naming them: pulled (a reissue is inferred for them), replaced (a later
# notice may name the replacement), held by a notice (lifted when the notice goes), or known by a second build number
# (a page may list that one). The JSON columns are compared as text: a spelling other than '[]' only reads more.
INVOLVED = or_(
    repo.BUILDS.c.status != BuildStatus.AVAILABLE.value,
    repo.BUILDS.c.replaced_by.is_not(None),
    sa_cast(repo.BUILDS.c.pull_notices, String) != "[]",
    sa_cast(repo.BUILDS.c.alt_builds, String) != "[]",
)


def generation(session: Session) -> int | None:
    """The newest fetch row's id: it moves whenever a cycle is recorded (either path), so a cycle that planned from
    a snapshot read at generation G knows, under the lease, whether another cycle was recorded since."""
    return session.execute(core_select(func.max(FETCHES.c.id))).scalar()


@dataclass
class CatalogReader:
    """The catalog a cycle decides over, read as its decisions need it (plain rows, no ORM objects):
    - at once: the product baselines, every source but the followed release notes (a followed page's state is read
      when the cycle decides it), and the builds a diff may reach without naming them: pulled, replaced, held by a
      notice, or known by a second build number (`INVOLVED`);
    - for each source the cycle decides from a page (or that misses a row): its sightings, and for every build it
      lists or sighted, the build and every source's sighting of it;
    - every build, when a page names a release without a build number (a notice: `whole`).
    That is all the diff and corroboration look at. A KB table listing 150 builds links to 150 notes pages: with
    fifty such tables, a cycle where one changed reads 150 builds and their sightings, not 7,500 of each."""

    engine: Engine
    catalog: Catalog
    sources_read: set[str] = field(default_factory=set)
    keys_read: set[BuildKey] = field(default_factory=set)  # their sightings are all in
    entries_read: set[BuildKey] = field(default_factory=set)  # their entry is in, or there is none
    everything: bool = False  # every entry is in

    @classmethod
    def open(cls, engine: Engine) -> "CatalogReader":
        catalog = Catalog()
        with session_scope(engine) as session:
            for row in session.execute(core_select(SOURCES).where(SOURCES.c.parent_id.is_(None))):
                catalog.sources[row.id] = repo.source_state(cast(SourceRow, row))
            for build in session.execute(core_select(repo.BUILDS).where(INVOLVED).order_by(repo.BUILDS.c.id)):
                catalog.add_entry(repo._entry(build))
            for state in session.exec(select(ProductStateRow)):
                catalog.baselines[Product(state.product)] = repo.utc(state.baselined_at)
        return cls(engine, catalog, entries_read=set(catalog.entries))

    def whole(self) -> None:
        """Every entry, in the stored order (a notice naming a release is matched against them all); those the
        cycle holds are kept as they are (it may have changed them)."""
        if self.everything:
            return
        held, ordered = self.catalog.entries, {}
        with session_scope(self.engine) as session:
            for build in session.execute(core_select(repo.BUILDS).order_by(repo.BUILDS.c.id)):
                entry = repo._entry(build)
                ordered[entry.key] = held.get(entry.key, entry)
        ordered |= {key: entry for key, entry in held.items() if key not in ordered}  # new in this cycle
        self.catalog.entries = ordered
        for entry in ordered.values():
            self.catalog.index_alt_builds(entry)
        self.entries_read |= set(ordered)
        self.everything = True

    def read(self, source_ids: Iterable[str] = (), keys: Iterable[BuildKey] = ()) -> None:
        """Make sure the catalog holds the state and every sighting of these sources (those stored), and every
        sighting of these builds."""
        sources = set(source_ids) - self.sources_read
        wanted = set(keys) - self.keys_read
        if not sources and not wanted:
            return
        with session_scope(self.engine) as session:
            self._states(session, sources)  # first: a sighting's last_seen reads its source's state
            if sources:
                for source_id in sources:  # those read with a build before are read again, in the stored order
                    self.catalog.drop_sightings(source_id)
                for row in _rows(session, repo.SIGHTINGS.c.source_id, sources):
                    wanted.add((Product(row.product), row.build))
                    self._add(row)
                self.sources_read |= sources
            wanted -= self.keys_read
            builds = {build for _, build in wanted}
            for row in _rows(session, repo.SIGHTINGS.c.build, builds):
                if (Product(row.product), row.build) in wanted:
                    self._add(row)
            self.keys_read |= wanted
            self._entries(session, wanted)

    def _entries(self, session: Session, keys: set[BuildKey]) -> None:
        missing = keys - self.entries_read
        if not missing or self.everything:
            return
        for row in _rows(session, repo.BUILDS.c.build, {build for _, build in missing}, repo.BUILDS):
            key = (Product(row.product), row.build)
            if key in missing and key not in self.catalog.entries:
                self.catalog.add_entry(repo._entry(row))
        self.entries_read |= missing

    def states(self, source_ids: Iterable[str]) -> None:
        """Make sure the catalog holds the stored state of these sources (a followed page's is read only now)."""
        missing = {sid for sid in source_ids if sid not in self.catalog.sources}
        if missing:
            with session_scope(self.engine) as session:
                self._states(session, missing)

    def _states(self, session: Session, source_ids: Collection[str]) -> None:
        wanted = sorted(sid for sid in source_ids if sid not in self.catalog.sources)
        for start in range(0, len(wanted), CHUNK):
            query = core_select(SOURCES).where(SOURCES.c.id.in_(wanted[start : start + CHUNK]))
            for row in session.execute(query):
                self.catalog.sources[row.id] = repo.source_state(cast(SourceRow, row))

    def _add(self, row: Any) -> None:
        """A stored sighting, unless the cycle holds it already (it may have changed it). A source is read whole
        before it is decided, so the sightings dropped above were never changed."""
        if self.catalog.sighting(row.source_id, (Product(row.product), row.build)) is None:
            self.catalog.add_sighting(repo._sighting(row, self.catalog.sources.get(row.source_id)))


def _rows(session: Session, column: Any, values: Collection[object], table: Table = repo.SIGHTINGS) -> list[Any]:
    ordered = sorted(values)  # type: ignore[type-var]
    rows: list[Any] = []
    for start in range(0, len(ordered), CHUNK):
        query = core_select(table).where(column.in_(ordered[start : start + CHUNK]))
        rows += session.execute(query).all()
    return sorted(rows, key=lambda row: row.id)  # the stored order, as the whole catalog loads (repo.load_catalog)


@dataclass(frozen=True)
class FetchRecord:
    """One page's fetch. `reference`: the validators to keep for the next conditional GET (a trusted page);
    `forget`: drop them (an untrusted page is fetched whole next time)."""

    source_id: str
    outcome: FetchOutcome
    http_status: int | None = None
    elapsed_ms: int = 0
    bytes: int = 0
    rows: int = 0
    error: str | None = None
    skipped: tuple[dict[str, str], ...] = ()
    reference: tuple[str | None, str | None] | None = None
    forget: bool = False


@dataclass(frozen=True)
class Link:
    """A release-notes page a listed KB row links to."""

    id: str
    url: str
    product: str


@dataclass
class CycleRecord:
    now: datetime
    known: Knowledge
    fetches: list[FetchRecord] = field(default_factory=list)
    links: dict[str, dict[str, Link]] = field(default_factory=dict)  # by KB source: every page its rows link to
    changes: list[Change] = field(default_factory=list)


def record_cycle(session: Session, cycle: CycleRecord) -> list[EventRecord]:
    """Write the cycle; the new events' records, in order."""
    for parent_id, links in cycle.links.items():
        _sync_links(session, parent_id, links, cycle.now)
    session.flush()  # the new pages' rows exist before their state and fetches are written
    _record_fetches(session, cycle.fetches, cycle.now)
    repo.save_catalog(session, cycle.known.catalog)
    created = repo.record_changes(session, cycle.changes)
    save_advisories(session, list(cycle.known.changed_advisories.values()))
    cycle.known.changed_advisories.clear()
    save_vcf_releases(session, cycle.known.changed_vcf_releases)
    cycle.known.changed_vcf_releases.clear()
    return created


def _sync_links(session: Session, parent_id: str, links: dict[str, Link], now: datetime) -> None:
    """Release notes linked from listed rows are followed; those of rows no longer listed are not."""
    linked = dict(links)
    for child in session.exec(select(SourceRow).where(SourceRow.parent_id == parent_id)):
        link = linked.pop(child.id, None)
        child.active = link is not None
        if link is not None and child.url != link.url:
            child.url, child.etag, child.last_modified = link.url, None, None
        session.add(child)
    for link in linked.values():
        session.add(
            SourceRow(
                id=link.id,
                kind="release_notes",
                url=link.url,
                product=link.product,
                role=SourceRole.NOTES.value,
                parent_id=parent_id,
                configured=False,
                created_at=now,
            )
        )


def _record_fetches(session: Session, fetches: Sequence[FetchRecord], now: datetime) -> None:
    rows = {r.id: r for r in session.exec(select(SourceRow).where(SourceRow.id.in_([f.source_id for f in fetches])))}  # type: ignore[attr-defined]
    for fetch in fetches:
        session.add(
            FetchRow(
                source_id=fetch.source_id,
                started_at=now,
                outcome=fetch.outcome.value,
                http_status=fetch.http_status,
                elapsed_ms=fetch.elapsed_ms,
                bytes=fetch.bytes,
                rows=fetch.rows,
                error=fetch.error,
                skipped=list(fetch.skipped),
            )
        )
        row = rows[fetch.source_id]
        row.last_fetch_at = now
        if fetch.reference is not None:
            row.etag, row.last_modified = fetch.reference
        elif fetch.forget:
            row.etag = row.last_modified = None
        session.add(row)
