"""The diff: previous catalog + one source's new observation -> events (PRODUCT.md section 4).

Rules, in the order `observe` applies them:
1. The anomaly guard: a page that is not what it should be, no rows, more than `max_drop_ratio` of the last good
   rows lost, or a whole release line vanished: nothing is inferred; the source's health changes instead.
2. Records: unknown builds join the catalog; `new` only after the product's baseline cycle and the source's own
   first good poll. Every listed build refreshes its sighting.
3. Silence: a build the source listed before and misses now is counted; after `pull_confirmations` good polls
   it is gone from that source. A vanished index row is a medium pull signal where no availability source covers
   the product; availability sources that disagree raise a `discrepancy` instead.
4. Notices (and "(Recalled)" labels): an explicit pull is high confidence. "X replaces Y": only Y is pulled and X
   is the reissue. One pulled event per build: later evidence updates it.
5. Reissue inference: a new build in the update line of a pulled build is its reissue.
6. Restore: a pulled build listed again, with no standing pull notice.
"""

from dataclasses import dataclass, field
from datetime import datetime

from tracker.domain.catalog import BuildStatus, Catalog, Entry, Health, Policy, Sighting, SourceState
from tracker.domain.events import Confidence, Event, EventKind, EventUpdate, Evidence
from tracker.domain.observations import BuildRecord, Notice, NoticeKind, ParseResult
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Build, Product

Change = Event | EventUpdate


@dataclass
class _Poll:
    """The working state of one `observe` call."""

    catalog: Catalog
    source: SourceState
    policy: Policy
    now: datetime
    quiet_new: bool  # no `new` events: the product's baseline cycle or the source's own first poll
    quiet_notices: bool  # no events from notices: the product's baseline cycle, or a baseline-era source's first
    changes: list[Change] = field(default_factory=list)
    fresh: list[Entry] = field(default_factory=list)  # builds the catalog met on this poll

    def evidence(self, excerpt: str) -> Evidence:
        return Evidence(self.source.id, self.source.url, excerpt[:500], self.now)


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
    poll = _start(catalog, source, policy, now)
    _heal(poll)
    notices = list(result.notices) + [_recall_notice(r) for r in result.records if r.recalled]
    _release_standing_notices(poll, notices)
    for record in _unique(result.records):
        _see(poll, record)
    _count_silence(poll, {(r.product, r.build) for r in result.records})
    for notice in notices:
        _apply_notice(poll, notice)
    _infer_reissues(poll)
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
            sighting.last_seen = now
    catalog.touched[source_id] = now  # one write for all present rows, not one per row
    _count_silence(poll, listed)
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


def _start(catalog: Catalog, source: SourceState, policy: Policy, now: datetime) -> _Poll:
    baseline_at = catalog.baseline(source.product, now)
    in_baseline_cycle = baseline_at >= now
    first_poll = not source.baselined
    # A release-notes page found through a baseline-era KB row speaks of old news on its first poll.
    old_source = first_poll and source.created_at <= baseline_at
    return _Poll(catalog, source, policy, now, in_baseline_cycle or first_poll, in_baseline_cycle or old_source)


def _heal(poll: _Poll) -> None:
    source = poll.source
    if source.health is not Health.OK and source.parent_id is None:
        detail = f"{source.id} is answering again after {source.failures} failed poll(s)"
        poll.changes.append(_health_event(source, EventKind.SOURCE_RECOVERED, detail, poll.now))
    source.health, source.failures = Health.OK, 0


def _unique(records: tuple[BuildRecord, ...]) -> list[BuildRecord]:
    seen: dict[tuple[Product, int], BuildRecord] = {}
    for record in records:
        seen.setdefault((record.product, record.build), record)
    return list(seen.values())


def _see(poll: _Poll, record: BuildRecord) -> None:
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
    if entry.status is BuildStatus.PULLED and _pull_lapsed(poll, entry, was_gone):
        _restore(poll, entry, record)


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


def _sight(poll: _Poll, entry: Entry, record: BuildRecord) -> Sighting:
    sighting = poll.catalog.sighting(poll.source.id, entry.key)
    if sighting is None:
        sighting = Sighting(poll.source.id, entry.product, entry.build, poll.now, poll.now, poll.source.url)
        poll.catalog.add_sighting(sighting)
    sighting.last_seen, sighting.excerpt = poll.now, record.excerpt[:500]
    poll.catalog.mark(sighting=sighting)
    return sighting


