"""Security advisories: what changed since the last poll (published, revised, withdrawn) and what they mean for
exposure (an `Advisory` whose fixes are resolved to releases through the catalog).

Advisories present at a source's first poll are recorded silently and still count for exposure (PRODUCT.md 4).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urljoin

from tracker.domain.catalog import Catalog, SourceState
from tracker.domain.events import Confidence, Event, EventKind, Evidence
from tracker.domain.exposure import Advisory, FixedIn, Severity
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.versions import Product

_SEVERITIES = {s.value: s for s in Severity}


@dataclass(frozen=True)
class StoredAdvisory:
    record: AdvisoryRecord
    source_id: str
    first_seen: datetime

    @property
    def label(self) -> str:
        return f"{self.record.id}.{self.record.revision}" if self.record.revision else self.record.id


def observe_advisories(
    known: dict[str, StoredAdvisory],
    seen: Iterable[AdvisoryRecord],
    source: SourceState,
    quiet: bool,
    now: datetime,
) -> tuple[list[StoredAdvisory], list[Event]]:
    """The advisories to store (new or changed) and the events to raise (none when `quiet`: a first poll)."""
    changed: list[StoredAdvisory] = []
    events: list[Event] = []
    for record in _newest_revisions(seen):
        before = known.get(record.id)
        what = _what_changed(before.record if before else None, record)
        if what is None:
            continue
        stored = StoredAdvisory(record, source.id, before.first_seen if before else now)
        changed.append(stored)
        if not quiet:
            events.append(_event(stored, what, source.id, source.url, now))
    return changed, events


def _newest_revisions(seen: Iterable[AdvisoryRecord]) -> list[AdvisoryRecord]:
    newest: dict[str, AdvisoryRecord] = {}
    for record in seen:
        current = newest.get(record.id)
        if current is None or record.revision > current.revision or (record.fixes and not current.fixes):
            newest[record.id] = _merge(current, record) if current else record
    return list(newest.values())


def _merge(old: AdvisoryRecord, new: AdvisoryRecord) -> AdvisoryRecord:
    """A feed entry and its advisory page say different halves: keep the fixes and CVEs of either."""
    return replace(
        new, fixes=new.fixes or old.fixes, cves=new.cves or old.cves, revision=max(new.revision, old.revision)
    )


def _what_changed(before: AdvisoryRecord | None, now: AdvisoryRecord) -> str | None:
    if before is None:
        return "withdrawn" if now.withdrawn else "published"
    if now.withdrawn and not before.withdrawn:
        return "withdrawn"
    if now.revision > before.revision:
        return "revised"
    if now.fixes != before.fixes and now.fixes:
        return "revised"
    return None


def _event(stored: StoredAdvisory, what: str, source_id: str, url: str, now: datetime) -> Event:
    record = stored.record
    products = sorted({f.product.value for f in record.fixes})
    detail = f"{stored.label} ({record.severity}) {what}: {record.title}"
    link = urljoin(url, record.url) if record.url else url  # a feed may link relatively
    evidence = Evidence(source_id, link, (record.excerpt or record.title)[:500], now)
    product = Product(products[0]) if len(products) == 1 else None
    return Event(
        EventKind.ADVISORY,
        now,
        Confidence.HIGH,
        (evidence,),
        product=product,
        release=stored.label,
        detail=detail,
        advisory=stored.label,
    )


def for_exposure(stored: Iterable[StoredAdvisory], catalog: Catalog) -> list[Advisory]:
    """Advisories as exposure reads them, fixes resolved to releases through the catalog; withdrawn ones left out."""
    result = []
    for item in stored:
        record = item.record
        if record.withdrawn:
            continue
        fixes = tuple(f for f in (_resolve(fix, catalog) for fix in record.fixes) if f is not None)
        if fixes:
            severity = _SEVERITIES.get(record.severity, Severity.IMPORTANT)
            result.append(Advisory(item.label, severity, fixes, record.title, record.url))
    return result


def _resolve(fix: AdvisoryFix, catalog: Catalog) -> FixedIn | None:
    build = fix.fixed
    if build is None:
        return None
    if build.number is not None:
        entry = catalog.find(fix.product, build.number)
        if entry is not None and entry.release is not None:
            return FixedIn(entry.release, build.number)
    if build.release is not None and build.release.letter is not None:
        return FixedIn(build.release, build.number)
    return None
