"""Small repository functions: load the catalog into domain values, save what a diff changed, record events, and
read events and builds as records (tracker/store/records.py)."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Column, Table, and_, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from tracker.domain.catalog import BuildStatus, Catalog, Entry, Health, Sighting, SourceState
from tracker.domain.events import Confidence, Event, EventKind, EventUpdate
from tracker.domain.roles import SourceRole
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product, Release, VersionError
from tracker.store.models import (
    BuildRow,
    EventEvidenceRow,
    EventRow,
    ProductStateRow,
    SightingRow,
    SourceRow,
)
from tracker.store.records import BuildRecord, EventRecord, EvidenceRecord

BUILDS = cast(Table, BuildRow.__table__)  # type: ignore[attr-defined]
SIGHTINGS = cast(Table, SightingRow.__table__)  # type: ignore[attr-defined]


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def opt_utc(value: datetime | None) -> datetime | None:
    return utc(value) if value else None


# --- loading -------------------------------------------------------------------------------------------------
def load_catalog(session: Session) -> Catalog:
    catalog = Catalog()
    for row in session.exec(select(SourceRow)):
        catalog.sources[row.id] = source_state(row)
    # Plain rows, not ORM objects: a catalog of thousands of builds loads in milliseconds.
    for build in session.execute(core_select(BUILDS)):
        catalog.add_entry(_entry(build))
    for seen in session.execute(core_select(SIGHTINGS)):
        catalog.add_sighting(_sighting(seen, catalog.sources.get(seen.source_id)))
    for state in session.exec(select(ProductStateRow)):
        catalog.baselines[Product(state.product)] = utc(state.baselined_at)
    return catalog


def sources_with_pending_misses(session: Session) -> set[str]:
    """Sources that miss a row they listed, not yet confirmed gone: their next poll needs the whole catalog."""
    query = core_select(SIGHTINGS.c.source_id).where(SIGHTINGS.c.misses > 0, SIGHTINGS.c.gone.is_(False)).distinct()
    return {source_id for (source_id,) in session.execute(query)}


def source_state(row: SourceRow) -> SourceState:
    return SourceState(
        id=row.id,
        kind=row.kind,
        url=row.url,
        product=Product(row.product),
        role=SourceRole(row.role),
        created_at=utc(row.created_at),
        parent_id=row.parent_id,
        baselined=row.baselined,
        health=Health(row.health),
        failures=row.failures,
        last_success_at=opt_utc(row.last_success_at),
        last_error=row.last_error,
        last_error_at=opt_utc(row.last_error_at),
        rows_seen=row.rows_seen,
    )


@lru_cache(maxsize=4096)
def _release(product: Product, name: str) -> Release | None:
    try:
        return parse_release(name, product)
    except VersionError:
        return None


def _entry(row: Any) -> Entry:
    product = Product(row.product)
    return Entry(
        product=product,
        build=row.build,
        release=_release(product, row.release_name),
        release_name=row.release_name,
        first_seen=utc(row.first_seen),
        release_date=row.release_date,
        alt_builds=tuple(row.alt_builds),
        notes_url=row.notes_url,
        status=BuildStatus(row.status),
        pull_confidence=Confidence(row.pull_confidence) if row.pull_confidence else None,
        pull_notices=set(row.pull_notices),
        replaced_by=row.replaced_by,
    )


def _sighting(row: Any, source: SourceState | None) -> Sighting:
    last_seen = utc(row.last_seen)
    if row.misses == 0 and source is not None and source.last_success_at is not None:
        # the stored value is the last poll that parsed the page; a 304 since then listed the row too (Catalog)
        last_seen = max(last_seen, source.last_success_at)
    return Sighting(
        source_id=row.source_id,
        product=Product(row.product),
        build=row.build,
        first_seen=utc(row.first_seen),
        last_seen=last_seen,
        url=row.url,
        excerpt=row.excerpt,
        misses=row.misses,
        gone=row.gone,
    )


# --- saving --------------------------------------------------------------------------------------------------
def save_catalog(session: Session, catalog: Catalog) -> None:
    """Write what the diff marked dirty (rows fetched in bulk, not one query each), then forget the marks."""
    with session.no_autoflush:
        _save_entries(session, [catalog.entries[k] for k in sorted(catalog.dirty_entries)])
        sightings = [catalog.sighting(source, (product, build)) for source, product, build in catalog.dirty_sightings]
        _save_sightings(session, [s for s in sightings if s is not None])
        for source_id in catalog.dirty_sources:
            _save_source_state(session, catalog.sources[source_id])
        for product in catalog.new_baselines:
            session.add(ProductStateRow(product=product.value, baselined_at=catalog.baselines[product]))
    catalog.clear_dirty()


def _existing(session: Session, table: Table, builds: Iterable[int]) -> set[tuple[Any, ...]]:
    """Keys of the rows whose build number is among `builds`, in chunks under SQLite's parameter limit."""
    wanted = sorted(set(builds))
    key_columns = _natural_key(table)
    found: set[tuple[Any, ...]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(tuple(r) for r in session.execute(core_select(*key_columns).where(table.c.build.in_(chunk))))
    return found


def _natural_key(table: Table) -> list[Column[Any]]:
    return [table.c.product, table.c.build] if table is BUILDS else [table.c.source_id, table.c.product, table.c.build]


def _write(session: Session, table: Table, rows: list[dict[str, Any]], builds: Iterable[int]) -> None:
    """Insert the new rows and update the known ones (never their `first_seen`): one executemany (Core, no ORM
    objects). SQLite and PostgreSQL upsert (INSERT ... ON CONFLICT DO UPDATE); other databases look up which rows
    exist first, by their build numbers (`builds`)."""
    if not rows:
        return
    keys = [c.name for c in _natural_key(table)]
    upsert = _upsert_for(session.get_bind().dialect.name)
    if upsert is None:
        _insert_or_update(session, table, rows, keys, _existing(session, table, builds))
        return
    statement = upsert(table)
    changing = {c: statement.excluded[c] for c in rows[0] if c not in keys and c != "first_seen"}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changing), rows)


