"""Release-notes pages (techdocs.broadcom.com and the older docs.vmware.com).

Both open with a header line `ESXi 7.0 Update 3c | 27 JAN 2022 | ISO Build 19193900`: docs.vmware.com writes
it in paragraphs followed by "Check for additions and updates to these release notes."; Broadcom moved it into
a one-cell table in the Introduction and writes withdrawal or replacement notices into the same cell. "Build
Details" tables (Download Filename, Build, Download Size, checksums) name more builds; the old site writes them
as label/value rows, so both orientations are read. Notices come from `find_notices`, sentence by sentence.
A page cut short (a Build Details table without its `</table>`, an article without its end, no `</body>` or
`</html>`) counts nothing: a notice cut mid-sentence names fewer builds than it should.
"""

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from lxml.html import HtmlElement

from tracker.domain.observations import BuildRecord, Notice, ParseResult, Skipped
from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, Release, VersionError
from tracker.sources.html import (
    CountedTable,
    clean_text,
    load_page,
    page_problem,
    parse_date,
    row_cells,
    table_heading,
    table_rows,
)
from tracker.sources.notices import find_notices

__all__ = ["parse"]

# 9.x notes drop "Server" and "i": `VMware vCenter 9.0.1.0 | 29 SEP 2025 | Build 24957454`, `VMware ESX 9.0.1.0 | ...`.
_HEADER = re.compile(
    r"(?P<name>(?:VMware\s+)?(?:ESXi?|vCenter(?:\s+Server)?(?:\s+Appliance)?|VCSA)\b[^|\n]{0,60}?)\s*\|\s*"
    r"(?P<date>[^|\n]{6,24}?)\s*\|\s*(?:ISO\s+)?Build\s*:?\s*(?P<build>\d{7,8})\b",
    re.I,
)
# 6.x patch notes have no header line, only "Release Date: NOV 23, 2021" above the Build Details.
_RELEASE_DATE = re.compile(r"Release Date:\s*(?P<date>[A-Za-z0-9 ,./-]{6,24}?\d{4})", re.I)
_BUILD_NUMBER = re.compile(r"(?<!\d)\d{7,8}(?!\d)")
_BLOCKS = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "caption", "pre", "div")
_BREAK = "\u2029"  # a <br>: keeps "header<br>IMPORTANT: ..." in one Broadcom cell as two sentences


@dataclass(frozen=True)
class _Header:
    name: str
    number: int
    released: date | None
    text: str


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """The page's own release, the builds in its Build Details, and its pull/replacement notices."""
    page = load_page(content)
    if page is None:
        return ParseResult(problem="empty page")
    root = page.root
    blocks = _block_texts(root)
    header = _find_header(blocks)
    released = header.released if header else _release_date(blocks)
    page_release, skipped = _header_release(header, product)
    details, counted, detail_skips = _build_details(root, url, product, page_release, released)
    headings = tuple(heading for _, heading, _ in counted)
    if cut := page.ends_early(counted):
        return ParseResult(problem=cut, tables=headings)
    if header is None and not details:
        return ParseResult(skipped=detail_skips, problem=page_problem(root) or "not a release-notes page")
    page_build = Build(product, header.number, page_release) if header else None
    records: dict[int, BuildRecord] = {}
    for record in _header_records(header, page_release, product, url) + details:
        records.setdefault(record.build, record)  # the header's own build first, then Build Details
    return ParseResult(
        records=tuple(records.values()),
        notices=_notices(blocks, product, page_build),
        skipped=skipped + detail_skips,
        tables=headings,
    )


# --- text ---------------------------------------------------------------------------------------------------
def _block_texts(root: HtmlElement) -> list[str]:
    """The text of every innermost block (paragraph, cell, list item), so sentences never run across blocks."""
    for br in root.iter("br"):
        br.tail = _BREAK + (br.tail or "")
    blocks = list(root.iter(*_BLOCKS))
    parents: set[HtmlElement] = set()
    for block in blocks:
        parents.update(block.iterancestors(*_BLOCKS))
    texts = []
    for block in blocks:
        if block not in parents:
            text = "\n\n".join(clean_text(part) for part in block.text_content().split(_BREAK))
            if text.strip():
                texts.append(text.strip())
    return texts


