"""An advisory page: the key/value header (labels matched by meaning, any case, with or without a colon) and the
Response Matrix (matrix.py): one `AdvisoryFix` per ESXi/vCenter row and fixed version, a pending one per line
where no fix is out yet, and `unread` when the page holds a matrix no fix could be read from."""

import re

from lxml.html import HtmlElement

from tracker.domain.fixes import Severity
from tracker.domain.observations import AdvisoryRecord
from tracker.domain.versions import Product
from tracker.sources.advisory_feed.common import (
    ID,
    WITHDRAWN,
    Found,
    Read,
    cves,
    excerpt,
    identity,
    level,
    severity,
)
from tracker.sources.advisory_feed.matrix import read_matrix
from tracker.sources.html import clean_text, load_html, page_problem, parse_date

_BLOCKS = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "dd", "dt", "div", "caption")
# The advisory header's labels, in any case, with or without a colon after them: the vmware.com pages wrote
# "Advisory ID:", "Advisory Severity:", "CVSSv3 Range:", "Synopsis:", "Issue date:", "Updated on:", "CVE(s)" (found in
# public copies of Broadcom's pages; tests/fixtures/advisories/real/README.md cites each). The other spellings the
# patterns accept ("Issue Date", "Last Updated", "Initial Publication Date") were not seen: they cost nothing.
_ISSUED = r"^(?:issue\s+date|issued(?:\s+on)?|(?:initial\s+)?publi(?:shed|cation)(?:\s+on|\s+date)?)\b"
_HEADER_LABELS = (
    ("id", re.compile(r"^(?:vmware\s+)?(?:security\s+)?advisory\s+(?:id|number)\b", re.I)),
    ("severity", re.compile(r"^(?:advisory\s+|vmware\s+)?severity(?:\s+rating)?\b", re.I)),
    ("cvss", re.compile(r"^cvss(?:v?3(?:\.\d)?)?\s*(?:base\s+)?(?:range|score)?\b", re.I)),
    ("synopsis", re.compile(r"^(?:synopsis|title)\b", re.I)),
    ("issued", re.compile(_ISSUED, re.I)),
    ("updated", re.compile(r"^(?:updated(?:\s+on)?|last\s+updated(?:\s+on)?)\b", re.I)),
    ("cves", re.compile(r"^(?:affected\s+)?cve\s*(?:\(s\)|s|ids?|identifiers?)?(?=\s|:|$)", re.I)),
)


def from_page(content: bytes, url: str, product: Product) -> Read:
    """The advisory one page states: its header, and the fixes its Response Matrix rows name."""
    root = load_html(content)
    if root is None:
        return Read([], [], "empty page")
    matrix = read_matrix(root)
    header = _header(root, matrix.tables)
    title = header.get("synopsis") or _page_title(root)
    named = identity(header.get("id", "")) or identity(title)
    if named is None:
        return Read([], [], page_problem(root) or "not an advisory page")
    scores = " ".join(f"CVSS {score}" for score in [header.get("cvss", ""), *matrix.scores])
    stated_level, stated = severity([header.get("severity", ""), *_worst_first(matrix.severities)], scores)
    record = AdvisoryRecord(
        id=named[0],
        revision=named[1],
        title=title,
        severity=stated_level,
        url=url,
        published=parse_date(header.get("issued", "")),
        updated=parse_date(header.get("updated", "")),
        cves=cves(header.get("cves", ""), *matrix.cves),
        fixes=tuple(dict.fromkeys(matrix.fixes)),
        withdrawn=bool(WITHDRAWN.search(f"{title} {header.get('id', '')}")) or _says_withdrawn(root),
        excerpt=excerpt(title),
        unread=matrix.unread,
    )
    return Read([Found(record, stated)], matrix.skipped)


def _worst_first(levels: list[str]) -> list[str]:
    known = [Severity(named) for text in levels if (named := level(text))]
    return [s.value for s in sorted(known, key=lambda s: -s.rank)]


def _page_title(root: HtmlElement) -> str:
    """The heading naming the advisory (Broadcom's <title> is the portal's), else the first heading or title."""
    texts = [clean_text(n.text_content()) for n in root.xpath("//h1 | //h2 | //h3 | //title")[:12]]
    return next((t for t in texts if ID.search(t)), next((t for t in texts if t), ""))


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
