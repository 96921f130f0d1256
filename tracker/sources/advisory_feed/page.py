"""Security advisories (VMSA): the VMSA RSS/Atom feed, an advisory page, or Broadcom's JSON listing.

What `content` is decides how it is read:

- a feed: one advisory per entry whose title carries `VMSA-2021-0028.1` (id VMSA-2021-0028, revision 1);
  `collect` then reads each entry's advisory page on the feed's own host (at most `MAX_FOLLOWED` per poll) for
  its Response Matrix;
- an advisory page: the key/value header (Advisory ID, Advisory Severity, CVSSv3 Range, Synopsis, Issue Date,
  Updated On, CVE(s)) and the Response Matrix (Product, Version, Running On, CVE Identifier, CVSSv3, Severity,
  Fixed Version, Workarounds, Additional Documentation): one `AdvisoryFix` per ESXi/vCenter row and fixed version;
- JSON: Broadcom's listing (`documentId`, `title`, `severity`, `affectedCve`, `published` "18 June 2024",
  `notificationUrl`). When the source URL is the `getSecurityAdvisoryList` endpoint, `collect` POSTs for the
  pages itself (`pageNumber`, `pageSize`, `searchVal`, `segment`, `sortInfo`) until a short page, at most
  `MAX_LISTING_PAGES`, then follows `notificationUrl`s on the same host like feed links.

Severity is the vendor's stated one (a page's Advisory Severity, else its matrix rows' worst Severity, a feed
tag or "Severity: ..." text, the listing's field; Broadcom writes HIGH/MEDIUM for important/moderate). Only when
nothing is stated does a CVSS score in the text name the level (Severity.from_cvss); with no score either it is
`DEFAULT_SEVERITY`: "important", so a min_severity=important watchlist still hears of an advisory whose page
could not be read, without claiming "critical".
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml.html import HtmlElement

from tracker.domain.exposure import Severity
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord, ParseResult, Skipped
from tracker.domain.versions import Build, Product, VersionError, product_from_text
from tracker.http import FetchError
from tracker.sources import Fetch
from tracker.sources.feed import FeedEntry, read_feed
from tracker.sources.html import clean_text, load_html, page_problem, parse_date, row_cells, table_rows

__all__ = [
    "DEFAULT_SEVERITY",
    "LISTING_PAGE_SIZE",
    "MAX_FOLLOWED",
    "MAX_LISTING_PAGES",
    "collect",
    "listing_body",
    "parse",
]

MAX_FOLLOWED = 50  # advisory pages read per poll (feed links, notificationUrls)
MAX_LISTING_PAGES = 20
LISTING_PAGE_SIZE = 20
DEFAULT_SEVERITY = "important"

_ID = re.compile(r"\bVMSA-(\d{4}-\d{4})(?:\.(\d{1,3}))?\b", re.I)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.I)
_LEVELS = {"critical": "critical", "important": "important", "high": "important", "moderate": "moderate"}
_LEVELS |= {"medium": "moderate", "low": "low"}
_STATED = re.compile(r"\bseverity\s*:?\s*(critical|important|moderate|low)\b", re.I)
_CVSS = re.compile(r"\bCVSS(?:v[23](?:\.\d)?)?[^0-9]{0,30}?(\d{1,2}\.\d)(?:\s*[-–]\s*(\d{1,2}\.\d))?", re.I)
_WITHDRAWN = re.compile(r"\bwithdrawn\b", re.I)
_NOT_FIXED = re.compile(
    r"^(?:n/?a|none|unaffected|not\s+affected|not\s+applicable|patch\s+pending|pending|-+|—)?$", re.I
)
_OTHER_PRODUCT = re.compile(r"cloud\s+foundation|\bvcf\b|workstation|fusion|telco|\bnsx\b", re.I)
_SPLIT_FIXED = re.compile(r"\s*(?:[,;]|\s/\s|\bor\b|\band\b)\s*", re.I)
_LINE = re.compile(r"\b(\d{1,2}\.\d)\b")
_LISTING = re.compile(r"getSecurityAdvisoryList", re.I)
_BLOCKS = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "dd", "dt", "div", "caption")
_HEADER_LABELS = (
    ("id", re.compile(r"^advisory\s+id\b", re.I)),
    ("severity", re.compile(r"^(?:advisory\s+)?severity\b", re.I)),
    ("cvss", re.compile(r"^cvss(?:v3)?\s*(?:range|score)?\b", re.I)),
    ("synopsis", re.compile(r"^synopsis\b", re.I)),
    ("issued", re.compile(r"^(?:issue\s+date|issued(?:\s+on)?|published(?:\s+on)?)\b", re.I)),
    ("updated", re.compile(r"^updated(?:\s+on)?\b", re.I)),
    ("cves", re.compile(r"^cve\s*(?:\(s\)|s|ids?)?(?=\s|:|$)", re.I)),
)
_MATRIX_ROLES = (
    ("fixed", re.compile(r"fixed", re.I)),
    ("running", re.compile(r"running", re.I)),
    ("cve", re.compile(r"\bcve", re.I)),
    ("cvss", re.compile(r"cvss", re.I)),
    ("severity", re.compile(r"severity", re.I)),
    ("product", re.compile(r"^product", re.I)),
    ("version", re.compile(r"^version", re.I)),
)


@dataclass(frozen=True)
class _Found:
    record: AdvisoryRecord
    stated: bool  # the severity was stated by the vendor (not derived from CVSS nor defaulted)


@dataclass
class _Read:
    found: list[_Found]
    skipped: list[Skipped]
    problem: str | None = None

    def result(self) -> ParseResult:
        if self.problem is not None:
            return ParseResult(skipped=tuple(self.skipped), problem=self.problem)
        return ParseResult(advisories=tuple(f.record for f in _one_per_id(self.found)), skipped=tuple(self.skipped))


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """The advisories one document states, following nothing."""
    return _read(content, url, product).result()


def collect(content: bytes, *, url: str, product: Product, fetch: Fetch) -> ParseResult:
    """The advisories of a feed or listing, with the Response Matrix of the pages they link (bounded)."""
    listing = bool(_LISTING.search(urlsplit(url).path))
    read = _paged_listing(content, url, fetch) if listing else _read(content, url, product)
    if read.problem is None and (listing or _kind(content) != "html"):
        read.found = _follow(read.found, url, product, fetch, read.skipped)
    return read.result()


def _kind(content: bytes) -> str:
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    if re.search(rb"<(?:rss|feed|rdf:RDF)\b", head) and not re.search(rb"<html\b", head, re.I):
        return "feed"
    return "html"


def _read(content: bytes, url: str, product: Product) -> _Read:
    kind = _kind(content)
    if kind == "json":
        items, problem = _listing_items(content)
        return _Read([], [], problem) if items is None else _from_listing(items, url)
    if kind == "feed":
        return _from_feed(content)
    return _from_page(content, url, product)


# --- shared readings ------------------------------------------------------------------------------------------
def _identity(text: str) -> tuple[str, int] | None:
    match = _ID.search(text)
    return (f"VMSA-{match.group(1)}", int(match.group(2) or 0)) if match else None


def _cves(*texts: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group().upper() for text in texts for m in _CVE.finditer(text)))


def _level(text: str) -> str | None:
    return _LEVELS.get(clean_text(text).lower())


def _max_cvss(text: str) -> float | None:
    scores = [float(s) for m in _CVSS.finditer(text) for s in m.groups() if s and float(s) <= 10.0]
    return max(scores) if scores else None


def _severity(stated: Iterable[str], text: str) -> tuple[str, bool]:
    """The first stated level, else the CVSS range's name, else DEFAULT_SEVERITY; and whether it was stated."""
    for candidate in stated:
        if level := _level(candidate):
            return level, True
    if match := _STATED.search(text):
        return match.group(1).lower(), True
    score = _max_cvss(text)
    return (Severity.from_cvss(score).value if score is not None else DEFAULT_SEVERITY), False


