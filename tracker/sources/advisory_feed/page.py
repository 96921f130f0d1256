"""An advisory page: the key/value header and the Response Matrix, one `AdvisoryFix` per ESXi/vCenter row and
fixed version (N/A, Unaffected and Patch Pending cells fix nothing, and are not errors)."""

import re

from lxml.html import HtmlElement

from tracker.domain.exposure import Severity
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord, Skipped
from tracker.domain.versions import Build, Product, VersionError, product_from_text
from tracker.sources.advisory_feed.common import (
    ID,
    WITHDRAWN,
    Found,
    Read,
    cves,
    excerpt,
    identity,
    level,
    max_cvss,
    severity,
)
from tracker.sources.html import clean_text, load_html, page_problem, parse_date, row_cells, table_rows

_NOT_FIXED = re.compile(
    r"^(?:n/?a|none|unaffected|not\s+affected|not\s+applicable|patch\s+pending|pending|-+|—)?$", re.I
)
_OTHER_PRODUCT = re.compile(r"cloud\s+foundation|\bvcf\b|workstation|fusion|telco|\bnsx\b", re.I)
_SPLIT_FIXED = re.compile(r"\s*(?:[,;]|\s/\s|\bor\b|\band\b)\s*", re.I)
_LINE = re.compile(r"\b(\d{1,2}\.\d)\b")
_CELL_BLOCKS = ("p", "div", "li")
# VMSA fixed-version build names, also when a page runs them together: ESXi70U3c-19193900ESXi70U2e-19290878
_VMSA_BUILD = re.compile(r"ESXi(?:\d{2}[A-Za-z]{0,3}\d?[A-Za-z]{0,2}-\d{7,8}|\d{3}-\d{9}(?:-[SB]G)?)(?!\d)", re.I)
_BRACKETED = re.compile(r"\([^()]*\)")
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


def from_page(content: bytes, url: str, product: Product) -> Read:
    """The advisory one page states: its header, and the fixes its Response Matrix rows name."""
    root = load_html(content)
    if root is None:
        return Read([], [], "empty page")
    matrices = _matrices(root)
    header = _header(root, {table for table, _, _ in matrices})
    title = header.get("synopsis") or _page_title(root)
    named = identity(header.get("id", "")) or identity(title)
    if named is None:
        return Read([], [], page_problem(root) or "not an advisory page")
    rows = _Rows()
    for table, roles, start in matrices:
        rows.read(table, roles, start)
    scores = " ".join(f"CVSS {score}" for score in [header.get("cvss", ""), *rows.scores])
    stated_level, stated = severity([header.get("severity", ""), *_worst_first(rows.severities)], scores)
    record = AdvisoryRecord(
        id=named[0],
        revision=named[1],
        title=title,
        severity=stated_level,
        url=url,
        published=parse_date(header.get("issued", "")),
        updated=parse_date(header.get("updated", "")),
        cves=cves(header.get("cves", ""), *rows.cves),
        fixes=tuple(dict.fromkeys(rows.fixes)),
        withdrawn=bool(WITHDRAWN.search(f"{title} {header.get('id', '')}")) or _says_withdrawn(root),
        excerpt=excerpt(title),
    )
    return Read([Found(record, stated)], rows.skipped)


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
        score = max_cvss(f"CVSS {cell('cvss')}")
        if score is not None:
            self.scores.append(score)
        product = product_from_text(cell("product"))
        if product is None or _OTHER_PRODUCT.search(cell("product")):
            return  # Workstation, Fusion, Cloud Foundation rows: not a build this tracker follows
        self._fixes(product, cell("version"), cell("fixed"), where)

    def _fixes(self, product: Product, version: str, fixed: str, where: str) -> None:
        """One fix per build the cell names. A part that cannot be read is kept as a fix with no build (and a
        skip): the advisory then reports it as unmapped (domain/advisories.py), never as a harmless advisory."""
        if _NOT_FIXED.match(fixed.strip(" ,")):
            return  # N/A, Unaffected, Patch Pending: nothing fixed yet, and not an error
        for part in (p for p in _SPLIT_FIXED.split(fixed) if p.strip(" ,")):
            builds = _fixed_builds(part, product)
            if builds is None:
                self.skipped.append(Skipped(where, part, "unknown fixed-version spelling"))
                self.fixes.append(AdvisoryFix(product, _line_of(version) or "", part, None))
                continue
            for text, build in builds:
                line = build.line or _line_of(version)
                if line is None:
                    self.skipped.append(Skipped(where, text, "no release line"))
                self.fixes.append(AdvisoryFix(product, line or "", text, build))


def _cell_texts(row: HtmlElement) -> list[str]:
    texts = []
    for cell in row_cells(row):
        # "ESXi70U3c-19193900<br>ESXi70U2e-19290878", or one <p>/<div>/<li> per build: one fix per line
        for br in cell.iter("br"):
            br.tail = ", " + (br.tail or "")
        for block in cell.iter(*_CELL_BLOCKS):
            block.tail = ", " + (block.tail or "")
        texts.append(clean_text(cell.text_content()))
    return texts


def _fixed_builds(text: str, product: Product) -> list[tuple[str, Build]] | None:
    """The builds a Fixed Version cell part names (one, several side by side, or VMSA build names run together
    or followed by a note in brackets), or None when some part of it cannot be read."""
    text = text.strip(" ,")
    for candidates in ([text], text.split(), _tokens(text)):
        if not candidates:
            continue
        try:
            return [(c, Build.parse(c, product)) for c in candidates]
        except VersionError:
            continue
    return None


def _tokens(text: str) -> list[str]:
    """The VMSA build names in `text` (ESXi70U3c-19193900, ESXi670-202111101-SG), when nothing else is left but
    punctuation and notes in brackets ("ESXi70U3c-19193900 (7.0 U3c)"); else none."""
    found = [m.group() for m in _VMSA_BUILD.finditer(text)]
    rest = _BRACKETED.sub(" ", _VMSA_BUILD.sub(" ", text))
    return found if found and not rest.strip(" ,;/") else []


def _line_of(version: str) -> str | None:
    match = _LINE.search(version)
    return match.group(1) if match else None
