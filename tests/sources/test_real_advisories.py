"""Advisory pages written the way the vendor writes them (tests/fixtures/advisories/real, each spelling cited in its
README): every ESXi/ESX and vCenter row of the Response Matrix is read exactly, whatever the header calls the
product column ("VMware Product"), the CVE column ("CVE") or where 9.x puts the product (the Component column);
a page whose matrix cannot be read says so, never reads as an advisory that fixes nothing.

`expected.json` holds, per page, what the vendor's rows say (product, line, the cell as written, whether it
says no fix is out yet or that the line is not affected); the test compares the parser's reading with it.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tracker.domain.fixes import covers
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.versions import Product
from tracker.sources.advisory_feed import parse

REAL = Path(__file__).parent.parent / "fixtures" / "advisories" / "real"
EXPECTED: dict[str, dict[str, Any]] = json.loads((REAL / "expected.json").read_text(encoding="utf-8"))


def read(name: str) -> tuple[AdvisoryRecord, list[str]]:
    result = parse((REAL / name).read_bytes(), url=f"https://vendor.example/{name}", product=Product.ESXI)
    assert result.problem is None, result.problem
    [advisory] = result.advisories
    return advisory, [f"{s.where}: {s.text!r} ({s.reason})" for s in result.skipped]


def stated(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(product, line, fixed text) for each fixed version a row names (several builds in one cell, one per line)."""
    if row["not_affected"]:
        return []
    parts = row["fixed"].split("\n") if not row["pending"] else [row["fixed"]]
    return [(row["product"], row["line"], part) for part in parts]


def found(fix: AdvisoryFix) -> tuple[str, str, str]:
    return (fix.product.value, fix.fixed.line if fix.fixed and fix.fixed.line else fix.line, fix.fixed_text)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_esxi_and_vcenter_row_of_a_real_advisory_page_is_read_exactly(name: str):
    advisory, skipped = read(name)
    truth = EXPECTED[name]
    assert (advisory.id, advisory.severity) == (truth["advisory"]["id"], truth["advisory"]["severity"])
    if truth["advisory"]["revision"] is not None:
        assert advisory.revision == truth["advisory"]["revision"]
    assert set(truth["advisory"]["cves"]) <= set(advisory.cves)
    assert (skipped, advisory.unread) == ([], "")
    assert all(f.fixed is not None or f.pending for f in advisory.fixes), advisory.fixes  # every cell placed
    wanted = {part for row in truth["rows"] for part in stated(row)}
    got = {found(f) for f in advisory.fixes if f.product in (Product.ESXI, Product.VCENTER)}
    assert ([w for w in wanted if not _among(w, got)], [g for g in got if not _among(g, wanted)]) == ([], [])
    pending = {(r["product"], r["line"]) for r in truth["rows"] if r["pending"]}
    read_pending = {(f.product.value, f.line) for f in advisory.fixes if f.pending}
    assert all(any(p == q[0] and _same_line(line, q[1]) for p, line in read_pending) for q in pending)
    assert all(any(p == q[0] and _same_line(line, q[1]) for q in pending) for p, line in read_pending)


def _among(fix: tuple[str, str, str], others: set[tuple[str, str, str]]) -> bool:
    product, line, text = fix
    return any(o[0] == product and _cell(o[2]) == _cell(text) and _same_line(o[1], line) for o in others)


def _cell(text: str) -> str:
    """The cell as the parser keeps it: without a footnote mark before or after ("[1] ESXi670-202111101-SG")."""
    return text.removeprefix("[1] ").removesuffix(" [1]").strip()


def _same_line(one: str, other: str) -> bool:
    """The vendor's "7.x" is every 7 line: the parser keeps it as written, expected.json names the one line."""
    return one == other or covers(one, other) or covers(other, one)


def test_the_vmware_product_header_and_the_cve_header_are_the_product_and_cve_columns():
    advisory, _ = read("vmsa-2021-0028.final.html")  # "VMware Product | Version | Running On | CVE | ..."
    assert {f.fixed_text for f in advisory.fixes} == {"7.0U3c", "6.7 U3q", "6.5 U3s"}
    assert {"CVE-2021-45105", "CVE-2021-44832"} <= set(advisory.cves)


def test_patch_pending_rows_are_kept_as_no_fix_yet_per_line():
    advisory, _ = read("vmsa-2021-0028.0.html")
    assert sorted({(f.line, f.fixed_text, f.pending) for f in advisory.fixes}) == [
        ("6.5", "Patch Pending", True),
        ("6.7", "Patch Pending", True),
        ("7.x", "Patch Pending", True),
    ]


