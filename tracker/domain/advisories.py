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
from tracker.domain.exposure import Advisory, FixedIn, Severity, Unresolved
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.versions import Product, Release

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
    unreadable = [
        f"{f.product.label} {f.line} {f.fixed_text!r}".replace("  ", " ") for f in record.fixes if not f.fixed
    ]
    if unreadable:  # advisory_unmapped: said in the alert too, so that it never reads as a harmless advisory
        detail += f"; fixed versions not mapped to builds: {', '.join(unreadable)}"
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
    """Advisories as exposure reads them, fixes resolved to releases through the catalog; withdrawn ones left out.
    A fix that cannot be resolved is kept as `unmapped` (exposure names it), never dropped in silence."""
    result = []
    for item in stored:
        record = item.record
        if record.withdrawn:
            continue
        fixes, unmapped = [], []
        for fix in record.fixes:
            resolved = _resolve(fix, catalog)
            if resolved is None:
                unmapped.append(Unresolved(fix.product, fix.line, fix.fixed_text))
            else:
                fixes.append(resolved)
        if fixes or unmapped:
            severity = _SEVERITIES.get(record.severity, Severity.IMPORTANT)
            result.append(
                Advisory(item.label, severity, tuple(fixes), record.title, record.url, unmapped=tuple(unmapped))
            )
    return result


@dataclass(frozen=True)
class Unmapped:
    """A fixed version an advisory states that no build or release could be placed for (`advisory_unmapped`):
    exposure cannot tell which hosts it fixes, so the advisory's source carries it as a warning."""

    advisory: str  # the label, VMSA-2024-0013.1
    source_id: str
    fix: AdvisoryFix
    reason: str

    @property
    def warning(self) -> str:
        where = " ".join(p for p in (self.fix.product.label, self.fix.line) if p)
        return f"advisory_unmapped: {self.advisory} {where} fixed in {self.fix.fixed_text!r}: {self.reason}"


def unmapped_fixes(stored: Iterable[StoredAdvisory], catalog: Catalog) -> list[Unmapped]:
    """Every fixed version of a current (not withdrawn) advisory that cannot be mapped to a build, in source and
    advisory order. It clears by itself once the catalog learns the build (a KB row listing the patch id)."""
    found = [
        Unmapped(item.label, item.source_id, fix, _unmapped_reason(fix))
        for item in stored
        if not item.record.withdrawn
        for fix in item.record.fixes
        if _resolve(fix, catalog) is None
    ]
    return sorted(found, key=lambda u: (u.source_id, u.advisory))


def _resolve(fix: AdvisoryFix, catalog: Catalog) -> FixedIn | None:
    """The release (and build) a fix names: its build number's catalog entry, with the patch level the text or the
    catalog states; a release named without a build when it says its patch level (vCenter's "7.0 U3c"), else the
    one catalog build of that release (a 6.x patch id, ESXi670-202111101-SG, names no build number). None when
    nothing places it: never a guess."""
    build = fix.fixed
    if build is None:
        return None
    if build.number is None:
        return _by_release(build.release, catalog)
    entry = catalog.find(fix.product, build.number)
    stated = [r for r in (entry.release if entry else None, build.release) if r is not None]
    release = next((r for r in stated if r.letter is not None), None)
    if release is None and entry is not None and stated:
        release = stated[0]  # the catalog has the build; its level is as unknown there as in the advisory
    return FixedIn(release, build.number) if release is not None else None


def _by_release(release: Release | None, catalog: Catalog) -> FixedIn | None:
    if release is None:
        return None
    if release.letter is not None:
        return FixedIn(release, None)
    entries = [e for e in catalog.find_release(release) if e.release is not None]
    return FixedIn(entries[0].release, entries[0].build) if len(entries) == 1 and entries[0].release else None


def _unmapped_reason(fix: AdvisoryFix) -> str:
    build = fix.fixed
    if build is None:
        return "a spelling the tracker cannot read"
    if build.number is None:
        return "names no build number, and no single build in the catalog has that release"
    return f"build {build.number} is not in the catalog and the text does not say its patch level"