def _recall_notice(record: BuildRecord) -> Notice:
    subject = Build(record.product, record.build, record.release)
    return Notice(NoticeKind.PULLED, (subject,), record.excerpt or f"{record.release_name} (Recalled)")


# --- silence -------------------------------------------------------------------------------------------------
def _count_silence(poll: _Poll, listed: set[tuple[Product, int]]) -> None:
    for sighting in poll.catalog.sightings_of(poll.source.id):
        if (sighting.product, sighting.build) in listed or sighting.gone:
            continue
        sighting.misses += 1
        poll.catalog.mark(sighting=sighting)
        if sighting.misses >= poll.policy.pull_confirmations:
            sighting.gone = True
            _vanished(poll, sighting)


def _vanished(poll: _Poll, sighting: Sighting) -> None:
    entry = poll.catalog.entries.get((sighting.product, sighting.build))
    if entry is None or poll.source.role is SourceRole.NOTES:
        return
    polls = sighting.misses
    if poll.source.role is SourceRole.INDEX:
        words = f"{entry.release_name} ({entry.build}) is no longer listed ({polls} polls in a row)"
        if _availability_covers(poll, entry):
            _add_evidence_if_pulled(poll, entry, words)
        else:
            _pull(poll, entry, Confidence.MEDIUM, poll.evidence(words))
        return
    _vanished_from_availability(poll, entry, polls)


def _availability_covers(poll: _Poll, entry: Entry) -> bool:
    return any(
        poll.catalog.sources[s.source_id].role is SourceRole.AVAILABILITY
        for s in poll.catalog.sightings_for(entry.key)
        if s.source_id in poll.catalog.sources
    )


def _availability_sightings(poll: _Poll, entry: Entry) -> list[Sighting]:
    sources = poll.catalog.sources
    return [
        s
        for s in poll.catalog.sightings_for(entry.key)
        if s.source_id in sources and sources[s.source_id].role is SourceRole.AVAILABILITY
    ]


def _vanished_from_availability(poll: _Poll, entry: Entry, polls: int) -> None:
    words = f"{entry.release_name} ({entry.build}) is no longer offered by {poll.source.id} ({polls} polls in a row)"
    if entry.status is BuildStatus.PULLED:
        _add_evidence_if_pulled(poll, entry, words)
        return
    poll.catalog.vanished.append((entry.key, poll.evidence(words)))


def _add_evidence_if_pulled(poll: _Poll, entry: Entry, words: str) -> None:
    if entry.status is BuildStatus.PULLED:
        poll.changes.append(EventUpdate(EventKind.PULLED, entry.product, entry.build, (poll.evidence(words),)))


# --- pulls, notices, reissues, restores ----------------------------------------------------------------------
def _pull(poll: _Poll, entry: Entry, confidence: Confidence, evidence: Evidence) -> None:
    poll.catalog.mark(entry=entry)
    if entry.status is BuildStatus.PULLED:
        previous = entry.pull_confidence or Confidence.LOW
        raised = confidence if confidence.rank > previous.rank else None
        entry.pull_confidence = raised or previous
        poll.changes.append(EventUpdate(EventKind.PULLED, entry.product, entry.build, (evidence,), raised))
        return
    entry.status, entry.pull_confidence = BuildStatus.PULLED, confidence
    if poll.quiet_notices:  # a vanished row needs earlier polls, so only notices can be quiet here
        return
    detail = f"{entry.release_name} ({entry.build}) was pulled"
    poll.changes.append(
        Event(
            EventKind.PULLED,
            poll.now,
            confidence,
            (evidence,),
            entry.product,
            entry.build,
            entry.release_name,
            detail=detail,
        )
    )


def _resolve(poll: _Poll, subject: Build) -> list[Entry]:
    if subject.number is not None:
        entry = poll.catalog.find(subject.product, subject.number)
        return [entry] if entry else []
    return poll.catalog.find_release(subject.release) if subject.release else []