def _upsert_for(dialect: str) -> Any:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # lazy: each database loads its own dialect

        return sqlite_insert
    if dialect == "postgresql":
        # lazy: PostgreSQL's dialect takes 0.04 s to import, which a SQLite catalog never needs
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    return None


def _insert_or_update(
    session: Session, table: Table, rows: list[dict[str, Any]], keys: list[str], existing: set[tuple[Any, ...]]
) -> None:
    new = [r for r in rows if tuple(r[k] for k in keys) not in existing]
    old = [r for r in rows if tuple(r[k] for k in keys) in existing]
    if new:
        session.execute(insert(table), new)
    if old:
        match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
        values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in old[0] if c not in keys and c != "first_seen"}
        params = [{**{f"k_{k}": r[k] for k in keys}, **{f"v_{c}": r[c] for c in values}} for r in old]
        session.execute(update(table).where(match).values(values), params)


def _save_entries(session: Session, entries: list[Entry]) -> None:
    _write(session, BUILDS, [_build_values(e) for e in entries], (e.build for e in entries))


def _build_values(entry: Entry) -> dict[str, Any]:
    release = entry.release
    return {
        "product": entry.product.value,
        "build": entry.build,
        "release_name": entry.release_name,
        "line": release.line if release else None,
        "update": release.update if release else None,
        "letter": release.letter if release else None,
        "release_date": entry.release_date,
        "alt_builds": list(entry.alt_builds),
        "notes_url": entry.notes_url,
        "status": entry.status.value,
        "pull_confidence": entry.pull_confidence.value if entry.pull_confidence else None,
        "pull_notices": sorted(entry.pull_notices),
        "replaced_by": entry.replaced_by,
        "first_seen": entry.first_seen,
    }


def _save_sightings(session: Session, sightings: list[Sighting]) -> None:
    rows = [
        {
            "source_id": s.source_id,
            "product": s.product.value,
            "build": s.build,
            "first_seen": s.first_seen,
            "last_seen": s.last_seen,
            "url": s.url,
            "excerpt": s.excerpt,
            "misses": s.misses,
            "gone": s.gone,
        }
        for s in sightings
    ]
    _write(session, SIGHTINGS, rows, (s.build for s in sightings))


def _save_source_state(session: Session, state: SourceState) -> None:
    row = session.get(SourceRow, state.id)
    if row is None:
        return
    row.baselined, row.health, row.failures = state.baselined, state.health.value, state.failures
    row.last_success_at, row.last_error, row.last_error_at = (
        state.last_success_at,
        state.last_error,
        state.last_error_at,
    )
    row.rows_seen = state.rows_seen
    session.add(row)