def _excerpt(text: str) -> str:
    return text if len(text) <= 400 else text[:399] + "…"


# --- a feed ---------------------------------------------------------------------------------------------------
def _from_feed(content: bytes) -> _Read:
    read = _Read([], [])
    feed = read_feed(content)
    if feed.problem is not None:
        return _Read([], [], feed.problem)
    for index, entry in enumerate(feed.entries, start=1):
        found = _entry_advisory(entry)
        if found is None:
            read.skipped.append(Skipped(f"entry {index}", entry.title[:200], "no VMSA id in the title"))
        else:
            read.found.append(found)
    if not read.found:
        read.problem = f"no advisories among the feed's {len(feed.entries)} entries"
    return read


def _entry_advisory(entry: FeedEntry) -> _Found | None:
    identity = _identity(entry.title) or _identity(entry.link)
    if identity is None:
        return None
    text = f"{entry.title}\n{entry.summary}"
    severity, stated = _severity(entry.tags, text)
    record = AdvisoryRecord(
        id=identity[0],
        revision=identity[1],
        title=entry.title,
        severity=severity,
        url=entry.link,
        published=entry.published,
        updated=entry.updated if entry.updated != entry.published else None,
        cves=_cves(text),
        withdrawn=bool(_WITHDRAWN.search(text)),
        excerpt=_excerpt(entry.title),
    )
    return _Found(record, stated)


