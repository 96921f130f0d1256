"""Stored advisories: load them as domain values, save the new and revised ones, and the warnings they raise."""

from datetime import date
from typing import Any

from sqlmodel import Session, select

from tracker.domain.advisories import StoredAdvisory, unmapped_fixes
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.versions import Build, Product, VersionError
from tracker.store.models import AdvisoryRow
from tracker.store.repo import load_catalog, utc


def load_advisories(session: Session) -> dict[str, StoredAdvisory]:
    return {row.id: _stored(row) for row in session.exec(select(AdvisoryRow))}


def advisory_warnings(session: Session) -> dict[str, list[str]]:
    """Source id -> its `advisory_unmapped` warnings: fixed versions of its advisories no build could be mapped to
    (derived from what is stored, so a warning clears once the catalog learns the build)."""
    stored = load_advisories(session)
    if not any(item.record.fixes for item in stored.values()):
        return {}  # nothing to map: the catalog is not loaded
    warnings: dict[str, list[str]] = {}
    for unmapped in unmapped_fixes(stored.values(), load_catalog(session)):
        warnings.setdefault(unmapped.source_id, []).append(unmapped.warning)
    return warnings


def save_advisories(session: Session, changed: list[StoredAdvisory]) -> None:
    for item in changed:
        record = item.record
        row = session.get(AdvisoryRow, record.id) or AdvisoryRow(
            id=record.id, first_seen=item.first_seen, cves=[], fixes=[]
        )
        row.revision, row.title, row.severity, row.url = record.revision, record.title, record.severity, record.url
        row.published = record.published.isoformat() if record.published else None
        row.updated = record.updated.isoformat() if record.updated else None
        row.cves, row.withdrawn, row.excerpt, row.source_id = (
            list(record.cves),
            record.withdrawn,
            record.excerpt,
            item.source_id,
        )
        row.fixes = [{"product": f.product.value, "line": f.line, "fixed_text": f.fixed_text} for f in record.fixes]
        session.add(row)


def _stored(row: AdvisoryRow) -> StoredAdvisory:
    record = AdvisoryRecord(
        id=row.id,
        revision=row.revision,
        title=row.title,
        severity=row.severity,
        url=row.url,
        published=date.fromisoformat(row.published) if row.published else None,
        updated=date.fromisoformat(row.updated) if row.updated else None,
        cves=tuple(row.cves),
        fixes=tuple(_fix(f) for f in row.fixes),
        withdrawn=row.withdrawn,
        excerpt=row.excerpt,
    )
    return StoredAdvisory(record, row.source_id, utc(row.first_seen))


def _fix(data: dict[str, Any]) -> AdvisoryFix:
    product = Product(data["product"])
    try:
        fixed: Build | None = Build.parse(data["fixed_text"], product)
    except VersionError:
        fixed = None
    return AdvisoryFix(product, data["line"], data["fixed_text"], fixed)
