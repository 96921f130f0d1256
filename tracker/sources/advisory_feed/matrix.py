"""An advisory page's Response Matrix, read by meaning: which column names the product, the affected version and
the fixed version is decided from what each header says ("VMware Product" and "Product" alike), never from an
exact header string or a position, and cells merged over several rows (rowspan) count in each of them.

Every ESXi/ESX and vCenter row says one of three things, and each is kept:
- a fixed version (one or several builds, `ESXi70U3c-19193900`, `ESXi670-202111101-SG`, `7.0 U3c`): a fix;
- "Patch Pending" (or another way of saying no fix is out yet): a pending fix, the whole line is vulnerable;
- "N/A", "Not affected", "Unaffected": the line is not affected, nothing to keep.
A cell that says none of these is kept as a fix with no build (and a skip), so the advisory reports it as unmapped.

A page that holds a Response Matrix (its heading, or a table with a Fixed Version-like column) from which no
fix could be read is `unread`: the advisory is recorded with "fixes unknown", never as one that fixes nothing.
"""

import re
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from tracker.domain.observations import AdvisoryFix, Skipped
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, VersionError, product_from_text
from tracker.domain.words import count
from tracker.sources.advisory_feed.common import max_cvss
from tracker.sources.html import clean_text, column_roles, table_grid

# Columns by what they hold (matched on html.label_text: one case, no trailing colon); the first rule that
# matches wins, so "Fixed Version" is the fix and never the affected version. The vendor heads the first column
# "VMware Product" (vmware.com and Broadcom alike); some matrices write "CVE" for "CVE Identifier".
_ROLES = (
    ("fixed", re.compile(r"\bfix(?:ed)?\b|\bremediation\b|\bpatched\s+(?:version|release|build)")),
    ("running", re.compile(r"^running\b")),
    ("cve", re.compile(r"\bcve")),
    ("cvss", re.compile(r"\bcvss")),
    ("severity", re.compile(r"\bseverity\b")),
    ("product", re.compile(r"\bproducts?\b|\bproduct\(s\)")),
    ("component", re.compile(r"^components?\b")),
    ("version", re.compile(r"^(?:affected\s+|product\s+)?versions?\b")),
)
# A Fixed Version cell that says no fix is out yet (VMSA-2021-0028 on vCenter 7.0 until a revision named 7.0 U3c;
# VMSA-2024-0013 on ESXi 7.0): every host of the line is vulnerable, with no target until a revision names one.
_PENDING = re.compile(
    r"^(?:(?:patch|fix|update)\s+)?pending\b|^coming\s+soon\b|^(?:a\s+)?fix\s+(?:is\s+)?not\s+(?:yet\s+)?available"
    r"|^no\s+(?:fix|patch)\b|^not\s+yet\s+(?:available|released|fixed)\b"
    # Broadcom, for a line past its general support (VMSA-2026-0006, ESX 7.0): no public fix
    r"|^contact\s+(?:broadcom|vmware)\s+support\b",
    re.I,
)
# N/A, Not affected, Unaffected: the line is not affected (the vendor lists it to say so).
_NOT_AFFECTED = re.compile(
    r"^(?:n\s*/\s*a|na|unaffected|not[\s-]+(?:affected|applicable|impacted|vulnerable)|[-\u2013\u2014]+)$", re.I
)
# Footnote marks before or after a value: "[1] ESXi670-202111101-SG", "7.0 U3q [1]", "ESXi80U3-24022510*", "†".
_NOTE = r"(?:\[\s*\d{1,2}\s*\]|\(\s*\d{1,2}\s*\)|\*+|[\u2020\u2021])"
_FOOTNOTES = re.compile(rf"\s*{_NOTE}\s*(?=$|[,;])|(?:^|(?<=[,;]))\s*{_NOTE}\s*")
# Rows of products that carry the name "vCenter" or "ESXi" without being the hosts this tracker follows, and
# bundles (Cloud Foundation 4.x/5.x, Telco Cloud) whose versions are their own, not ESXi's or vCenter's.
_OTHER_PRODUCT = re.compile(
    r"cloud\s+foundation|\bvcf\b|vsphere\s+foundation|\bvvf\b|workstation|fusion|telco|\bnsx\b|cloud\s+gateway"
    r"|converter|site\s+recovery|\bsrm\b|replication|horizon|\bhcx\b|vrealize|\baria\b|\bplugin\b",
    re.I,
)
# From 9.0 Cloud Foundation and its components share one version (KB 395110, unified VCF versioning), so a
# "VMware Cloud Foundation, VMware vSphere Foundation" row whose Component is ESX or vCenter and whose Version
# names a 9.x line is that component's row (VMSA-2025-0013, VMSA-2026-0006).
_UNIFIED_FROM = 9
_SPLIT_FIXED = re.compile(r"\s*(?:[,;]|\s/\s|\bor\b|\band\b)\s*", re.I)
_LINE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d|x)\b", re.I)
_CELL_BLOCKS = ("p", "div", "li")
_HEADING = re.compile(r"\bresponse\s+matrix\b", re.I)
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "strong", "b", "p", "caption")
# VMSA fixed-version build names, also when a page runs them together: ESXi70U3c-19193900ESXi70U2e-19290878
# (6.x bulletins are -SG security, -BG bug fix, -UG update: ESXi670-201908201-UG, VMSA-2019-0013)
_VMSA_BUILD = re.compile(r"ESXi(?:\d{2}[A-Za-z]{0,3}\d?[A-Za-z]{0,2}-\d{7,8}|\d{3}-\d{9}(?:-[SBU]G)?)(?!\d)", re.I)
# A KB to apply with the fix ("ESXi70U3e-19898904 + KB88632", VMSA-2022-0016): a step, not a version
_KB_STEP = re.compile(r"\s*\+\s*KB\s?\d{4,6}\b", re.I)
_BRACKETED = re.compile(r"\([^()]*\)")
_FOLLOWED = (Product.ESXI, Product.VCENTER, Product.TOOLS)


