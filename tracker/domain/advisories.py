"""Security advisories: what changed since the last poll (published, revised, withdrawn) and what they mean for
exposure (an `Advisory` whose fixes are resolved to releases through the catalog).

Advisories present at a source's first poll are recorded silently and still count for exposure (PRODUCT.md 4).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urljoin

from tracker.domain.catalog import Catalog, Entry, SourceState
from tracker.domain.events import Confidence, Event, EventKind, Evidence
from tracker.domain.fixes import Advisory, FixedIn, Severity, Unresolved, covers
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
        if record.unread and before is not None and before.record.fixes and not before.record.unread:
            record = replace(record, fixes=before.record.fixes)  # keep what was last read; the warning tells
        if before is not None and record.revision < before.record.revision:
            # Broadcom's copy of a VMware-era advisory names no revision ("VMSA-2021-0028", not ".6"): a revision
            # the tracker saw is never taken back
            record = replace(record, revision=before.record.revision)
        what = _what_changed(before.record if before else None, record)
        if what is None and (before is None or record.unread == before.record.unread):
            continue
        stored = StoredAdvisory(record, source.id, before.first_seen if before else now)
        changed.append(stored)
        if what is not None and not quiet:  # only its readability changed: stored, the source warning says it
            events.append(_event(stored, what, before.record if before else None, source.url, now))
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


def _event(stored: StoredAdvisory, what: str, before: AdvisoryRecord | None, url: str, now: datetime) -> Event:
    record = stored.record
    products = sorted({f.product.value for f in record.fixes})
    detail = f"{stored.label} ({record.severity}) {what}: {record.title}" + "".join(_news(record, before))
    link = urljoin(url, record.url) if record.url else url  # a feed may link relatively
    evidence = Evidence(stored.source_id, link, (record.excerpt or record.title)[:500], now)
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


def _news(record: AdvisoryRecord, before: AdvisoryRecord | None) -> list[str]:
    """What the alert must say besides the title: fixes published since the last revision for lines that had
    none, lines with no fix yet, and fixes that could not be read (never a harmless-looking advisory)."""
    news = []
    waited = [f for f in before.fixes if f.pending] if before else []
    published = [
        f
        for f in record.fixes
        if f.fixed and any(w.product is f.product and covers(w.line, f.fixed.line or f.line) for w in waited)
    ]
    if published:
        was = ", ".join(sorted({w.fixed_text for w in waited}))
        news.append(
            f"; fix published: {', '.join(f'{_where(f)} fixed in {f.fixed_text}' for f in published)} (was {was})"
        )
    pending = [f for f in record.fixes if f.pending]
    if pending:
        news.append("; no fix published yet: " + ", ".join(f"{_where(f)} ({f.fixed_text})" for f in pending))
    if record.unread:
        news.append(f"; fixes unknown: {record.unread}")
    unreadable = [f"{_where(f)} {f.fixed_text!r}" for f in record.fixes if not f.fixed and not f.pending]
    if unreadable and not record.unread:  # advisory_unmapped: said in the alert too
        news.append(f"; fixed versions not mapped to builds: {', '.join(unreadable)}")
    return news


def _where(fix: AdvisoryFix) -> str:
    """`vCenter Server 7.0`; `ESXi 7.x` for a row that named the major only; `ESXi` for "Any"."""
    return " ".join(p for p in (fix.product.label, fix.line) if p)


def for_exposure(stored: Iterable[StoredAdvisory], catalog: Catalog) -> list[Advisory]:
    """Advisories as exposure reads them, fixes resolved to releases through the catalog; withdrawn ones left out.
    A fix that cannot be resolved is kept as `unmapped` (exposure names it), never dropped in silence; a line
    with no fix yet ("Patch Pending") is kept as `pending`; a page whose matrix could not be read as `unread`."""
    result = []
    for item in stored:
        record = item.record
        if record.withdrawn:
            continue
        fixes, unmapped, pending = [], [], []
        for fix in record.fixes:
            resolved = None if fix.pending else _resolve(fix, catalog)
            if fix.pending:
                pending.append(Unresolved(fix.product, fix.line, fix.fixed_text))
            elif resolved is None:
                unmapped.append(Unresolved(fix.product, fix.line, fix.fixed_text))
            else:
                fixes.append(resolved)
        if fixes or unmapped or pending or record.unread:
            severity = _SEVERITIES.get(record.severity, Severity.IMPORTANT)
            result.append(
                Advisory(
                    item.label,
                    severity,
                    tuple(fixes),
                    record.title,
                    record.url,
                    unmapped=tuple(unmapped),
                    pending=tuple(pending),
                    unread=record.unread,
                )
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
        return f"advisory_unmapped: {self.advisory} {_where(self.fix)} fixed in {self.fix.fixed_text!r}: {self.reason}"


def unmapped_fixes(stored: Iterable[StoredAdvisory], catalog: Catalog) -> list[Unmapped]:
    """Every fixed version of a current (not withdrawn) advisory that cannot be mapped to a build, in source and
    advisory order. It clears by itself once the catalog learns the build (a KB row listing the patch id).
    A pending fix ("Patch Pending") is no fixed version, and a page that could not be read warns as a whole
    (`source_warnings`)."""
    found = [
        Unmapped(item.label, item.source_id, fix, _unmapped_reason(fix, catalog))
        for item in stored
        if not item.record.withdrawn and not item.record.unread
        for fix in item.record.fixes
        if not fix.pending and _resolve(fix, catalog) is None
    ]
    return sorted(found, key=lambda u: (u.source_id, u.advisory))


def source_warnings(stored: Iterable[StoredAdvisory], catalog: Catalog) -> list[tuple[str, str]]:
    """(source id, warning) for every advisory its source could not read whole: a Response Matrix no fix could be
    read from (`advisory_unreadable`, its fixes are unknown) and each fixed version no build could be mapped to
    (`advisory_unmapped`). Each names the advisory, so `tracker health` names both it and the source."""
    items = list(stored)
    unread = [
        (i.source_id, f"advisory_unreadable: {i.label} ({i.record.severity}): fixes unknown: {i.record.unread}")
        for i in items
        if i.record.unread and not i.record.withdrawn
    ]
    unmapped = [(u.source_id, u.warning) for u in unmapped_fixes(items, catalog)]
    return sorted(unread + unmapped, key=lambda w: w[0])


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
    if release.bulletin_month:
        entries = _patch_releases(release, catalog)
    else:
        entries = [e for e in catalog.find_release(release) if e.release is not None]
    return FixedIn(entries[0].release, entries[0].build) if len(entries) == 1 and entries[0].release else None


def _patch_releases(bulletin: Release, catalog: Catalog) -> list[Entry]:
    """The catalog's 6.x patch releases a bulletin can belong to: VMware names a patch release
    `ESXi<version>-<YYYYMM><0NN>` (KB 2083707, "Understanding ESXi 5.x and 6.0 Patching Model") and its bulletins
    `...-<YYYYMM><NNN>-SG|BG` with the same version and month (ESXi670-202111101-SG ships in ESXi670-202111001,
    per VMware's CVE-2021-22041 record and KB 316595's 6.7 P06 row). A month with two patch releases
    (ESXi670-202004001 and -202004002) gives two, and the bulletin stays unmapped: never a guess."""
    month = bulletin.bulletin_month
    return [
        e
        for e in catalog.entries.values()
        if e.release is not None
        and e.product is bulletin.product
        and e.release.line == bulletin.line
        and e.release.precise
        and e.release.bulletin_month is None
        and e.release.patch.isdigit()
        and e.release.patch[:6] == month
    ]


def _unmapped_reason(fix: AdvisoryFix, catalog: Catalog) -> str:
    build = fix.fixed
    if build is None:
        return "a spelling the tracker cannot read"
    if build.number is None and build.release is not None and build.release.bulletin_month:
        found = len(_patch_releases(build.release, catalog))
        if found > 1:
            return f"{found} patch releases of that month are in the catalog, and the bulletin does not say which"
        return "no patch release of that month is in the catalog yet"
    if build.number is None:
        return "names no build number, and no single build in the catalog has that release"
    return f"build {build.number} is not in the catalog and the text does not say its patch level"
