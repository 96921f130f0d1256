"""Security advisories (VMSA): the VMSA RSS/Atom feed, an advisory page, or Broadcom's JSON listing.

What `content` is decides how it is read:

- a feed (feed.py): one advisory per entry whose title carries `VMSA-2021-0028.1` (id VMSA-2021-0028,
  revision 1); `collect` then reads each entry's advisory page on the feed's own host (at most
  `follow.MAX_FOLLOWED` per poll) for its Response Matrix (follow.py);
- an advisory page (page.py): the key/value header (Advisory ID, Advisory Severity, CVSSv3 Range, Synopsis,
  Issue Date, Updated On, CVE(s)) and the Response Matrix (Product, Version, Running On, CVE Identifier, CVSSv3,
  Severity, Fixed Version, Workarounds, Additional Documentation): one `AdvisoryFix` per ESXi/vCenter row and
  fixed version;
- JSON (listing.py): Broadcom's listing (`documentId`, `title`, `severity`, `affectedCve`, `published`
  "18 June 2024", `notificationUrl`). When the source URL is the `getSecurityAdvisoryList` endpoint, `collect`
  POSTs for the pages itself (`pageNumber`, `pageSize`, `searchVal`, `segment`, `sortInfo`) until a short page,
  at most `listing.MAX_LISTING_PAGES`, then follows `notificationUrl`s on the same host like feed links.

Severity is the vendor's stated one (a page's Advisory Severity, else its matrix rows' worst Severity, a feed
tag or "Severity: ..." text, the listing's field; Broadcom writes HIGH/MEDIUM for important/moderate). Only when
nothing is stated does a CVSS score in the text name the level (Severity.from_cvss); with no score either it is
`common.DEFAULT_SEVERITY`: "important", so a min_severity=important watchlist still hears of an advisory whose
page could not be read, without claiming "critical" (common.py holds what the three readings share).
"""

import re

from tracker.domain.observations import ParseResult
from tracker.domain.versions import Product
from tracker.sources import Fetch
from tracker.sources.advisory_feed.common import Read
from tracker.sources.advisory_feed.feed import from_feed
from tracker.sources.advisory_feed.follow import follow_links
from tracker.sources.advisory_feed.listing import from_listing, is_listing, listing_items, paged_listing
from tracker.sources.advisory_feed.page import from_page
from tracker.sources.xmlsafe import XmlProblem, markup

__all__ = ["collect", "parse"]


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """The advisories one document states, following nothing."""
    return _read(content, url, product).result()


def collect(content: bytes, *, url: str, product: Product, fetch: Fetch) -> ParseResult:
    """The advisories of a feed or listing, with the Response Matrix of the pages they link (bounded)."""
    listing = is_listing(url)
    read = paged_listing(content, url, fetch) if listing else _read(content, url, product)
    if read.problem is None and (listing or _kind(content) != "html"):
        read.found = follow_links(read.found, url, product, fetch, read.skipped)
    return read.result()


def _kind(content: bytes) -> str:
    """json, feed or html; raises XmlProblem for an encoding no XML reader accepts (tracker/sources/xmlsafe.py).
    The bytes looked at are the document's in UTF-8: a UTF-16 feed is a feed."""
    head = markup(content)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    if re.search(rb"<(?:rss|feed|rdf:RDF)\b", head) and not re.search(rb"<html\b", head, re.I):
        return "feed"
    return "html"


def _read(content: bytes, url: str, product: Product) -> Read:
    try:
        kind = _kind(content)
    except XmlProblem as refused:  # EBCDIC, UTF-7 ...: `<!ENTITY` and even `<rss` are not ASCII there
        return Read([], [], f"refused: {refused}")
    if kind == "json":
        items, problem = listing_items(content)
        return Read([], [], problem) if items is None else from_listing(items, url)
    if kind == "feed":
        return from_feed(content)
    return from_page(content, url, product)