def _find_header(blocks: list[str]) -> _Header | None:
    for paragraph in (part for text in blocks for part in text.split("\n\n")):
        if match := _HEADER.search(paragraph):
            name = clean_text(match.group("name"))
            return _Header(name, int(match.group("build")), parse_date(match.group("date")), paragraph[:200])
    return None


def _release_date(blocks: list[str]) -> date | None:
    for text in blocks:
        if match := _RELEASE_DATE.search(text):
            return parse_date(match.group("date"))
    return None


def _header_release(header: _Header | None, product: Product) -> tuple[Release | None, tuple[Skipped, ...]]:
    if header is None:
        return None, ()
    try:
        return parse_release(header.name, product), ()
    except VersionError as error:
        return None, (Skipped("release-notes header", header.text, str(error)),)


def _header_records(header: _Header | None, release: Release | None, product: Product, url: str) -> list[BuildRecord]:
    if header is None or release is None:
        return []
    return [
        BuildRecord(product, header.number, release, header.name, header.released, notes_url=url, excerpt=header.text)
    ]


def _notices(blocks: list[str], product: Product, page_build: Build | None) -> tuple[Notice, ...]:
    found: dict[Notice, None] = {}
    for text in blocks:
        found.update(dict.fromkeys(find_notices(text, product=product, page_build=page_build)))
    return tuple(found)


# --- Build Details ------------------------------------------------------------------------------------------
def _build_details(
    root: HtmlElement, url: str, product: Product, page_release: Release | None, released: date | None
) -> tuple[list[BuildRecord], tuple[CountedTable, ...], tuple[Skipped, ...]]:
    records: list[BuildRecord] = []
    counted: list[CountedTable] = []
    skipped: list[Skipped] = []
    for index, table in enumerate(root.iter("table")):
        entries = _detail_entries(table)
        if not entries:
            continue
        heading = table_heading(table, index)
        counted.append((table, heading, len(entries)))
        for row, (filename, build_text) in enumerate(entries, start=1):
            read = _detail_record(filename, build_text, product, page_release, released, url)
            if read is None:
                skipped.append(Skipped(f"table {heading!r}, row {row}", f"{filename} | {build_text}", "no build"))
            else:
                records.append(read)
    return records, tuple(counted), tuple(skipped)


def _detail_entries(table: HtmlElement) -> list[tuple[str, str]]:
    """(Download Filename, Build) pairs, from label/value rows or from a header row with those columns."""
    rows = [[clean_text(c.text_content()) for c in row_cells(r)] for r in table_rows(table)]
    labels = {_label(cells[0]): cells[1] for cells in rows if len(cells) >= 2}
    if "build" in labels and any("filename" in label for label in labels):
        filename = next(value for label, value in labels.items() if "filename" in label)
        return [(filename, labels["build"])]
    for index, cells in enumerate(rows[:3]):
        names = [_label(c) for c in cells]
        if "build" in names and any("filename" in n for n in names):
            file_col = next(i for i, n in enumerate(names) if "filename" in n)
            build_col = names.index("build")
            return [(cells[file_col], cells[build_col]) for cells in rows[index + 1 :] if len(cells) > build_col]
    return []


def _label(text: str) -> str:
    return text.lower().rstrip(": ").strip()


def _detail_record(
    filename: str,
    build_text: str,
    product: Product,
    page_release: Release | None,
    released: date | None,
    url: str,
) -> BuildRecord | None:
    found = _BUILD_NUMBER.search(build_text)
    if found is None:
        return None
    release = _file_release(filename, product, page_release)
    name = release.name if release else filename
    return BuildRecord(product, int(found.group()), release, name, released, notes_url=url, excerpt=filename)


def _file_release(filename: str, product: Product, page_release: Release | None) -> Release | None:
    """The release a file name spells (`VMware-ESXi-7.0U3c-19193900-depot`, `ESXi670-202111001.zip`);
    the page's own release when the name says less or disagrees about the line."""
    stem = PurePosixPath(filename).stem if filename.lower().endswith((".zip", ".iso")) else filename
    try:
        release = parse_build(stem, product).release
    except VersionError:
        return page_release
    if release is None or (page_release is not None and release.line != page_release.line):
        return page_release
    return release
