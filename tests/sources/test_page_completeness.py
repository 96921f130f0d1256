"""A page cut short counts nothing (issue 10): the table-shaped sources read completeness from the markup as
written, because lxml closes whatever a cut page left open without a word. Every real-shaped page we ship, and
every stage of the bundled story, is complete: the rule never refuses a whole page."""

from pathlib import Path

import pytest

from tests.support.site import FIXTURES, STORY
from tracker.domain.versions import Product
from tracker.sources import download_listing, kb_build_table, release_notes

ESXI, VCENTER = Product.ESXI, Product.VCENTER
PARSERS = {"kb": kb_build_table.parse, "notes": release_notes.parse, "downloads": download_listing.parse}
CUT_ON_PURPOSE = {"broadcom-316595-truncated.html", "malformed.html"}


def complete_pages() -> list[Path]:
    pages = [p for folder in PARSERS for p in sorted((FIXTURES / folder).glob("*.html"))]
    pages += sorted(STORY.glob("*/kb/*.html")) + sorted(STORY.glob("*/notes/*.html"))
    pages += sorted(STORY.glob("*/downloads/*.html"))
    return [p for p in pages if p.name not in CUT_ON_PURPOSE]


def parse(path: Path, content: bytes | None = None) -> tuple[str | None, int]:
    kind = path.parent.name
    product = VCENTER if "vcenter" in path.name or path.name.startswith("326316") else ESXI
    result = PARSERS[kind](path.read_bytes() if content is None else content, url="https://x.test/", product=product)
    return result.problem, len(result.records)


@pytest.mark.parametrize("path", complete_pages(), ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_complete_page_we_ship_is_taken_for_a_cut_one(path: Path):
    problem, _ = parse(path)
    assert problem is None or not problem.startswith("page ends early"), problem


def test_release_notes_cut_inside_the_removal_notice_raise_no_notice():
    page = (FIXTURES / "notes" / "broadcom-esxi-70u3.html").read_bytes()
    cut = page[: page.index(b"VMware has removed ESXi 7.0 Update 3") + len(b"VMware has removed ESXi 7.0 Update 3")]
    result = release_notes.parse(cut, url="https://x.test/", product=ESXI)
    assert (result.records, result.notices) == ((), ())  # not a pull of U3 alone
    assert result.problem == "page ends early: no </body> or </html>"


def test_release_notes_cut_inside_the_build_details_say_which_table():
    page = (FIXTURES / "notes" / "broadcom-esxi-70u3.html").read_bytes()
    cut = page[: page.rindex(b"</table>")]
    result = release_notes.parse(cut, url="https://x.test/", product=ESXI)
    assert result.records == ()
    assert result.problem == "page ends early: no </table> after row 1 of table 'Build Details'"


def test_a_download_page_cut_inside_its_file_list_offers_nothing_rather_than_fewer_builds():
    page = (FIXTURES / "downloads" / "broadcom-esxi-7.0-before-pull.html").read_bytes()
    cut = page[: page.index(b"VMware-ESXi-7.0U3b-18905247-depot.zip")]  # U3b's files never came
    result = download_listing.parse(cut, url="https://x.test/", product=ESXI)
    assert result.records == ()
    assert result.problem == "page ends early: no </table> after row 6 of table 'VMware vSphere Hypervisor (ESXi) 7.0'"


def test_a_download_page_with_an_open_table_that_lists_no_image_is_still_read():
    page = (FIXTURES / "downloads" / "broadcom-esxi-7.0-before-pull.html").read_bytes()
    sloppy = page.replace(b"</body>", b"<table class='layout'><tr><td>Contact us</td></tr></body>")
    problem, records = parse(FIXTURES / "downloads" / "x.html", sloppy)
    assert (problem, records) == (None, 4)


TABLE = (
    b"<h2>ESXi 7.0</h2><table><tr><th>Release Name</th><th>Build Number</th></tr>"
    b"<tr><td>ESXi 7.0 Update 3c</td><td>19193900</td></tr>"
)


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (b"<html><body>" + TABLE + b"</table><!-- <table> --><textarea><table></textarea></body></html>", None),
        (b"<html><body>" + TABLE + b"</table><script>var t = '<table>';</script></body></html>", None),
        (
            b"<html><body>" + TABLE + b"</table><script>var t = '</body></html>'",
            "page ends early: no </body> or </html>",
        ),
        (
            b"<html><body>" + TABLE + b"<!-- </table> --></body></html>",
            "page ends early: no </table> after row 1 of table 'ESXi 7.0'",
        ),
        (b"<HTML><BODY>" + TABLE.replace(b"table", b"TABLE") + b"</TABLE></BODY></HTML>", None),
    ],
    ids=["tags in a comment or textarea", "tags in a script", "cut inside a script", "end tag in a comment", "caps"],
)
def test_only_tags_written_as_markup_count(page: bytes, problem: str | None):
    result = kb_build_table.parse(page, url="https://x.test/", product=ESXI)
    assert result.problem == problem