# --- events --------------------------------------------------------------------------------------------------
def record_changes(session: Session, changes: Sequence[Event | EventUpdate]) -> list[EventRecord]:
    """Insert new events and apply updates to the pulled/reissued events they belong to; the new events, in order."""
    created: list[EventRow] = []
    for change in changes:
        if isinstance(change, Event):
            created.append(_insert_event(session, change))
        else:
            _update_event(session, change)
    return [event_record(row) for row in created]  # after the updates: a pull's raised confidence is in its record


def _insert_event(session: Session, event: Event) -> EventRow:
    row = EventRow(
        kind=event.kind.value,
        product=event.product.value if event.product else None,
        build=event.build,
        release=event.release,
        observed_at=event.observed_at,
        confidence=event.confidence.value,
        source_id=event.source_id,
        replaces=list(event.replaces),
        detail=event.detail,
        advisory=event.advisory,
    )
    session.add(row)
    session.flush()
    _add_evidence(session, row, event.evidence)
    return row


def _add_evidence(session: Session, row: EventRow, evidence: Sequence[object]) -> None:
    assert row.id is not None
    for item in evidence:
        session.add(
            EventEvidenceRow(
                event_id=row.id,
                source_id=item.source_id,  # type: ignore[attr-defined]
                url=item.url,  # type: ignore[attr-defined]
                excerpt=item.excerpt,  # type: ignore[attr-defined]
                observed_at=item.observed_at,  # type: ignore[attr-defined]
            )
        )


def _update_event(session: Session, update: EventUpdate) -> None:
    row = session.exec(
        select(EventRow).where(
            EventRow.kind == update.kind.value,
            EventRow.product == update.product.value,
            EventRow.build == update.build,
        )
    ).first()
    if row is None:
        return  # the event was not raised (a baseline): the catalog still holds the state
    if update.confidence is not None:
        row.confidence = update.confidence.value
    if update.replaces:
        row.replaces = sorted(set(row.replaces) | set(update.replaces))
    session.add(row)
    _add_evidence(session, row, update.evidence)


def with_evidence(session: Session, events: list[EventRecord]) -> list[tuple[EventRecord, list[EvidenceRecord]]]:
    """Each event beside its evidence, in the events' order."""
    evidence = evidence_of(session, [e.id for e in events])
    return [(e, evidence.get(e.id, [])) for e in events]


def evidence_of(session: Session, event_ids: list[int]) -> dict[int, list[EvidenceRecord]]:
    """Each event's evidence, in the order it was recorded."""
    grouped: dict[int, list[EvidenceRecord]] = {}
    for start in range(0, len(event_ids), 500):  # under SQLite's parameter limit
        query = select(EventEvidenceRow).where(col(EventEvidenceRow.event_id).in_(event_ids[start : start + 500]))
        for item in session.exec(query.order_by(col(EventEvidenceRow.id))):
            grouped.setdefault(item.event_id, []).append(evidence_record(item))
    return grouped


def event_record(row: Any) -> EventRecord:
    return EventRecord(
        id=row.id or 0,
        kind=EventKind(row.kind),
        product=Product(row.product) if row.product else None,
        build=row.build,
        release=row.release,
        observed_at=utc(row.observed_at),
        confidence=Confidence(row.confidence),
        source_id=row.source_id,
        replaces=tuple(row.replaces),
        detail=row.detail,
        advisory=row.advisory,
    )


def evidence_record(row: Any) -> EvidenceRecord:
    return EvidenceRecord(row.event_id, row.source_id, row.url, row.excerpt, utc(row.observed_at))


def list_builds(session: Session, product: Product | None = None) -> list[BuildRecord]:
    """The catalog's builds as stored (plain rows, not ORM objects: every events page reads them)."""
    query = core_select(BUILDS)
    if product is not None:
        query = query.where(BUILDS.c.product == product.value)
    return [build_record(row) for row in session.execute(query)]


def build_record(row: Any) -> BuildRecord:
    return BuildRecord(
        product=Product(row.product),
        build=row.build,
        release_name=row.release_name,
        first_seen=utc(row.first_seen),
        line=row.line,
        update=row.update,
        letter=row.letter,
        release_date=row.release_date,
        alt_builds=tuple(row.alt_builds),
        notes_url=row.notes_url,
        status=BuildStatus(row.status),
        pull_confidence=Confidence(row.pull_confidence) if row.pull_confidence else None,
        pull_notices=tuple(row.pull_notices),
        replaced_by=row.replaced_by,
    )
