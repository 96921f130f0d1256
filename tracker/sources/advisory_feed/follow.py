"""Following links: a feed entry or listing item completed by its advisory page's Response Matrix."""

from dataclasses import replace
from urllib.parse import urljoin, urlsplit

from tracker.domain.observations import Skipped
from tracker.domain.versions import Product
from tracker.http import FetchError
from tracker.sources import Fetch
from tracker.sources.advisory_feed.common import Found
from tracker.sources.advisory_feed.page import from_page

MAX_FOLLOWED = 50  # advisory pages read per poll (feed links, notificationUrls)


def follow_links(found: list[Found], url: str, product: Product, fetch: Fetch, skipped: list[Skipped]) -> list[Found]:
    """Each advisory merged with its page's Response Matrix; only pages on the source's own host, MAX_FOLLOWED."""
    host = urlsplit(url).netloc.lower()
    budget = MAX_FOLLOWED
    merged = []
    for item in found:
        link = urljoin(url, item.record.url)  # feeds may link relatively (a local mirror, a test site)
        if budget > 0 and link != url and urlsplit(link).netloc.lower() == host:
            budget -= 1
            page = _page_of(link, item.record.id, product, fetch, skipped)
            item = _merge(item, page) if page is not None else item
        merged.append(item)
    return merged


def _page_of(link: str, ident: str, product: Product, fetch: Fetch, skipped: list[Skipped]) -> Found | None:
    try:
        content = fetch.get(link)
    except FetchError as error:
        skipped.append(Skipped(link, ident, f"advisory page not fetched: {error}"))
        return None
    read = from_page(content, link, product)
    skipped.extend(read.skipped)
    if read.problem is not None or read.found[0].record.id != ident:
        skipped.append(Skipped(link, ident, read.problem or "the page is about another advisory"))
        return None
    return read.found[0]


def _merge(listed: Found, page: Found) -> Found:
    """The listing's entry completed by its page: the page's fixes, the stated severity wherever it was stated."""
    a, b = listed.record, page.record
    if page.stated or not listed.stated:
        severity, stated = b.severity, page.stated
    else:
        severity, stated = a.severity, True
    record = replace(
        a,
        revision=max(a.revision, b.revision),
        title=a.title or b.title,
        severity=severity,
        published=a.published or b.published,
        updated=b.updated or a.updated,
        cves=tuple(dict.fromkeys(b.cves + a.cves)),
        fixes=b.fixes,
        withdrawn=a.withdrawn or b.withdrawn,
        unread=b.unread,
    )
    return Found(record, stated)
