"""VMware Cloud Foundation release notes: the "Bill of Materials" table (techdocs.broadcom.com).

The page names its release in a header cell (`VMware Cloud Foundation 9.0.0.0 | 17 JUN 2025`) and lists
`Software Component | Version | Date | Build Number`. ESX and vCenter rows become components of those products;
every other row (NSX, SDDC Manager, VCF Operations) is kept as text. Pure: bytes in, a `ParseResult` carrying the
release out (`read_release` gives the release alone, or None).
"""

import re

from lxml.html import HtmlElement

from tracker.domain.bom import BomComponent, VcfRelease
from tracker.domain.observations import ParseResult
from tracker.domain.versions import Product
from tracker.sources.html import clean_text, load_html, parse_date, row_cells, table_rows

__all__ = ["VcfRelease", "parse", "read_release"]

_RELEASE = re.compile(r"VMware Cloud Foundation\s+(?P<version>9\.\d+\.\d+\.\d+)\s*\|\s*(?P<date>[^|]{6,24})", re.I)
_PRODUCTS = ((re.compile(r"^(VMware\s+)?ESXi?$", re.I), Product.ESXI), (re.compile(r"vCenter", re.I), Product.VCENTER))
_COLUMNS = ("component", "version", "build")


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """The page's VCF release (its builds are the catalog's ESX and vCenter sources' to list), or a problem."""
    release = read_release(content, url=url)
    if release is None:
        return ParseResult(problem="not a VCF release-notes page (no release header or no Bill of Materials table)")
    return ParseResult(vcf_releases=(release,))


def read_release(content: bytes, *, url: str) -> VcfRelease | None:
    """The release the page describes with its BOM, or None when it names no VCF release or has no BOM table."""
    root = load_html(content)
    if root is None:
        return None
    header = _RELEASE.search(clean_text(root.text_content()))
    components = next((c for c in map(_components, root.iter("table")) if c), ())
    if header is None or not components:
        return None
    day = parse_date(header["date"])
    return VcfRelease(header["version"], components, day.isoformat() if day else None, url)


def _components(table: HtmlElement) -> tuple[BomComponent, ...]:
    rows = [[clean_text(cell.text_content()) for cell in row_cells(row)] for row in table_rows(table)]
    if not rows or _roles(rows[0]) is None:
        return ()
    roles = _roles(rows[0]) or {}
    return tuple(_component(row, roles) for row in rows[1:] if len(row) > max(roles.values()) and row[0])


def _roles(header: list[str]) -> dict[str, int] | None:
    found = {}
    for index, text in enumerate(header):
        lowered = text.lower()
        role = next((r for r in _COLUMNS if r in lowered), None)
        if role and role not in found:
            found[role] = index
    return found if len(found) == len(_COLUMNS) else None


def _component(row: list[str], roles: dict[str, int]) -> BomComponent:
    name, build = row[roles["component"]], row[roles["build"]]
    product = next((p for rule, p in _PRODUCTS if rule.search(name)), None)
    return BomComponent(name, row[roles["version"]], int(build) if build.isdigit() else None, product)
