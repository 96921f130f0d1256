"""Read-only queries the faces list from (tracker/web/reads.py, the CLI's listings): pages of events by keyset, one
build's evidence, and the data version that tells when a cached assessment is stale. Each returns records
(tracker/store/records.py) or plain values. Nothing here writes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from tracker.domain.versions import Product
from tracker.store import MessageKind
from tracker.store.models import (
    AdvisoryRow,
    AssetRow,
    BuildRow,
    EventEvidenceRow,
    EventRow,
    FetchRow,
    OutboxRow,
    SightingRow,
    SnoozeRow,
)
from tracker.store.records import BuildRecord, EventRecord, EvidenceRecord, SightingRecord
from tracker.store.repo import build_record, event_record, utc, with_evidence


@dataclass(frozen=True)
class EventFilter:
    """The CLI's `tracker events` options, and the web's: every one optional."""

    kinds: Sequence[str] = ()
    product: str | None = None
    line: str | None = None  # 7.0: events of builds of that line
    since: datetime | None = None
    until: datetime | None = None
    build: int | None = None
    advisory: str | None = None  # VMSA-2022-0004: its events at every revision


def events_page(
    session: Session, wanted: EventFilter, before_id: int | None, limit: int
) -> list[tuple[EventRecord, list[EvidenceRecord]]]:
    """Newest first, at most `limit`, each with its evidence; `before_id` continues after the last one shown."""
    query = select(EventRow).order_by(col(EventRow.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(EventRow.id) < before_id)
    if wanted.kinds:
        query = query.where(col(EventRow.kind).in_(list(wanted.kinds)))
    if wanted.product:
        query = query.where(EventRow.product == wanted.product)
    if wanted.since is not None:
        query = query.where(EventRow.observed_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(EventRow.observed_at < wanted.until)
    if wanted.build is not None:
        query = query.where(EventRow.build == wanted.build)
    if wanted.advisory:
        query = query.where(col(EventRow.advisory).startswith(wanted.advisory))
    if wanted.line:
        line_builds = select(BuildRow.build).where(BuildRow.line == wanted.line)
        if wanted.product:
            line_builds = line_builds.where(BuildRow.product == wanted.product)
        query = query.where(col(EventRow.build).in_(line_builds))
    return with_evidence(session, [event_record(row) for row in session.exec(query)])


def event_counts(session: Session) -> dict[str, int]:
    """Events recorded, by kind (as metric labels)."""
    query = select(EventRow.kind, func.count()).group_by(EventRow.kind)
    return {kind: count for kind, count in session.exec(query)}


def build_row(session: Session, product: str, build: int) -> BuildRecord | None:
    row = session.exec(select(BuildRow).where(BuildRow.product == product, BuildRow.build == build)).first()
    return build_record(row) if row is not None else None


def replaced(session: Session, product: str, build: int) -> list[BuildRecord]:
    """The builds this one replaces (their `replaced_by` names it)."""
    query = select(BuildRow).where(BuildRow.product == product, BuildRow.replaced_by == build)
    return [build_record(row) for row in session.exec(query.order_by(col(BuildRow.build)))]


def sightings_of(session: Session, product: str, build: int) -> list[SightingRecord]:
    """Every source's evidence of one build, listed now or gone, first seen first."""
    query = select(SightingRow).where(SightingRow.product == product, SightingRow.build == build)
    rows = session.exec(query.order_by(col(SightingRow.first_seen), col(SightingRow.source_id)))
    return [
        SightingRecord(
            source_id=row.source_id,
            product=Product(row.product),
            build=row.build,
            first_seen=utc(row.first_seen),
            last_seen=utc(row.last_seen),
            url=row.url,
            excerpt=row.excerpt,
            misses=row.misses,
            gone=row.gone,
        )
        for row in rows
    ]


def outbox_counts(session: Session) -> dict[str, int]:
    """Outbox rows by status (as metric labels)."""
    query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
    return {status: count for status, count in session.exec(query)}


def last_digest_sent(session: Session) -> datetime | None:
    query = select(func.max(OutboxRow.sent_at)).where(OutboxRow.kind == MessageKind.DIGEST)
    return session.exec(query).first()


def data_version(session: Session) -> tuple[object, ...]:
    """Changes whenever what an exposure assessment reads changes: the catalog (its builds, events and their
    evidence, its sightings), the inventory, the advisories, the snoozes. A quiet poll cycle, which only moves
    `last_seen` and `last_success_at`, leaves it as it was: the next page does not assess every host again. Cheap:
    a few indexed aggregates."""
    parts = (
        select(func.max(EventRow.id)),
        select(func.count()).select_from(EventEvidenceRow),
        select(func.count(), func.max(BuildRow.id)).select_from(BuildRow),
        select(func.count()).select_from(SightingRow),
        select(func.count(), func.max(AssetRow.updated_at)).select_from(AssetRow),
        select(func.count(), func.max(AdvisoryRow.revision)).select_from(AdvisoryRow),
        select(func.count(), func.max(SnoozeRow.ended_at)).select_from(SnoozeRow),
    )
    return tuple(tuple(session.execute(query).one()) for query in parts)


def last_cycle(session: Session) -> tuple[datetime, float] | None:
    """The last poll cycle's start, and its longest fetch in seconds: the cycle stamps each fetch with its own start
    (store/cycles.py), so the rows of the newest start are that cycle's."""
    started = session.exec(select(func.max(FetchRow.started_at))).first()
    if started is None:
        return None
    query = select(func.max(FetchRow.elapsed_ms)).where(FetchRow.started_at == started)
    return started, (session.exec(query).first() or 0) / 1000