# --- an advisory page -----------------------------------------------------------------------------------------
def _from_page(content: bytes, url: str, product: Product) -> _Read:
    root = load_html(content)
    if root is None:
        return _Read([], [], "empty page")
    matrices = _matrices(root)
    header = _header(root, {table for table, _, _ in matrices})
    title = header.get("synopsis") or _page_title(root)
    identity = _identity(header.get("id", "")) or _identity(title)
    if identity is None:
        return _Read([], [], page_problem(root) or "not an advisory page")
    rows = _Rows()
    for table, roles, start in matrices:
        rows.read(table, roles, start)
    scores = " ".join(f"CVSS {score}" for score in [header.get("cvss", ""), *rows.scores])
    severity, stated = _severity([header.get("severity", ""), *_worst_first(rows.severities)], scores)
    record = AdvisoryRecord(
        id=identity[0],
        revision=identity[1],
        title=title,
        severity=severity,
        url=url,
        published=parse_date(header.get("issued", "")),
        updated=parse_date(header.get("updated", "")),
        cves=_cves(header.get("cves", ""), *rows.cves),
        fixes=tuple(dict.fromkeys(rows.fixes)),
        withdrawn=bool(_WITHDRAWN.search(f"{title} {header.get('id', '')}")) or _says_withdrawn(root),
        excerpt=_excerpt(title),
    )
    return _Read([_Found(record, stated)], rows.skipped)


def _worst_first(levels: list[str]) -> list[str]:
    known = [Severity(level) for text in levels if (level := _level(text))]
    return [s.value for s in sorted(known, key=lambda s: -s.rank)]


def _page_title(root: HtmlElement) -> str:
    """The heading naming the advisory (Broadcom's <title> is the portal's), else the first heading or title."""
    texts = [clean_text(n.text_content()) for n in root.xpath("//h1 | //h2 | //h3 | //title")[:12]]
    return next((t for t in texts if _ID.search(t)), next((t for t in texts if t), ""))


def _says_withdrawn(root: HtmlElement) -> bool:
    text = clean_text(root.text_content())
    return bool(re.search(r"\badvisory\s+(?:has\s+been\s+|was\s+|is\s+)?withdrawn\b", text, re.I))


def _blocks(root: HtmlElement, skip: set[HtmlElement]) -> list[str]:
    """Innermost block texts in document order, outside the Response Matrix tables."""
    blocks = [b for b in root.iter(*_BLOCKS) if not any(a in skip for a in b.iterancestors("table"))]
    parents = {a for b in blocks for a in b.iterancestors(*_BLOCKS)}
    return [t for b in blocks if b not in parents and (t := clean_text(b.text_content()))]