def _apply_notice(poll: _Poll, notice: Notice) -> None:
    evidence = poll.evidence(notice.excerpt)
    replacement = _resolve(poll, notice.replacement) if notice.replacement else []
    replaced: list[Entry] = []
    for subject in notice.subjects:
        for entry in _resolve(poll, subject):
            if replacement and entry is replacement[0]:
                continue  # "X replaces Y": X is the reissue, never pulled by its own notice
            entry.pull_notices.add(poll.source.id)
            _pull(poll, entry, Confidence.HIGH, evidence)
            replaced.append(entry)
    if notice.kind is NoticeKind.REPLACED and replacement and replaced:
        _reissue(poll, replacement[0], replaced, evidence)


def _release_standing_notices(poll: _Poll, notices: list[Notice]) -> None:
    """A source whose notice for a build is gone no longer holds that build pulled (a "(Recalled)" label)."""
    named: set[tuple[Product, int]] = set()
    for notice in notices:
        for subject in notice.subjects:
            named.update(e.key for e in _resolve(poll, subject))
    for entry in poll.catalog.entries.values():
        if poll.source.id in entry.pull_notices and entry.key not in named:
            entry.pull_notices.discard(poll.source.id)
            poll.catalog.mark(entry=entry)


def _reissue(poll: _Poll, new: Entry, replaced: list[Entry], evidence: Evidence) -> None:
    targets = [e for e in replaced if e.replaced_by != new.build and e is not new]
    if not targets:  # already known as this reissue: the new words are more evidence for it
        poll.changes.append(EventUpdate(EventKind.REISSUED, new.product, new.build, (evidence,)))
        return
    already = any(e.replaced_by == new.build for e in poll.catalog.entries.values())
    for entry in targets:
        entry.replaced_by = new.build
        poll.catalog.mark(entry=entry)
    builds = tuple(sorted(e.build for e in targets))
    if already:
        poll.changes.append(EventUpdate(EventKind.REISSUED, new.product, new.build, (evidence,), replaces=builds))
        return
    if new in poll.fresh:
        poll.fresh.remove(new)  # a reissue is told as such, not also as a "new" build
    if poll.quiet_notices:
        return
    names = ", ".join(f"{e.release_name} ({e.build})" for e in sorted(targets, key=lambda e: e.build))
    detail = f"{new.release_name} ({new.build}) is the reissue replacing {names}"
    poll.changes.append(
        Event(
            EventKind.REISSUED,
            poll.now,
            Confidence.HIGH,
            (evidence,),
            new.product,
            new.build,
            new.release_name,
            replaces=builds,
            detail=detail,
        )
    )


def _infer_reissues(poll: _Poll) -> None:
    fresh = [e for e in poll.fresh if e.release is not None and e.release.letter is not None]
    if not fresh:
        return
    waiting: dict[tuple[object, ...], list[Entry]] = {}
    for entry in poll.catalog.entries.values():
        if entry.status is BuildStatus.PULLED and entry.replaced_by is None and entry.release:
            waiting.setdefault(entry.release.update_line, []).append(entry)
    for new in fresh:
        assert new.release is not None
        pulled = [e for e in waiting.get(new.release.update_line, []) if e.release and e.release < new.release]
        if pulled:
            words = f"{new.release_name} ({new.build}) appeared after {len(pulled)} pulled build(s) of its update"
            _reissue(poll, new, pulled, poll.evidence(words))


def _pull_lapsed(poll: _Poll, entry: Entry, was_gone: bool) -> bool:
    """A pull no longer stands when no notice holds it and the build is back where it vanished from, or, for a
    pull that rested on notices alone, as soon as the last notice is gone."""
    if entry.pull_notices or poll.source.role is SourceRole.NOTES:
        return False
    return was_gone or not any(s.gone for s in poll.catalog.sightings_for(entry.key))


def _restore(poll: _Poll, entry: Entry, record: BuildRecord) -> None:
    if record.recalled:
        return
    entry.status, entry.pull_confidence = BuildStatus.AVAILABLE, None
    poll.catalog.mark(entry=entry)
    detail = f"{entry.release_name} ({entry.build}) is listed again by {poll.source.id}"
    evidence = poll.evidence(record.excerpt or detail)
    poll.changes.append(
        Event(
            EventKind.RESTORED,
            poll.now,
            Confidence.MEDIUM,
            (evidence,),
            entry.product,
            entry.build,
            entry.release_name,
            detail=detail,
        )
    )


def _finish(poll: _Poll, rows: int) -> None:
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
