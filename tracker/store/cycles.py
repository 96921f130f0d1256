"""The record stage of a poll cycle: everything the cycle decided, written in one transaction (one store call):
the release-notes pages its KB rows link to, a fetch row per page, the catalog's changes, its events and the
advisories."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from tracker.domain.decide import FetchOutcome, Knowledge
from tracker.domain.events import Change
from tracker.domain.roles import SourceRole
from tracker.store import repo
from tracker.store.advisories import save_advisories
from tracker.store.models import FetchRow, SourceRow
from tracker.store.records import EventRecord
from tracker.store.vcf_releases import save_vcf_releases


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