def _header(root: HtmlElement, matrices: set[HtmlElement]) -> dict[str, str]:
    """Label -> value from "Advisory ID: VMSA-..." blocks, or a label block followed by its value block."""
    blocks = _blocks(root, matrices)
    header: dict[str, str] = {}
    for index, text in enumerate(blocks):
        for key, label in _HEADER_LABELS:
            if key in header or not (match := label.match(text)):
                continue
            value = text[match.end() :].lstrip(" :")
            if not value and index + 1 < len(blocks):
                value = blocks[index + 1]
            header[key] = value
            break
    return header


def _matrices(root: HtmlElement) -> list[tuple[HtmlElement, dict[str, int], int]]:
    """(table, column roles, first data row) for every Response Matrix table (Product and Fixed Version columns)."""
    found = []
    for table in root.iter("table"):
        for index, row in enumerate(table_rows(table)[:3]):
            roles: dict[str, int] = {}
            for column, cell in enumerate(row_cells(row)):
                text = clean_text(cell.text_content())
                role = next((name for name, rule in _MATRIX_ROLES if rule.search(text)), None)
                if role is not None and len(text) <= 40:
                    roles.setdefault(role, column)
            if {"product", "fixed"} <= roles.keys():
                found.append((table, roles, index + 1))
                break
    return found


class _Rows:
    """What the Response Matrix rows say: fixes per ESXi/vCenter line, severities, scores, CVEs, skips."""

    def __init__(self) -> None:
        self.fixes: list[AdvisoryFix] = []
        self.severities: list[str] = []
        self.scores: list[float] = []
        self.cves: list[str] = []
        self.skipped: list[Skipped] = []

    def read(self, table: HtmlElement, roles: dict[str, int], start: int) -> None:
        for number, row in enumerate(table_rows(table)[start:], start=1):
            self._row(_cell_texts(row), roles, f"Response Matrix, row {number}")

    def _row(self, cells: list[str], roles: dict[str, int], where: str) -> None:
        def cell(role: str) -> str:
            column = roles.get(role)
            return cells[column] if column is not None and column < len(cells) else ""

        self.severities.append(cell("severity"))
        self.cves.append(cell("cve"))
        score = _max_cvss(f"CVSS {cell('cvss')}")
        if score is not None:
            self.scores.append(score)
        product = product_from_text(cell("product"))
        if product is None or _OTHER_PRODUCT.search(cell("product")):
            return  # Workstation, Fusion, Cloud Foundation rows: not a build this tracker follows
        self._fixes(product, cell("version"), cell("fixed"), where)

    def _fixes(self, product: Product, version: str, fixed: str, where: str) -> None:
        if _NOT_FIXED.match(fixed.strip(" ,")):
            return  # N/A, Unaffected, Patch Pending: nothing fixed yet, and not an error
        for part in (p for p in _SPLIT_FIXED.split(fixed) if p.strip()):
            builds = _fixed_builds(part, product)
            if builds is None:
                self.skipped.append(Skipped(where, part, "unknown fixed-version spelling"))
                continue
            for text, build in builds:
                line = build.line or _line_of(version)
                if line is None:
                    self.skipped.append(Skipped(where, text, "no release line"))
                else:
                    self.fixes.append(AdvisoryFix(product, line, text, build))


def _cell_texts(row: HtmlElement) -> list[str]:
    texts = []
    for cell in row_cells(row):
        for br in cell.iter("br"):
            br.tail = ", " + (br.tail or "")  # "ESXi70U3c-19193900<br>ESXi70U2e-19290878": one fix per line
        texts.append(clean_text(cell.text_content()))
    return texts


def _fixed_builds(text: str, product: Product) -> list[tuple[str, Build]] | None:
    """The builds a Fixed Version cell part names (one, or several written side by side), or None."""
    text = text.strip()
    for candidates in ([text], text.split()):
        try:
            return [(c, Build.parse(c, product)) for c in candidates]
        except VersionError:
            continue
    return None


def _line_of(version: str) -> str | None:
    match = _LINE.search(version)
    return match.group(1) if match else None


# --- Broadcom's JSON listing ----------------------------------------------------------------------------------
def _listing_items(content: bytes) -> tuple[list[dict[str, object]] | None, str | None]:
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


