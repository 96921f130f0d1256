"""The VMSA RSS/Atom feed: one advisory per entry whose title (or link) carries its VMSA id."""

from tracker.domain.observations import AdvisoryRecord, Skipped
from tracker.domain.words import count
from tracker.sources.advisory_feed.common import WITHDRAWN, Found, Read, cves, excerpt, identity, severity
from tracker.sources.feed import FeedEntry, read_feed


def from_feed(content: bytes) -> Read:
    read = Read([], [])
    feed = read_feed(content)
    if feed.problem is not None:
        return Read([], [], feed.problem)
    for index, entry in enumerate(feed.entries, start=1):
        found = _entry_advisory(entry)
        if found is None:
            read.skipped.append(Skipped(f"entry {index}", entry.title[:200], "no VMSA id in the title"))
        else:
            read.found.append(found)
    if not read.found:
        read.problem = f"no advisories among the feed's {count(len(feed.entries), 'entry')}"
    return read


def _entry_advisory(entry: FeedEntry) -> Found | None:
    named = identity(entry.title) or identity(entry.link)
    if named is None:
        return None
    text = f"{entry.title}\n{entry.summary}"
    level, stated = severity(entry.tags, text)
    record = AdvisoryRecord(
        id=named[0],
        revision=named[1],
        title=entry.title,
        severity=level,
        url=entry.link,
        published=entry.published,
        updated=entry.updated if entry.updated != entry.published else None,
        cves=cves(text),
        withdrawn=bool(WITHDRAWN.search(text)),
        excerpt=excerpt(entry.title),
    )
    return Found(record, stated)