def test_9x_rows_are_read_from_the_component_column_and_bundle_rows_of_their_own_versions_are_left_out():
    advisory, _ = read("broadcom-38017-vmsa-2026-0006.1.html")
    by_line = {(f.product.value, f.fixed.line if f.fixed else f.line, f.fixed_text) for f in advisory.fixes}
    assert ("vcenter", "9.1", "9.1.0.0300") in by_line and ("esxi", "9.0", "ESXi-9.0.2.0100-25595025") in by_line
    assert not any("Async" in text or "KB" in text for _, _, text in by_line)  # Cloud Foundation 5.x, Telco rows


@pytest.mark.parametrize(
    ("product_header", "fixed_header"),
    [
        ("VMware Product", "Fixed Version"),
        ("Product", "Fixed Version(s)"),
        ("vmware   product:", "FIXED VERSION:"),
        ("Product(s)", "Fixed Versions [1]"),
    ],
)
def test_headers_are_matched_by_meaning_whatever_their_case_spacing_or_trailing_colon(product_header, fixed_header):
    page = _page(f"<tr><th>{product_header}</th><th>Version</th><th>CVE</th><th>{fixed_header}</th></tr>")
    result = parse(page, url="https://x/a", product=Product.ESXI)
    [advisory] = result.advisories
    assert [f.fixed_text for f in advisory.fixes] == ["ESXi70U3c-19193900"]


def test_a_matrix_whose_columns_cannot_be_read_is_fixes_unknown_and_names_the_lines_it_mentions():
    page = _page("<tr><th>Produit</th><th>Version</th><th>Correctif</th></tr>", heading="3a. Response Matrix")
    result = parse(page, url="https://x/a", product=Product.ESXI)
    [advisory] = result.advisories
    assert advisory.unread.startswith("a Response Matrix is on the page but its columns could not be read")
    assert [(f.product.value, f.line, f.fixed) for f in advisory.fixes] == [("esxi", "7.0", None)]


def test_a_matrix_whose_every_esxi_row_is_unreadable_is_fixes_unknown_too():
    page = _page(
        "<tr><th>VMware Product</th><th>Version</th><th>CVE</th><th>Fixed Version</th></tr>",
        cell="see the release notes",
    )
    [advisory] = parse(page, url="https://x/a", product=Product.ESXI).advisories
    assert advisory.unread == "no fixed version could be read from its 1 ESXi/vCenter row"


def _page(header: str, heading: str = "Response Matrix:", cell: str = "ESXi70U3c-19193900") -> bytes:
    return f"""<html><body>
    <p>Advisory ID: VMSA-2022-0004</p><p>Advisory Severity: Critical</p><p>Synopsis: VMSA-2022-0004: ESXi</p>
    <p><strong>{heading}</strong></p>
    <table>{header}
    <tr><td>VMware ESXi</td><td>7.0</td><td>CVE-2021-22040</td><td>{cell}</td></tr></table>
    </body></html>""".encode()


@pytest.mark.parametrize(
    ("cell", "read"),
    [  # real Fixed Version cells (tests/fixtures/advisories/real/README.md, "Spellings found")
        ("ESXi670-201911401-BGESXi670-201911402-BG", ["ESXi670-201911401-BG", "ESXi670-201911402-BG"]),
        ("ESXi670-201808401-BG*ESXi670-201808402-BG**", ["ESXi670-201808401-BG", "ESXi670-201808402-BG"]),
        ("ESXi670-202008101-SG ESXi670-202008401-BG", ["ESXi670-202008101-SG", "ESXi670-202008401-BG"]),
        ("ESXi70U3e-19898904 + KB88632", ["ESXi70U3e-19898904"]),
        ("ESXi670-201908201-UG", ["ESXi670-201908201-UG"]),
        ("ESXi_7.0.0-1.25.16324942", ["ESXi_7.0.0-1.25.16324942"]),
        ("[1] ESXi670-202111101-SG", ["ESXi670-202111101-SG"]),
        ("ESXi80U3k-25595708", ["ESXi80U3k-25595708"]),
    ],
)
def test_every_real_spelling_of_a_fixed_version_is_read(cell: str, read: list[str]):
    page = _page("<tr><th>VMware Product</th><th>Version</th><th>CVE</th><th>Fixed Version</th></tr>", cell=cell)
    [advisory] = parse(page, url="https://x/a", product=Product.ESXI).advisories
    assert [(f.fixed_text, f.fixed is not None) for f in advisory.fixes] == [(text, True) for text in read]
    assert advisory.unread == ""
