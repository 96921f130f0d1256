"""A product's download page: the builds it offers, read from the file names it lists.

Broadcom's support portal lists a release's files in a table (file name, release date, size, checksum, a
download link) under a release selector; the old my.vmware.com pages wrote one block per file ("Name:",
"File size:", "Release Date:", "Build Number:", checksums). Both are read the same way: every file name on the
page (in text or in a link) is a candidate, and only installer images of the page's product count:

    ESXi      VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso, VMware-ESXi-7.0U3c-19193900-depot.zip
    vCenter   VMware-VCSA-all-7.0.3-19234570.iso, VMware-vCenter-Server-Appliance-7.0.3.00300-19234570-patch-FP.iso

Tools, drivers and documents are ignored. A name shaped like an image that does not parse becomes a
`Skipped`; a login or error page, or a page without any file list, gets a `problem`. A pull shows as the
build's files vanishing, so a page cut short (a file table without its `</table>`, an article without its end, no
`</body>` or `</html>`) counts nothing: its missing files would read as pulls.
"""

import re
from dataclasses import dataclass
from datetime import date

from lxml.html import HtmlElement

from tracker.domain.observations import BuildRecord, ParseResult, Skipped
from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, Release, VersionError
from tracker.domain.words import count
from tracker.sources.html import (
    CountedTable,
    Page,
    clean_text,
    load_page,
    page_problem,
    parse_date,
    table_heading,
    table_rows,
)

__all__ = ["parse"]

_FILE_NAME = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*\."
    r"(?:iso|zip|ova|ovf|tar|tgz|gz|bz2|xz|7z|bundle|exe|msi|pdf|rpm|vib|img|json|txt)(?![\w-])",
    re.I,
)
_IMAGES = {
    # 9.x files may say ESX as well as ESXi: VMware-ESX-9.0.0.0100-24813472-depot.zip (KB 395110's rename)
    Product.ESXI: re.compile(r"^(?:VMware-VMvisor-Installer-|VMware-ESXi?-|ESXi?-?\d)", re.I),
    Product.VCENTER: re.compile(r"^(?:VMware-VCSA-all-|VMware-vCenter-Server-Appliance-)", re.I),
}
# vCenter patch ISOs name the appliance version: VMware-vCenter-Server-Appliance-7.0.3.00300-19234570-patch-FP.iso
_APPLIANCE_FILE = re.compile(r"(?<![\d.])(?P<version>\d+\.\d+\.\d+\.\d{5})-(?P<build>\d{7,8})(?!\d)")
_ROW_TAGS = ("tr", "li", "dl")


@dataclass(frozen=True)
class _File:
    name: str
    released: date | None  # the date on the file's row, when it has one


@dataclass
class _Found:
    build: Build
    names: list[str]
    released: date | None


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """One record per build whose installer files the page lists."""
    page = load_page(content)
    if page is None:
        return ParseResult(problem="empty page")
    if cut := page.ends_early(_open_file_tables(page, product)):
        return ParseResult(problem=cut)
    root = page.root
    files = _files(root)
    images = [f for f in files if _IMAGES[product].match(f.name)]
    found, skipped = _builds(images, product)
    records = tuple(_record(item, product) for item in found.values())
    return ParseResult(
        records=records, skipped=tuple(skipped), problem=_why_empty(root, records, files, skipped, product)
    )


def _why_empty(
    root: HtmlElement, records: tuple[BuildRecord, ...], files: list[_File], skipped: list[Skipped], product: Product
) -> str | None:
    if records:
        return None
    if problem := page_problem(root):
        return problem
    if not files:
        return "no file list on the page"
    if skipped:
        return f"no readable {product.label} image ({len(skipped)} skipped)"
    return f"no {product.label} image among the {count(len(files), 'file')} listed"


# --- the file list --------------------------------------------------------------------------------------------
def _open_file_tables(page: Page, product: Product) -> list[CountedTable]:
    """The tables left open that list installer images: the file list a cut went through."""
    if not page.unclosed:
        return []
    tables = list(page.root.iter("table"))
    return [
        (table, table_heading(table, tables.index(table)), len(table_rows(table)))
        for table in page.unclosed
        if any(_IMAGES[product].match(f.name) for f in _files(table))
    ]


def _files(root: HtmlElement) -> list[_File]:
    """Every file name on the page, once, in page order, with the date of the row it sits in."""
    files: dict[str, _File] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        texts = (element.text or "", element.get("href") or "", element.get("download") or "")
        for name in (match.group() for text in texts for match in _FILE_NAME.finditer(text)):
            files.setdefault(name, _File(name, _row_date(element)))
        for match in _FILE_NAME.finditer(element.tail or ""):
            parent = element.getparent()
            files.setdefault(match.group(), _File(match.group(), _row_date(parent if parent is not None else element)))
    return list(files.values())


def _row_date(element: HtmlElement) -> date | None:
    """The date of the table row or list item a file sits in, or of its my.vmware.com `fileDetails` block."""
    for node in (element, *element.iterancestors()):
        if node.tag in _ROW_TAGS or (node.tag == "div" and "filedetails" in (node.get("class") or "").lower()):
            # cell by cell: run together, "2021-10-05" and "390.16 MB" read "2021-10-05390", which is no date
            return parse_date(clean_text(" ".join(node.itertext())))
    return None


# --- builds ---------------------------------------------------------------------------------------------------
def _builds(images: list[_File], product: Product) -> tuple[dict[int, _Found], list[Skipped]]:
    found: dict[int, _Found] = {}
    skipped: list[Skipped] = []
    for index, image in enumerate(images, start=1):
        try:
            build = _build(image.name, product)
        except VersionError as error:
            skipped.append(Skipped(f"file list, image {index}", image.name, str(error)))
            continue
        assert build.number is not None
        item = found.setdefault(build.number, _Found(build, [], image.released))
        item.names.append(image.name)
        item.released = item.released or image.released
        if _detail(build.release) > _detail(item.build.release):
            item.build = build  # VCSA-all-7.0.3 says 7.0.3; the patch ISO beside it says 7.0.3.00300
    return found, skipped


def _detail(release: Release | None) -> tuple[bool, bool]:
    return (release is not None and release.letter is not None, release is not None and release.appliance is not None)


def _build(name: str, product: Product) -> Build:
    appliance = _APPLIANCE_FILE.search(name)
    if product is Product.VCENTER and appliance:
        return Build(product, int(appliance.group("build")), parse_release(appliance.group("version"), product))
    build = parse_build(name, product)
    if build.number is None or build.release is None:
        raise VersionError(f"{name!r} carries no build number")
    return build


def _record(item: _Found, product: Product) -> BuildRecord:
    assert item.build.number is not None and item.build.release is not None
    return BuildRecord(
        product=product,
        build=item.build.number,
        release=item.build.release,
        release_name=item.build.release.name,
        release_date=item.released,
        excerpt=", ".join(item.names),
    )
