"""Broadcom's JSON listing (`documentId`, `title`, `severity`, `affectedCve`, `published`, `notificationUrl`), and
its paging: POSTs of `listing_body` until a short page, at most `MAX_LISTING_PAGES`."""

import json
import re
from urllib.parse import parse_qs, urljoin, urlsplit

from tracker.domain.observations import AdvisoryRecord, Skipped
from tracker.sources import Fetch
from tracker.sources.advisory_feed.common import WITHDRAWN, Found, Read, cves, excerpt, identity, severity
from tracker.sources.html import clean_text, parse_date

MAX_LISTING_PAGES = 20
LISTING_PAGE_SIZE = 20

_LISTING = re.compile(r"getSecurityAdvisoryList", re.I)


def is_listing(url: str) -> bool:
    """The source URL is the `getSecurityAdvisoryList` endpoint, whose pages `paged_listing` asks for."""
    return bool(_LISTING.search(urlsplit(url).path))


def listing_items(content: bytes) -> tuple[list[dict[str, object]] | None, str | None]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None, "not JSON"
    if isinstance(data, dict) and data.get("success") is False:
        return None, "the listing answered success=false"
    inner = data.get("data", data) if isinstance(data, dict) else data
    if isinstance(inner, dict):
        inner = inner.get("list", inner.get("advisoryList"))
    if not isinstance(inner, list):
        return None, "no advisory list in the JSON"
    return [item for item in inner if isinstance(item, dict)], None


def from_listing(items: list[dict[str, object]], url: str) -> Read:
    read = Read([], [])
    for index, item in enumerate(items, start=1):
        found = _listing_advisory(item, url)
        if found is None:
            read.skipped.append(Skipped(f"listing item {index}", str(item.get("title", ""))[:200], "no VMSA id"))
        else:
            read.found.append(found)
    if not read.found:
        read.problem = "the listing holds no advisories"
    return read


def _listing_advisory(item: dict[str, object], url: str) -> Found | None:
    title = clean_text(str(item.get("title") or ""))
    named = identity(title)
    if named is None:
        return None
    level, stated = severity([str(item.get("severity") or "")], title)
    link = str(item.get("notificationUrl") or "")
    record = AdvisoryRecord(
        id=named[0],
        revision=named[1],
        title=title,
        severity=level,
        url=urljoin(url, link) if link else url,
        published=parse_date(str(item.get("published") or "")),
        updated=parse_date(str(item.get("updated") or "")),
        cves=cves(str(item.get("affectedCve") or ""), title),
        withdrawn=bool(WITHDRAWN.search(f"{title} {item.get('status') or ''}")),
        excerpt=excerpt(title),
    )
    return Found(record, stated)


def listing_body(page: int, segment: str) -> dict[str, object]:
    """The POST body Broadcom's listing page sends for one page."""
    return {
        "pageNumber": page,
        "pageSize": LISTING_PAGE_SIZE,
        "searchVal": "",
        "segment": segment,
        "sortInfo": {"column": "", "order": ""},
    }


def paged_listing(content: bytes, url: str, fetch: Fetch) -> Read:
    """Every page of the listing: the caller's GET answer as page 0 when it is one, then POSTs until a short page."""
    segment = parse_qs(urlsplit(url).query).get("segment", ["VC"])[0]
    first, _ = listing_items(content)
    pages = [first] if first else []
    number = len(pages)
    while number < MAX_LISTING_PAGES and (not pages or len(pages[-1]) >= LISTING_PAGE_SIZE):
        items, problem = listing_items(fetch.post_json(url, listing_body(number, segment)))
        if items is None:
            return Read([], [], f"listing page {number}: {problem}")
        if pages and _ids(items) == _ids(pages[-1]):
            break  # the server ignored pageNumber: the same page again
        pages.append(items)
        number += 1
    read = from_listing([item for page in pages for item in page], url)
    if number >= MAX_LISTING_PAGES and pages and len(pages[-1]) >= LISTING_PAGE_SIZE:
        read.skipped.append(Skipped("listing", f"{MAX_LISTING_PAGES} pages", "page cap reached; older pages unread"))
    return read


def _ids(items: list[dict[str, object]]) -> list[object]:
    return [item.get("documentId") or item.get("title") for item in items]
