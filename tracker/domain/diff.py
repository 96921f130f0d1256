"""The diff: previous catalog + one source's new observation -> events (PRODUCT.md section 4).

Rules, in the order `observe` applies them:
1. The anomaly guard: a page that is not what it should be, no rows, more than `max_drop_ratio` of the last good
   rows lost, more rows added at once than a vendor ever adds (`growth_limit`), or a whole release line vanished:
   nothing is inferred and the last good page stays the baseline; the source's health changes instead.
2. Records: unknown builds join the catalog; `new` only after the product's baseline cycle and the source's own
   first good poll. Every listed build refreshes its sighting.
3. Silence: a build the source listed before and misses now is counted; after `pull_confirmations` good polls
   it is gone from that source. A vanished index row is a medium pull signal where no availability source covers
   the product; availability sources that disagree raise a `discrepancy` instead.
4. Notices (and "(Recalled)" labels): an explicit pull is high confidence. "X replaces Y": only Y is pulled and X
   is the reissue. One pulled event per build: later evidence updates it.
5. Reissue inference: a new build in the update line of a pulled build is its reissue.
6. Restore: a pulled build listed again, with no standing pull notice.

Rules 1, 2 and the bookkeeping of a poll are here; rules 3 to 6 are in tracker/domain/diff_rules.py, and what a
build gone from one availability source means is settled by tracker/domain/corroboration.py.
"""

from datetime import datetime

from tracker.domain.catalog import BuildStatus, Catalog, Entry, Health, Policy, Sighting, SourceState
from tracker.domain.diff_rules import (
    Poll,
    apply_notice,
    count_silence,
    infer_reissues,
    pull_lapsed,
    release_standing_notices,
    restore,
)
from tracker.domain.events import Change, Confidence, Event, EventKind, Evidence
from tracker.domain.observations import BuildRecord, Notice, NoticeKind, ParseResult
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Build, Product
from tracker.domain.words import count

# Growth is guarded like shrinkage. The vendor adds a handful of rows at a time: a release and its security-only
# twin, a few more after polls were missed. A page that suddenly adds more than MAX_NEW_ROWS rows, or more than
# MAX_NEW_SHARE of the rows it had, is a flood or another page, not news (10,000 `new` events, and a baseline that
# made the real page look like it "lost 10000 of 10045 rows"). The share never allows fewer than MIN_NEW_LIMIT rows,
# so a download page listing two builds may still gain a release with its variants.
MAX_NEW_ROWS = 50
MAX_NEW_SHARE = 0.5
MIN_NEW_LIMIT = 10


def growth_limit(rows_before: int) -> int:
    """The most rows a page that listed `rows_before` may add in one poll."""
    return min(MAX_NEW_ROWS, max(MIN_NEW_LIMIT, int(MAX_NEW_SHARE * rows_before)))


def guard(catalog: Catalog, source: SourceState, result: ParseResult, policy: Policy) -> str | None:
    """Why this parse must not be trusted, or None when it looks like a good page."""
    if result.problem:
        return result.problem
    if source.role is SourceRole.NOTES:
        return None  # a release-notes page without a header says so itself; a feed may rightly be quiet
    if source.role is SourceRole.ADVISORY:
        return None if result.advisories or result.records else "the page lists no advisories"
    if not result.records:
        return "the page lists no builds"
    before = [s for s in catalog.sightings_of(source.id) if s.present]
    if not before:
        return None
    now_listed = {(r.product, r.build) for r in result.records}
    lost = [s for s in before if (s.product, s.build) not in now_listed]
    if len(lost) > policy.max_drop_ratio * len(before):
        return (
            f"the page lost {len(lost)} of the {len(before)} rows it had ({len(lost) / len(before):.0%}), "
            f"more than the {policy.max_drop_ratio:.0%} allowed"
        )
    added = len(now_listed - {(s.product, s.build) for s in before})
    if added > growth_limit(len(before)):
        return (
            f"the page added {added} rows to the {len(before)} it had, "
            f"more than the {growth_limit(len(before))} a page may add at once"
        )
    return _vanished_line(catalog, before, result)


def _vanished_line(catalog: Catalog, before: list[Sighting], result: ParseResult) -> str | None:
    lines_before = {e.line for s in before if (e := catalog.entries.get((s.product, s.build))) and e.line}
    gone = sorted(lines_before - result.lines)
    if gone:
        return f"the whole {', '.join(gone)} table vanished at once"
    return None


def observe(catalog: Catalog, source_id: str, result: ParseResult, policy: Policy, now: datetime) -> list[Change]:
    """Apply one good-or-suspect parse of a source to the catalog and return what changed, as events."""
    source = catalog.sources[source_id]
    reason = guard(catalog, source, result, policy)
    if reason is not None:
        return record_failure(catalog, source_id, reason, policy, now)
    poll = _start(catalog, source, policy, now, result.url)
    _heal(poll)
    notices = list(result.notices) + [_recall_notice(r) for r in result.records if r.recalled]
    release_standing_notices(poll, notices)
    for record in _unique(result.records):
        _see(poll, record)
    count_silence(poll, {(r.product, r.build) for r in result.records})
    for notice in notices:
        apply_notice(poll, notice)
    infer_reissues(poll)
    _finish(poll, len(result.records))
    return poll.changes


def observe_unchanged(catalog: Catalog, source_id: str, policy: Policy, now: datetime) -> list[Change]:
    """A 304: the page is the one of the last good poll. That is a good poll listing the same builds, so pending
    confirmations of a vanished row still advance, without parsing anything."""
    source = catalog.sources[source_id]
    poll = _start(catalog, source, policy, now)
    _heal(poll)
    listed = {(s.product, s.build) for s in catalog.sightings_of(source_id) if s.present}
    for sighting in catalog.sightings_of(source_id):
        if sighting.present:
            sighting.last_seen = now  # in memory only: stored, it is the source's last good poll (Catalog)
    count_silence(poll, listed)
    _finish(poll, source.rows_seen)
    return poll.changes