@dataclass
class Matrix:
    """What the Response Matrix tables of one page say."""

    tables: set[HtmlElement] = field(default_factory=set)
    fixes: list[AdvisoryFix] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unread: str = ""  # why no fix could be read from a matrix the page holds; "" when it was read (or is absent)
    rows: int = 0  # ESXi/vCenter rows seen
    told: int = 0  # ... of which a fix, a pending fix or "not affected" was read


def read_matrix(root: HtmlElement) -> Matrix:
    """Every Response Matrix table of the page (a table whose header names a product and a fixed version)."""
    matrix = Matrix()
    texts = _Texts()
    unknown: list[tuple[HtmlElement, list[list[HtmlElement]]]] = []
    for table in root.iter("table"):
        grid = table_grid(table)
        found = _header(grid, texts)
        if found is None:
            if _looks_like_matrix(table, grid, texts):
                unknown.append((table, grid))
            continue
        start, roles = found
        matrix.tables.add(table)
        for number, row in enumerate(grid[start:], start=1):
            _row(matrix, [texts(c) for c in row], roles, f"Response Matrix, row {number}")
    matrix.unread = _unread(matrix, unknown, texts, _has_heading(root))
    return matrix


class _Texts:
    """A cell's text, read once (a rowspan cell appears in several rows): line breaks, paragraphs and list items
    inside it become commas, so "ESXi70U3c-19193900<br>ESXi70U2e-19290878" names two builds."""

    def __init__(self) -> None:
        self._seen: dict[HtmlElement, str] = {}

    def __call__(self, cell: HtmlElement) -> str:
        if cell not in self._seen:
            for br in cell.iter("br"):
                br.tail = ", " + (br.tail or "")
            for block in cell.iter(*_CELL_BLOCKS):
                block.tail = ", " + (block.tail or "")
            self._seen[cell] = clean_text(cell.text_content())
        return self._seen[cell]


def _header(grid: list[list[HtmlElement]], texts: _Texts) -> tuple[int, dict[str, int]] | None:
    for index, row in enumerate(grid[:3]):
        roles = column_roles([texts(c) for c in row], _ROLES, 40)
        if {"product", "fixed"} <= roles.keys():
            return index + 1, roles
    return None


def _looks_like_matrix(table: HtmlElement, grid: list[list[HtmlElement]], texts: _Texts) -> bool:
    """A table under a "Response Matrix" heading, or one with a Fixed Version-like column, that is not read."""
    if any("fixed" in column_roles([texts(c) for c in row], _ROLES, 40) for row in grid[:3]):
        return True
    before = table.xpath("preceding::*[self::h1 or self::h2 or self::h3 or self::h4 or self::strong][1]")
    return bool(before) and bool(_HEADING.search(clean_text(before[0].text_content())))


def _has_heading(root: HtmlElement) -> bool:
    return any(
        len(text) <= 80 and _HEADING.search(text)
        for node in root.iter(*_HEADING_TAGS)
        if (text := clean_text(node.text_content()))
    )


def _unread(
    matrix: Matrix, unknown: list[tuple[HtmlElement, list[list[HtmlElement]]]], texts: _Texts, heading: bool
) -> str:
    if matrix.tables:
        if matrix.rows and not matrix.told:
            return f"no fixed version could be read from its {count(matrix.rows, 'ESXi/vCenter row')}"
        return ""
    if unknown:
        header = " | ".join(texts(c) for c in unknown[0][1][0]) if unknown[0][1] else ""
        for _, grid in unknown:  # the rows that name ESXi or vCenter: their hosts are told the fix is unknown
            for number, row in enumerate(grid[1:], start=1):
                _unknown_row(matrix, " ".join(texts(c) for c in row), f"unread table, row {number}")
        return f"a Response Matrix is on the page but its columns could not be read (header: {header[:160]!r})"
    return "the page has a Response Matrix heading but no table under it could be read" if heading else ""


