"""KB build-number tables: Broadcom KB 316595 (ESXi) and 326316 (vCenter), old kb.vmware.com 2143832 / 2143838.

One table per major version under a heading (`ESXi 8.0 🔝`), one row per build. Columns are found by their
header text, never by position: the vendor reorders them (ESXi `Version | Release Name | ...`, vCenter 8.0
`Release name | Version | ...`) and writes the header as `<th>`, as `<td><strong>` or, on the old site, as a
plain first row of `<td>`. A row we cannot read becomes a `Skipped`; a page that is not a build table (a login
or error page, an empty table) gets a `problem` so the poll infers nothing from it, and so does a page cut short
(a build table without its `</table>`, an article without its end, no `</body>`/`</html>`): its rows do not count.

The HTML helpers shared with the release-notes parser live in tracker/sources/html.py.
"""

import re
from dataclasses import dataclass, replace
from urllib.parse import urljoin

from lxml.html import HtmlElement

from tracker.domain.observations import BuildRecord, ParseResult, Skipped
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product, Release, VersionError, product_from_text
from tracker.sources.html import (
    clean_text,
    header_roles,
    load_page,
    page_problem,
    parse_date,
    row_cells,
    table_heading,
    table_rows,
)

__all__ = ["parse"]

_BUILD_NUMBER = re.compile(r"(?<!\d)\d{7,8}(?!\d)")
_RECALLED = re.compile(r"\(?\s*\brecalled\b\s*\)?", re.I)
_APPLIANCE_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d{5}$")  # vCenter 8.0.3.00600


# --- the build table ------------------------------------------------------------------------------------------
@dataclass
class _Table:
    element: HtmlElement
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
    page = load_page(content)
    if page is None:
        return ParseResult(problem="empty page")
    root = page.root
    tables = [t for i, el in enumerate(root.iter("table")) if (t := _read_table(el, i, url, product))]
    if cut := page.ends_early((t.element, t.heading, t.data_rows) for t in tables):
        return ParseResult(problem=cut, tables=tuple(t.heading for t in tables))
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
    table = _Table(element, table_heading(element, index), columns, [], [])
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
    """The release the row states, from whichever of the name and version columns states more.

    6.x rows name a patch id (`ESXi650-201808001`) that says the line, and at best the update, never the patch
    letter, and put what it is under Version (`ESXi 6.5 Update 2c`, KB 2143832 / 316595): the column that states
    the letter (or a 9.x EEHH field) wins, else the name column. 6.7 rows put `ESXi 6.7 P06` under Version, which
    says no more than the patch id, so the id stays. vCenter 8.0 rows put the appliance version (`8.0.3.00600`)
    under Version, which we keep on the release as 2143838's names do.
    """
    names = [cleaned for text in (name, version) if (cleaned := _RECALLED.sub(" ", text).strip())]
    if not names:
        raise VersionError("the row has no release name")
    if product_from_text(names[0]) not in (None, product):
        parse_release(names[0], product)  # raises: a row naming the other product is not ours to file
    read: list[tuple[str, Release]] = []
    error: VersionError | None = None
    for text in names:
        try:
            read.append((text, parse_release(text, product)))
        except VersionError as failed:
            error = error or failed
    if not read:
        assert error is not None
        raise error
    text, release = _stating_most(read)
    return _with_appliance(_with_patch_id(release, read), text, version, product)


def _stating_most(read: list[tuple[str, Release]]) -> tuple[str, Release]:
    """The first reading that states the patch letter (or 9.x EEHH), else the first; two readings that put the
    row on different lines cannot both be right, and which one is cannot be placed."""
    (first_text, first), *others = read
    for text, release in others:
        if release.line != first.line:
            raise VersionError(f"{first_text!r} is {first.line} but {text!r} is {release.line}")
    stating = [(text, release) for text, release in read if release.letter is not None]
    return stating[0] if stating else read[0]


def _with_patch_id(release: Release, read: list[tuple[str, Release]]) -> Release:
    """A 6.x row's letter (`ESXi 6.7 P01 (Update 3b)`) with its patch id's date code (`ESXi670-201912001`): the
    letter names the release, the date code orders it among the line's patch ids (6.7 P01 of 2019 sits below
    ESXi670-202111001, never above it for its letter)."""
    if release.letter is None or release.bulletin_month or release.patch.isdigit():
        return release
    dated = [r for _, r in read if r.letter is None and r.patch.isdigit() and len(r.patch) == 9]
    return replace(release, patch=dated[0].patch) if dated else release


def _with_appliance(release: Release, name: str, version: str, product: Product) -> Release:
    if release.appliance is not None or not _APPLIANCE_VERSION.match(version) or name == version:
        return release
    try:
        combined = parse_release(f"{name} ({version})", product)
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