def _from_listing(items: list[dict[str, object]], url: str) -> _Read:
    read = _Read([], [])
    for index, item in enumerate(items, start=1):
        found = _listing_advisory(item, url)
        if found is None:
            read.skipped.append(Skipped(f"listing item {index}", str(item.get("title", ""))[:200], "no VMSA id"))
        else:
            read.found.append(found)
    if not read.found:
        read.problem = "the listing holds no advisories"
    return read


def _listing_advisory(item: dict[str, object], url: str) -> _Found | None:
    title = clean_text(str(item.get("title") or ""))
    identity = _identity(title)
    if identity is None:
        return None
    severity, stated = _severity([str(item.get("severity") or "")], title)
    link = str(item.get("notificationUrl") or "")
    record = AdvisoryRecord(
        id=identity[0],
        revision=identity[1],
        title=title,
        severity=severity,
        url=urljoin(url, link) if link else url,
        published=parse_date(str(item.get("published") or "")),
        updated=parse_date(str(item.get("updated") or "")),
        cves=_cves(str(item.get("affectedCve") or ""), title),
        withdrawn=bool(_WITHDRAWN.search(f"{title} {item.get('status') or ''}")),
        excerpt=_excerpt(title),
    )
    return _Found(record, stated)


def listing_body(page: int, segment: str) -> dict[str, object]:
    """The POST body Broadcom's listing page sends for one page."""
    return {
        "pageNumber": page,
        "pageSize": LISTING_PAGE_SIZE,
        "searchVal": "",
        "segment": segment,
        "sortInfo": {"column": "", "order": ""},
    }


def _paged_listing(content: bytes, url: str, fetch: Fetch) -> _Read:
    """Every page of the listing: the caller's GET answer as page 0 when it is one, then POSTs until a short page."""
    segment = parse_qs(urlsplit(url).query).get("segment", ["VC"])[0]
    first, _ = _listing_items(content)
    pages = [first] if first else []
    number = len(pages)
    while number < MAX_LISTING_PAGES and (not pages or len(pages[-1]) >= LISTING_PAGE_SIZE):
        items, problem = _listing_items(fetch.post_json(url, listing_body(number, segment)))
        if items is None:
            return _Read([], [], f"listing page {number}: {problem}")
        if pages and _ids(items) == _ids(pages[-1]):
            break  # the server ignored pageNumber: the same page again
        pages.append(items)
        number += 1
    read = _from_listing([item for page in pages for item in page], url)
    if number >= MAX_LISTING_PAGES and pages and len(pages[-1]) >= LISTING_PAGE_SIZE:
        read.skipped.append(Skipped("listing", f"{MAX_LISTING_PAGES} pages", "page cap reached; older pages unread"))
    return read


def _ids(items: list[dict[str, object]]) -> list[object]:
    return [item.get("documentId") or item.get("title") for item in items]


# --- following links ------------------------------------------------------------------------------------------
def _follow(found: list[_Found], url: str, product: Product, fetch: Fetch, skipped: list[Skipped]) -> list[_Found]:
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


def _page_of(link: str, ident: str, product: Product, fetch: Fetch, skipped: list[Skipped]) -> _Found | None:
    try:
        content = fetch.get(link)
    except FetchError as error:
        skipped.append(Skipped(link, ident, f"advisory page not fetched: {error}"))
        return None
    read = _from_page(content, link, product)
    skipped.extend(read.skipped)
    if read.problem is not None or read.found[0].record.id != ident:
        skipped.append(Skipped(link, ident, read.problem or "the page is about another advisory"))
        return None
    return read.found[0]


def _merge(listed: _Found, page: _Found) -> _Found:
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
    )
    return _Found(record, stated)


def _one_per_id(found: list[_Found]) -> list[_Found]:
    """One record per advisory: its highest revision, first published date kept."""
    best: dict[str, _Found] = {}
    for item in found:
        kept = best.get(item.record.id)
        if kept is None or item.record.revision > kept.record.revision:
            dates = [d for d in (item.record.published, kept.record.published if kept else None) if d]
            best[item.record.id] = replace(item, record=replace(item.record, published=min(dates, default=None)))
    return list(best.values())
