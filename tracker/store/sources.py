"""Sources in the store: the configured ones kept in step with the config, the release notes found through KB rows,
and the snapshot a poll cycle plans with (the same values tracker/store/fastpath.py reads without the ORM)."""

from datetime import datetime

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from tracker.config import Config
from tracker.domain.catalog import Health
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product
from tracker.sources import REGISTRY
from tracker.store.models import BuildRow, SourceRow
from tracker.store.records import SourceStatus
from tracker.store.repo import opt_utc, sources_with_pending_misses, utc
from tracker.store.snapshot import Snapshot, StoredSource


def sync_sources(session: Session, config: Config, now: datetime) -> None:
    """Make the source table match the config: new sources added, changed ones updated, removed ones retired."""
    configured = {s.id: s for s in config.sources}
    for row in session.exec(select(SourceRow).where(col(SourceRow.configured).is_(True))):
        wanted = configured.pop(row.id, None)
        row.active = wanted is not None
        if wanted is not None:
            # The stored URL is what people see (sources, evidence): a download token from ${VAR} is masked.
            row.kind, row.url, row.product = wanted.kind, config.mask(wanted.url), wanted.product
            row.role = REGISTRY[wanted.kind].role.value
        session.add(row)
    for source in configured.values():
        role = REGISTRY[source.kind].role.value
        url = config.mask(source.url)
        session.add(
            SourceRow(id=source.id, kind=source.kind, url=url, product=source.product, role=role, created_at=now)
        )


def snapshot(session: Session) -> Snapshot:
    """What a cycle plans with."""
    sources = {row.id: _stored(row) for row in session.exec(select(SourceRow))}
    columns = [
        BuildRow.product,
        BuildRow.build,
        BuildRow.line,
        BuildRow.update,
        BuildRow.release_date,
        BuildRow.status,
        BuildRow.replaced_by,
        BuildRow.pull_notices,
    ]
    follows = any(s.parent_id is not None for s in sources.values())
    query = core_select(*[col(c) for c in columns])
    builds = tuple((*r[:7], bool(r[7])) for r in session.execute(query)) if follows else ()
    return Snapshot(sources, frozenset(sources_with_pending_misses(session)), builds)


def _stored(row: SourceRow) -> StoredSource:
    return StoredSource(
        id=row.id,
        kind=row.kind,
        url=row.url,
        product=Product(row.product),
        configured=row.configured,
        active=row.active,
        health=Health(row.health),
        last_fetch_at=opt_utc(row.last_fetch_at),
        etag=row.etag,
        last_modified=row.last_modified,
        parent_id=row.parent_id,
    )


def source_statuses(session: Session) -> list[SourceStatus]:
    """Every stored source: configured, followed from a KB row, or retired."""
    return [source_status(row) for row in session.exec(select(SourceRow))]


def source_status(row: SourceRow) -> SourceStatus:
    return SourceStatus(
        id=row.id,
        kind=row.kind,
        url=row.url,
        product=Product(row.product),
        role=SourceRole(row.role),
        created_at=utc(row.created_at),
        parent_id=row.parent_id,
        configured=row.configured,
        active=row.active,
        health=Health(row.health),
        failures=row.failures,
        last_success_at=opt_utc(row.last_success_at),
        last_error=row.last_error,
        last_error_at=opt_utc(row.last_error_at),
        rows_seen=row.rows_seen,
        last_fetch_at=opt_utc(row.last_fetch_at),
    )