def _unknown_row(matrix: Matrix, text: str, where: str) -> None:
    product = product_from_text(text)
    if product not in _FOLLOWED or _OTHER_PRODUCT.search(text):
        return
    for line in _lines(text) or [""]:
        matrix.fixes.append(AdvisoryFix(product, line, "fixes unknown (Response Matrix unread)", None))
    matrix.skipped.append(Skipped(where, text[:200], "Response Matrix columns not recognised"))


def _row(matrix: Matrix, cells: list[str], roles: dict[str, int], where: str) -> None:
    def cell(role: str) -> str:
        column = roles.get(role)
        return cells[column] if column is not None and column < len(cells) else ""

    if cell("product") and cell("fixed") and [cell(r) for r in roles] == [label for label in roles]:
        return
    matrix.severities.append(cell("severity"))
    matrix.cves.append(cell("cve"))
    score = max_cvss(f"CVSS {cell('cvss')}")
    if score is not None:
        matrix.scores.append(score)
    lines = _lines(cell("version")) or _lines(cell("product"))
    product = _product(_FOOTNOTES.sub("", cell("product")), cell("component"), lines)
    if product is None:
        return  # Workstation, Fusion, Horizon, Cloud Foundation 5.x rows: not a build this tracker follows
    matrix.rows += 1
    if _fixes(matrix, product, lines, _FOOTNOTES.sub("", cell("fixed")).strip(" ,"), where):
        matrix.told += 1


def _product(named: str, component: str, lines: list[str]) -> Product | None:
    """The followed product a row is about: its product cell, or for a 9.x Cloud Foundation row its component."""
    product = product_from_text(named)
    if product in _FOLLOWED and not _OTHER_PRODUCT.search(named):
        return product
    unified = bool(lines) and all(int(line.split(".")[0]) >= _UNIFIED_FROM for line in lines)
    part = product_from_text(component)
    if unified and part in _FOLLOWED and re.search(r"foundation", named, re.I):
        return part
    return None


def _fixes(matrix: Matrix, product: Product, lines: list[str], fixed: str, where: str) -> bool:
    """One fix per build the cell names, one pending fix per line when no fix is out yet, nothing when the line
    is not affected. A part that cannot be read is kept as a fix with no build (and a skip): the advisory then
    reports it as unmapped (domain/advisories.py), never as a harmless advisory. True when the cell was read."""
    if _NOT_AFFECTED.match(fixed):
        return True
    if _PENDING.match(fixed):
        matrix.fixes.extend(AdvisoryFix(product, line, fixed, None, pending=True) for line in lines or [""])
        return True
    if not fixed:
        matrix.skipped.append(Skipped(where, fixed, "no fixed version written"))
        matrix.fixes.extend(AdvisoryFix(product, line, "(empty)", None) for line in lines or [""])
        return False
    read = True
    fixed = _KB_STEP.sub("", fixed).strip(" ,") or fixed  # a cell that is only a KB stays, and is reported
    for part in (p for p in _SPLIT_FIXED.split(fixed) if p.strip(" ,")):
        builds = _fixed_builds(_FOOTNOTES.sub("", part), product)
        if builds is None:
            matrix.skipped.append(Skipped(where, part, "unknown fixed-version spelling"))
            matrix.fixes.append(AdvisoryFix(product, lines[0] if len(lines) == 1 else "", part, None))
            read = False
            continue
        for text, build in builds:
            line = build.line or (lines[0] if len(lines) == 1 else None)
            if line is None:
                matrix.skipped.append(Skipped(where, text, "no release line"))
            matrix.fixes.append(AdvisoryFix(product, line or "", text, build))
    return read


def _fixed_builds(text: str, product: Product) -> list[tuple[str, Build]] | None:
    """The builds a Fixed Version cell part names (one, several side by side, or VMSA build names run together
    or followed by a note in brackets), or None when some part of it cannot be read."""
    text = text.strip(" ,")
    for candidates in ([text], text.split(), _tokens(text)):
        if not candidates:
            continue
        try:
            return [(c, parse_build(c, product)) for c in candidates]
        except VersionError:
            continue
    return None


def _tokens(text: str) -> list[str]:
    """The VMSA build names in `text` (ESXi70U3c-19193900, ESXi670-202111101-SG), when nothing else is left but
    punctuation and notes in brackets ("ESXi70U3c-19193900 (7.0 U3c)"); else none."""
    found = [m.group() for m in _VMSA_BUILD.finditer(text)]
    rest = _BRACKETED.sub(" ", _VMSA_BUILD.sub(" ", text))
    return found if found and not rest.strip(" ,;/*") else []


def _lines(text: str) -> list[str]:
    """The release lines a Version cell names: "7.0" and "6.7.x" are one line each, "7.x" every 7 line ("7.x"),
    "Any" none (every line of the product)."""
    found = [f"{m.group(1)}.{m.group(2).lower()}" for m in _LINE.finditer(text)]
    return list(dict.fromkeys(found))
