"""Stored advisories: load them as domain values, save the new and revised ones, and the warnings they raise."""

from datetime import date
from typing import Any

from sqlmodel import Session, select

from tracker.domain.advisories import StoredAdvisory, source_warnings
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, VersionError
from tracker.store.models import AdvisoryRow
from tracker.store.repo import load_catalog, utc


def load_advisories(session: Session) -> dict[str, StoredAdvisory]:
    return {row.id: _stored(row) for row in session.exec(select(AdvisoryRow))}


def advisory_warnings(session: Session) -> dict[str, list[str]]:
    """Source id -> its advisory warnings: a Response Matrix no fix could be read from (`advisory_unreadable`) and
    fixed versions no build could be mapped to (`advisory_unmapped`), derived from what is stored, so a warning
    clears once the catalog learns the build or a later revision of the page can be read."""
    stored = load_advisories(session)
    if not any(item.record.fixes or item.record.unread for item in stored.values()):
        return {}  # nothing to map: the catalog is not loaded
    warnings: dict[str, list[str]] = {}
    for source_id, warning in source_warnings(stored.values(), load_catalog(session)):
        warnings.setdefault(source_id, []).append(warning)
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
        row.fixes = [_fix_data(f) for f in record.fixes]
        row.unread = record.unread
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
        unread=row.unread,
    )
    return StoredAdvisory(record, row.source_id, utc(row.first_seen))


def _fix_data(fix: AdvisoryFix) -> dict[str, Any]:
    data: dict[str, Any] = {"product": fix.product.value, "line": fix.line, "fixed_text": fix.fixed_text}
    if fix.pending:
        data["pending"] = True
    return data


def _fix(data: dict[str, Any]) -> AdvisoryFix:
    product = Product(data["product"])
    if data.get("pending"):
        return AdvisoryFix(product, data["line"], data["fixed_text"], None, pending=True)
    try:
        fixed: Build | None = parse_build(data["fixed_text"], product)
    except VersionError:
        fixed = None
    return AdvisoryFix(product, data["line"], data["fixed_text"], fixed)