def record_failure(catalog: Catalog, source_id: str, reason: str, policy: Policy, now: datetime) -> list[Change]:
    """A fetch error or an untrustworthy page: no inference, only the source's health moves."""
    source = catalog.sources[source_id]
    source.failures += 1
    source.last_error, source.last_error_at = reason, now
    catalog.mark(source=source.id)
    changes: list[Change] = []
    if source.parent_id is not None:
        # A release-notes page found through a KB link: its health shows in `tracker sources --all`; an event per
        # broken vendor link would be noise.
        source.health = Health.FAILING if source.failures >= policy.failing_after else Health.ANOMALY
        return changes
    if source.health is Health.OK:
        source.health = Health.ANOMALY
        changes.append(_health_event(source, EventKind.SOURCE_ANOMALY, f"{source.id}: {reason}", now))
    if source.failures >= policy.failing_after and source.health is not Health.FAILING:
        source.health = Health.FAILING
        detail = f"{source.id} has failed {source.failures} polls in a row: {reason}"
        changes.append(_health_event(source, EventKind.SOURCE_FAILING, detail, now))
    return changes


def _health_event(source: SourceState, kind: EventKind, detail: str, now: datetime) -> Event:
    evidence = Evidence(source.id, source.url, detail[:500], now)
    return Event(kind, now, Confidence.HIGH, (evidence,), product=source.product, source_id=source.id, detail=detail)


def _start(catalog: Catalog, source: SourceState, policy: Policy, now: datetime, url: str | None = None) -> Poll:
    baseline_at = catalog.baseline(source.product, now)
    in_baseline_cycle = baseline_at >= now
    first_poll = not source.baselined
    # A release-notes page found through a baseline-era KB row speaks of old news on its first poll.
    old_source = first_poll and source.created_at <= baseline_at
    return Poll(catalog, source, policy, now, in_baseline_cycle or first_poll, in_baseline_cycle or old_source, url)


def _heal(poll: Poll) -> None:
    source = poll.source
    if source.health is not Health.OK and source.parent_id is None:
        detail = f"{source.id} is answering again after {count(source.failures, 'failed poll')}"
        poll.changes.append(_health_event(source, EventKind.SOURCE_RECOVERED, detail, poll.now))
    source.health, source.failures = Health.OK, 0


def _unique(records: tuple[BuildRecord, ...]) -> list[BuildRecord]:
    seen: dict[tuple[Product, int], BuildRecord] = {}
    for record in records:
        seen.setdefault((record.product, record.build), record)
    return list(seen.values())


def _see(poll: Poll, record: BuildRecord) -> None:
    catalog = poll.catalog
    entry = catalog.find(record.product, record.build)
    if entry is None:
        entry = _new_entry(record, poll.now)
        catalog.add_entry(entry)
        poll.fresh.append(entry)
    else:
        _enrich(entry, record)
        catalog.index_alt_builds(entry)
    catalog.mark(entry=entry)
    sighting = _sight(poll, entry, record)
    was_gone = sighting.gone
    sighting.gone, sighting.misses = False, 0
    if entry.status is BuildStatus.PULLED and pull_lapsed(poll, entry, was_gone):
        restore(poll, entry, record)


def _new_entry(record: BuildRecord, now: datetime) -> Entry:
    return Entry(
        product=record.product,
        build=record.build,
        release=record.release,
        release_name=record.release.name if record.release else record.release_name,
        first_seen=now,
        release_date=record.release_date.isoformat() if record.release_date else None,
        alt_builds=record.alt_builds,
        notes_url=record.notes_url,
    )


def _enrich(entry: Entry, record: BuildRecord) -> None:
    """Fill what the catalog did not know yet; a host-style `7.0.3` never overwrites `7.0 U3c`."""
    if record.release and (entry.release is None or entry.release.letter is None):
        entry.release, entry.release_name = record.release, record.release.name
    entry.release_date = entry.release_date or (record.release_date.isoformat() if record.release_date else None)
    entry.notes_url = entry.notes_url or record.notes_url
    entry.alt_builds = tuple(sorted(set(entry.alt_builds) | set(record.alt_builds)))


def _sight(poll: Poll, entry: Entry, record: BuildRecord) -> Sighting:
    sighting = poll.catalog.sighting(poll.source.id, entry.key)
    if sighting is None:
        sighting = Sighting(poll.source.id, entry.product, entry.build, poll.now, poll.now, poll.url)
        poll.catalog.add_sighting(sighting)
    sighting.last_seen, sighting.excerpt = poll.now, record.excerpt[:500]
    poll.catalog.mark(sighting=sighting)
    return sighting


def _recall_notice(record: BuildRecord) -> Notice:
    subject = Build(record.product, record.build, record.release)
    return Notice(NoticeKind.PULLED, (subject,), record.excerpt or f"{record.release_name} (Recalled)")


def _finish(poll: Poll, rows: int) -> None:
    if not poll.quiet_new:
        for entry in poll.fresh:
            detail = f"new build {entry.release_name} ({entry.build})"
            sighting = poll.catalog.sighting(poll.source.id, entry.key)
            assert sighting is not None
            poll.changes.append(
                Event(
                    EventKind.NEW,
                    poll.now,
                    Confidence.HIGH,
                    (poll.evidence(sighting.excerpt or detail),),
                    entry.product,
                    entry.build,
                    entry.release_name,
                    detail=detail,
                )
            )
    source = poll.source
    source.baselined, source.last_success_at, source.rows_seen = True, poll.now, rows
    poll.catalog.mark(source=source.id)
