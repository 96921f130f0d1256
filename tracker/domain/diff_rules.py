"""The diff's rules 3 to 6 (tracker/domain/diff.py lists them all): silence, notices, reissues and restores, each a
step on the working state of one `observe` call (`Poll`). Whether another availability source still offers a
build comes from tracker/domain/corroboration.py, which settles such vanishings once the cycle has heard them all.
"""

from dataclasses import dataclass, field
from datetime import datetime

from tracker.domain.catalog import BuildStatus, Catalog, Entry, Policy, Sighting, SourceState
from tracker.domain.corroboration import offering
from tracker.domain.events import Change, Confidence, Event, EventKind, EventUpdate, Evidence
from tracker.domain.observations import BuildRecord, Notice, NoticeKind
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Build, Product
from tracker.domain.words import count


@dataclass
class Poll:
    """The working state of one `observe` call."""

    catalog: Catalog
    source: SourceState
    policy: Policy
    now: datetime
    quiet_new: bool  # no `new` events: the product's baseline cycle or the source's own first poll
    quiet_notices: bool  # no events from notices: the product's baseline cycle, or a baseline-era source's first
    page_url: str | None = None  # the page's address after a redirect (ParseResult.url), else the source's
    changes: list[Change] = field(default_factory=list)
    fresh: list[Entry] = field(default_factory=list)  # builds the catalog met on this poll

    @property
    def url(self) -> str:
        """Where this poll read what it saw: evidence and sightings name it."""
        return self.page_url or self.source.url

    def evidence(self, excerpt: str) -> Evidence:
        return Evidence(self.source.id, self.url, excerpt[:500], self.now)


# --- silence -------------------------------------------------------------------------------------------------
def count_silence(poll: Poll, listed: set[tuple[Product, int]]) -> None:
    for sighting in poll.catalog.sightings_of(poll.source.id):
        if (sighting.product, sighting.build) in listed or sighting.gone:
            continue
        sighting.misses += 1
        poll.catalog.mark(sighting=sighting)
        if sighting.misses >= poll.policy.pull_confirmations:
            sighting.gone = True
            _vanished(poll, sighting)


def _vanished(poll: Poll, sighting: Sighting) -> None:
    entry = poll.catalog.entries.get((sighting.product, sighting.build))
    if entry is None or poll.source.role is SourceRole.NOTES:
        return
    polls = sighting.misses
    if poll.source.role is SourceRole.INDEX:
        words = f"{entry.release_name} ({entry.build}) is no longer listed ({polls} polls in a row)"
        if offering(poll.catalog, entry):
            _add_evidence_if_pulled(poll, entry, words)
        else:
            _pull(poll, entry, Confidence.MEDIUM, poll.evidence(words))
        return
    _vanished_from_availability(poll, entry, polls)


def _vanished_from_availability(poll: Poll, entry: Entry, polls: int) -> None:
    words = f"{entry.release_name} ({entry.build}) is no longer offered by {poll.source.id} ({polls} polls in a row)"
    if entry.status is BuildStatus.PULLED:
        _add_evidence_if_pulled(poll, entry, words)
        return
    poll.catalog.vanished.append((entry.key, poll.evidence(words)))


def _add_evidence_if_pulled(poll: Poll, entry: Entry, words: str) -> None:
    if entry.status is BuildStatus.PULLED:
        poll.changes.append(EventUpdate(EventKind.PULLED, entry.product, entry.build, (poll.evidence(words),)))


# --- pulls, notices, reissues, restores ----------------------------------------------------------------------
def _pull(poll: Poll, entry: Entry, confidence: Confidence, evidence: Evidence) -> None:
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


def _resolve(poll: Poll, subject: Build) -> list[Entry]:
    if subject.number is not None:
        entry = poll.catalog.find(subject.product, subject.number)
        return [entry] if entry else []
    return poll.catalog.find_release(subject.release) if subject.release else []


def apply_notice(poll: Poll, notice: Notice) -> None:
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


def release_standing_notices(poll: Poll, notices: list[Notice]) -> None:
    """A source whose notice for a build is gone no longer holds that build pulled (a "(Recalled)" label)."""
    named: set[tuple[Product, int]] = set()
    for notice in notices:
        for subject in notice.subjects:
            named.update(e.key for e in _resolve(poll, subject))
    for entry in poll.catalog.entries.values():
        if poll.source.id in entry.pull_notices and entry.key not in named:
            entry.pull_notices.discard(poll.source.id)
            poll.catalog.mark(entry=entry)


def _reissue(poll: Poll, new: Entry, replaced: list[Entry], evidence: Evidence) -> None:
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


def infer_reissues(poll: Poll) -> None:
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
            after = count(len(pulled), "pulled build")
            words = f"{new.release_name} ({new.build}) appeared after {after} of its update"
            _reissue(poll, new, pulled, poll.evidence(words))


def pull_lapsed(poll: Poll, entry: Entry, was_gone: bool) -> bool:
    """A pull no longer stands when no notice holds it and the build is back where it vanished from, or, for a
    pull that rested on notices alone, as soon as the last notice is gone."""
    if entry.pull_notices or poll.source.role is SourceRole.NOTES:
        return False
    return was_gone or not any(s.gone for s in poll.catalog.sightings_for(entry.key))


def restore(poll: Poll, entry: Entry, record: BuildRecord) -> None:
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
