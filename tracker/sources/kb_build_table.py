"""KB build-number tables: Broadcom KB 316595 (ESXi) and 326316 (vCenter), old kb.vmware.com 2143832 / 2143838.

One table per major version under a heading (`ESXi 8.0 🔝`), one row per build. Columns are found by their
header text, never by position: the vendor reorders them (ESXi `Version | Release Name | ...`, vCenter 8.0
`Release name | Version | ...`) and writes the header as `<th>`, as `<td><strong>` or, on the old site, as a
plain first row of `<td>`. A row we cannot read becomes a `Skipped`; a page that is not a build table (a login
or error page, an empty table) gets a `problem` so the poll infers nothing from it.

The HTML helpers here (`load_html`, `clean_text`, `parse_date`, `page_problem`, `table_heading`) are shared
with the release-notes parser.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from tracker.domain.observations import BuildRecord, ParseResult, Skipped
from tracker.domain.versions import Product, Release, VersionError, product_from_text

__all__ = ["clean_text", "load_html", "page_problem", "parse", "parse_date", "table_heading"]

# KB cells carry non-breaking spaces ("ESXI 6.7\xa0EP18"), zero-width spaces and BOMs from copy-pasting.
_INVISIBLE = str.maketrans({"\xa0": " ", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": ""})
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9._-]+)""", re.I)
_BUILD_NUMBER = re.compile(r"(?<!\d)\d{7,8}(?!\d)")
_RECALLED = re.compile(r"\(?\s*\brecalled\b\s*\)?", re.I)
_APPLIANCE_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d{5}$")  # vCenter 8.0.3.00600
_HEADING_JUNK = re.compile(r"[^\w\s.()/+-]")  # the 🔝 "back to top" anchors Broadcom puts in headings
_DATE_SHAPES = (
    (re.compile(r"\d{4}[/-]\d{1,2}[/-]\d{1,2}"), ("%Y/%m/%d", "%Y-%m-%d")),
    (re.compile(r"[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}"), ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y")),
    (re.compile(r"\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{4}"), ("%d %b %Y", "%d %B %Y")),
)
_LOGIN_TEXT = re.compile(r"\b(?:sign[\s-]?in|log[\s-]?in|single sign[\s-]on)\b", re.I)
_LOGIN_FORM = re.compile(r"login|signin|sso|saml|oauth|authorize", re.I)
_ERROR_TEXT = re.compile(
    r"not found|access denied|forbidden|something went wrong|an error (?:has )?occurred|internal server error"
    r"|service (?:temporarily )?unavailable|bad gateway|gateway time-?out|too many requests|under maintenance"
    r"|^\s*(?:error\s*)?[45]\d\d\b|\berror\s*[45]\d\d\b",
    re.I,
)

# Header text -> column role; the first rule that matches wins ("VAMI / Release Notes" is a build column,
# "Release Date" a date column, "MOB / vpxd.log" vCenter's second build).
_ROLE_RULES = (
    ("client", re.compile(r"mob|client|vpxd", re.I)),
    ("installer", re.compile(r"installer", re.I)),
    ("date", re.compile(r"date", re.I)),
    ("build", re.compile(r"build|vami", re.I)),
    ("name", re.compile(r"name", re.I)),
    ("version", re.compile(r"version", re.I)),
    ("available", re.compile(r"available", re.I)),
)
_HEADER_CELL_LIMIT = 60


# --- shared HTML helpers --------------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


def load_html(content: bytes) -> HtmlElement | None:
    """The page as an lxml tree without scripts and styles, or None when there is nothing to parse.

    Bytes are decoded here, not by libxml2: the vendor's pages are UTF-8 but proxies and old mirrors serve
    latin-1 or cut a multi-byte character in half; none of that may crash a poll.
    """
    text = _decode(content).replace("\x00", "")
    if not text.strip():
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        return None
    etree.strip_elements(root, "script", "style", "noscript", "template", with_tail=False)
    return root


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(content[:4096])
    for encoding in (declared.group(1).decode("ascii") if declared else None, "cp1252"):
        if encoding:
            try:
                return content.decode(encoding, errors="replace")
            except LookupError:
                continue
    return content.decode("latin-1")


def parse_date(text: str) -> date | None:
    """`2026/07/29`, `2026-07-29`, `May 27, 2026`, `27 JAN 2022`: the date formats the vendor mixes."""
    for shape, formats in _DATE_SHAPES:
        if found := shape.search(text):
            candidate = " ".join(found.group().replace(".", "").split())
            for fmt in formats:
                try:
                    return datetime.strptime(candidate, fmt).date()
                except ValueError:
                    continue
    return None


def page_problem(root: HtmlElement) -> str | None:
    """Why a page is a login or error page instead of content, or None. Only asked when nothing was read:
    the real KB pages carry a "Log In" link in their chrome."""
    if root.xpath("//input[@type='password']"):
        return "login page (password field)"
    for form in root.iter("form"):
        if _LOGIN_FORM.search(form.get("action") or "") and _LOGIN_TEXT.search(clean_text(form.text_content())):
            return "login page (sign-in form)"
    for text in _title_texts(root):
        if _ERROR_TEXT.search(text):
            return f"error page: {text[:80]}"
        if _LOGIN_TEXT.search(text):
            return f"login page: {text[:80]}"
    return None


def _title_texts(root: HtmlElement) -> list[str]:
    titles = [clean_text(el.text_content()) for el in root.xpath("//title | //h1 | //h2")[:6]]
    return [t for t in titles if t]


def table_heading(table: HtmlElement, index: int) -> str:
    """The heading a table sits under (`ESXi 8.0 🔝` -> `ESXi 8.0`), its caption, or `table N`."""
    for node in (*table.xpath("./caption"), *table.xpath("preceding::*[self::h1 or self::h2 or self::h3][1]")):
        text = clean_text(_HEADING_JUNK.sub(" ", node.text_content()))
        if text:
            return text
    return f"table {index + 1}"


def table_rows(table: HtmlElement) -> list[HtmlElement]:
    """The table's own rows, not those of tables nested in its cells."""
    rows: list[HtmlElement] = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def row_cells(row: HtmlElement) -> list[HtmlElement]:
    return [cell for cell in row if cell.tag in ("td", "th")]


def header_roles(cells: list[HtmlElement]) -> dict[str, int]:
    """Column role -> index for a header row, {} when the row is not a header."""
    roles: dict[str, int] = {}
    for index, cell in enumerate(cells):
        text = clean_text(cell.text_content())
        if not text or len(text) > _HEADER_CELL_LIMIT:
            continue
        role = next((name for name, rule in _ROLE_RULES if rule.search(text)), None)
        if role is not None:
            roles.setdefault(role, index)
    return roles


# --- the build table ------------------------------------------------------------------------------------------
@dataclass
class _Table:
    heading: str
    columns: dict[str, int]
    records: list[BuildRecord]
    skipped: list[Skipped]
    data_rows: int = 0


@dataclass(frozen=True)
class _Row:
    where: str
    cells: list[HtmlElement]
    texts: list[str]

    def text(self, columns: dict[str, int], role: str) -> str:
        index = columns.get(role)
        return self.texts[index] if index is not None and index < len(self.texts) else ""

    @property
    def excerpt(self) -> str:
        return " | ".join(t for t in self.texts if t)


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """Every build row of every build table on a KB page."""
    root = load_html(content)
    if root is None:
        return ParseResult(problem="empty page")
    tables = [t for i, el in enumerate(root.iter("table")) if (t := _read_table(el, i, url, product))]
    records: dict[int, BuildRecord] = {}
    for table in tables:
        for record in table.records:
            records.setdefault(record.build, record)  # a build listed twice keeps its first row
    skipped = tuple(s for t in tables for s in t.skipped)
    return ParseResult(
        records=tuple(records.values()),
        skipped=skipped,
        problem=None if records else _why_empty(root, tables),
        tables=tuple(t.heading for t in tables),
    )


def _why_empty(root: HtmlElement, tables: list[_Table]) -> str:
    if problem := page_problem(root):
        return problem
    if not tables:
        return "no build table on the page"
    if not any(t.data_rows for t in tables):
        return "build table has no data rows"
    return f"no readable rows ({sum(len(t.skipped) for t in tables)} skipped)"


def _read_table(element: HtmlElement, index: int, url: str, product: Product) -> _Table | None:
    rows = table_rows(element)
    start, columns = _find_header(rows)
    if not columns:
        return None
    table = _Table(table_heading(element, index), columns, [], [])
    header = _texts(row_cells(rows[start]))
    for row in rows[start + 1 :]:
        cells = row_cells(row)
        texts = _texts(cells)
        if _is_filler_row(cells, texts) or texts == header:
            continue  # blank rows, "ESXi 7.0 Update 3" group labels and repeated headers
        table.data_rows += 1
        read = _read_row(_Row(f"table {table.heading!r}, row {table.data_rows}", cells, texts), columns, url, product)
        if isinstance(read, BuildRecord):
            table.records.append(read)
        else:
            table.skipped.append(read)
    return table


def _texts(cells: list[HtmlElement]) -> list[str]:
    return [clean_text(cell.text_content()) for cell in cells]


def _find_header(rows: list[HtmlElement]) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(rows[:5]):
        roles = header_roles(row_cells(row))
        if "build" in roles and ("name" in roles or "version" in roles):
            return index, roles
    return 0, {}


def _is_filler_row(cells: list[HtmlElement], texts: list[str]) -> bool:
    filled = [t for t in texts if t]
    if not filled:
        return True
    spans = len(cells) == 1 and int(cells[0].get("colspan", "1") or "1") > 1
    return spans and not _BUILD_NUMBER.search(filled[0])


def _read_row(row: _Row, columns: dict[str, int], url: str, product: Product) -> BuildRecord | Skipped:
    builds = _BUILD_NUMBER.findall(row.text(columns, "build"))
    if not builds:
        return Skipped(row.where, row.excerpt, "no build number in the build column")
    name, version = row.text(columns, "name"), row.text(columns, "version")
    try:
        release = _release(name, version, product)
    except VersionError as error:
        return Skipped(row.where, row.excerpt, str(error))
    number = int(builds[0])
    client = [int(b) for b in _BUILD_NUMBER.findall(row.text(columns, "client")) if int(b) != number]
    return BuildRecord(
        product=product,
        build=number,
        release=release,
        release_name=name or version,
        release_date=parse_date(row.text(columns, "date")),
        alt_builds=tuple(client[:1]),
        notes_url=_notes_url(row, columns, url),
        recalled=bool(_RECALLED.search(row.excerpt)),
        excerpt=row.excerpt,
    )


def _release(name: str, version: str, product: Product) -> Release:
    """The release from the name column, else the version column. 6.7 rows name a patch id
    (`ESXi670-202111001`) and put `ESXi 6.7 P06` under Version; vCenter 8.0 rows put the appliance
    version (`8.0.3.00600`) under Version, which we keep on the release as 2143838's names do."""
    names = [_RECALLED.sub(" ", text).strip() for text in (name, version) if text]
    if not names:
        raise VersionError("the row has no release name")
    if product_from_text(names[0]) not in (None, product):
        Release.parse(names[0], product)  # raises: a row naming the other product is not ours to file
    error: VersionError | None = None
    for text in names:
        try:
            release = Release.parse(text, product)
        except VersionError as failed:
            error = error or failed
            continue
        return _with_appliance(release, text, version, product)
    assert error is not None
    raise error


def _with_appliance(release: Release, name: str, version: str, product: Product) -> Release:
    if release.appliance is not None or not _APPLIANCE_VERSION.match(version) or name == version:
        return release
    try:
        combined = Release.parse(f"{name} ({version})", product)
    except VersionError:
        return release
    return combined if combined.line == release.line else release


def _notes_url(row: _Row, columns: dict[str, int], url: str) -> str | None:
    for role in ("name", "version"):
        index = columns.get(role)
        if index is None or index >= len(row.cells):
            continue
        for link in row.cells[index].iter("a"):
            href = str(link.get("href") or "").strip()
            if href and not href.startswith(("#", "javascript:", "mailto:")):
                return urljoin(url, href)
    return None
