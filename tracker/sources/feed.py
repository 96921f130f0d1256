"""Any RSS or Atom feed (a vendor blog, a community tracker): entries that name releases or builds together with
pull, recall, withdrawal or reissue wording become notices; every other entry is ignored.

The feed helpers here (`read_feed`, `xml_refusal`) are shared with the advisory feed. feedparser only ever sees
bytes we were handed (it never fetches), and only after two guards:

- XML that declares entities or points to an external DTD is refused, never expanded (PRODUCT.md 4): feedparser
  itself expands internal entities, so a "billion laughs" document would otherwise blow up in memory. So is XML
  in any encoding but UTF-8, UTF-16, ISO-8859-1 and ASCII (tracker/sources/xmlsafe.py `markup`): feedparser
  decodes EBCDIC and UTF-7, where `<!ENTITY` is not ASCII bytes and a byte scan would miss it.
- A feed is cut after its first `MAX_ENTRIES` entries before parsing (feeds list newest first), so a 10,000-entry
  feed costs what a 500-entry one does: feedparser needs ~0.4 ms per entry.
"""

import re
from dataclasses import dataclass, replace
from datetime import date
from time import struct_time

import feedparser
import lxml.html
from lxml import etree

from tracker.domain.observations import Notice, ParseResult
from tracker.domain.versions import Product
from tracker.sources.html import clean_text
from tracker.sources.notices import find_notices
from tracker.sources.xmlsafe import XmlProblem, markup

__all__ = ["MAX_ENTRIES", "NOTICE_ENTRIES", "FeedEntry", "FeedRead", "parse", "plain_text", "read_feed", "xml_refusal"]

MAX_ENTRIES = 500  # entries kept per feed, in document order (newest first on every feed we know)
NOTICE_ENTRIES = 200  # a generic feed's newest entries read for notices: a poller only needs what is recent

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_EXTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\b(?:SYSTEM|PUBLIC)\b", re.I)
_FEED_ROOT = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(rss|feed|RDF)\b")
_ENTRY_START = re.compile(rb"<(?:item|entry)[\s>/]")
_CLOSERS = {b"rss": b"</channel></rss>", b"feed": b"</feed>", b"RDF": b"</rdf:RDF>"}
_BLOCK_END = re.compile(r"<br\s*/?>|</(?:p|li|div|h\d|tr|blockquote)>", re.I)


@dataclass(frozen=True)
class FeedEntry:
    """One entry as plain values: no feedparser object leaves this module."""

    title: str
    link: str
    summary: str  # plain text; paragraphs separated by blank lines
    published: date | None
    updated: date | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedRead:
    entries: tuple[FeedEntry, ...] = ()
    problem: str | None = None
    truncated: bool = False  # the feed had more than MAX_ENTRIES entries


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """Pull and reissue notices from the feed's entries, each excerpt ending with the entry's link."""
    read = read_feed(content, NOTICE_ENTRIES)
    if read.problem is not None:
        return ParseResult(problem=read.problem)
    found: dict[Notice, None] = {}
    for entry in read.entries:
        found.update(dict.fromkeys(_entry_notices(entry, product)))
    return ParseResult(notices=tuple(found))


def _entry_notices(entry: FeedEntry, product: Product) -> tuple[Notice, ...]:
    text = f"{entry.title}\n\n{entry.summary}"
    notices = find_notices(text, product=product, page_build=None)
    return tuple(replace(n, excerpt=_with_link(n.excerpt, entry.link)) for n in notices)


def _with_link(excerpt: str, link: str) -> str:
    return f"{excerpt} ({link})" if link else excerpt


# --- reading a feed -------------------------------------------------------------------------------------------
def xml_refusal(content: bytes) -> str | None:
    """Why an XML document is refused (an encoding other than UTF-8, UTF-16, ISO-8859-1 or ASCII, entities, an
    external DTD), or None."""
    try:
        flat = markup(content)  # the encoding check every XML reader shares; UTF-16 comes back as UTF-8
    except XmlProblem as problem:
        return f"refused: {problem}"
    if _ENTITY_DECLARATION.search(flat):
        return "refused: the XML declares entities (never expanded)"
    if _EXTERNAL_DTD.search(flat[:65536]):
        return "refused: the XML references an external DTD"
    return None


def read_feed(content: bytes, limit: int = MAX_ENTRIES) -> FeedRead:
    """The feed's first `limit` entries, or why the bytes are not a usable feed."""
    refusal = xml_refusal(content)
    if refusal is not None:
        return FeedRead(problem=refusal)
    trimmed, truncated = _first_entries(content, limit)
    parsed = feedparser.parse(trimmed, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        return FeedRead(problem=f"not a feed{f' ({reason})' if reason else ''}"[:200])
    if not parsed.entries:
        return FeedRead(problem="the feed has no entries")
    entries = tuple(_entry(raw) for raw in parsed.entries[:limit])
    return FeedRead(entries=entries, truncated=truncated)


def _first_entries(content: bytes, limit: int) -> tuple[bytes, bool]:
    """The document cut before its (limit + 1)th entry and closed again, so feedparser never reads the rest."""
    root = _FEED_ROOT.search(content[:8192])
    if root is None:
        return content, False
    starts = _ENTRY_START.finditer(content, root.end())
    cut = next((m.start() for i, m in enumerate(starts) if i == limit), None)
    if cut is None:
        return content, False
    return content[:cut] + _CLOSERS[root.group(1)], True


def _entry(raw: feedparser.FeedParserDict) -> FeedEntry:
    return FeedEntry(
        title=clean_text(str(raw.get("title") or "")),
        link=str(raw.get("link") or "").strip(),
        summary=plain_text(str(raw.get("summary") or raw.get("description") or "")),
        # dict.get: feedparser's own .get maps a missing updated_parsed to published_parsed, with a warning
        published=_date(dict.get(raw, "published_parsed")),
        updated=_date(dict.get(raw, "updated_parsed")),
        tags=tuple(clean_text(str(t.get("term") or "")) for t in raw.get("tags") or () if t.get("term")),
    )


def _date(value: object) -> date | None:
    """feedparser's parsed time, or None for a missing or broken date (never a crash)."""
    if not isinstance(value, struct_time):
        return None
    try:
        return date(value.tm_year, value.tm_mon, value.tm_mday)
    except ValueError:
        return None


def plain_text(markup: str) -> str:
    """An entry's HTML summary as text, one paragraph per block, so sentences never run across paragraphs."""
    if "<" not in markup:
        return clean_text(markup)
    paragraphs = []
    for part in _BLOCK_END.split(markup):
        text = _strip_tags(part)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _strip_tags(fragment: str) -> str:
    if not fragment.strip():
        return ""
    try:
        return clean_text(lxml.html.fragment_fromstring(fragment, create_parent="div").text_content())
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", fragment))
