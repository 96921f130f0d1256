"""Release-notes pages: techdocs.broadcom.com (one-cell header table) and docs.vmware.com (header paragraphs)."""

from datetime import date
from pathlib import Path

import pytest

from tracker.domain.observations import BuildRecord, NoticeKind, ParseResult
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Build, Product, Release
from tracker.sources.release_notes import parse

FIXTURES = Path(__file__).parents[1] / "fixtures"
STORY = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "story"
ESXI, VCENTER = Product.ESXI, Product.VCENTER
URL = "https://techdocs.broadcom.com/us/en/vmware-cis/vsphere/vsphere/7-0/release-notes/notes.html"


def read(path: str, product: Product = ESXI, url: str = URL) -> ParseResult:
    return parse((FIXTURES / path).read_bytes(), url=url, product=product)


def esxi(update: int, letter: str, number: int | None = None) -> Build:
    return Build(ESXI, number, Release(ESXI, 7, 0, update, letter))


def test_it_reads_the_broadcom_header_cell_and_both_notices_of_the_7_0_u3_page():
    result = read("notes/broadcom-esxi-70u3.html")
    assert (result.problem, result.skipped, result.tables) == (None, (), ("Build Details",))
    assert result.records == (
        BuildRecord(
            ESXI,
            18644231,
            Release(ESXI, 7, 0, 3, ""),
            "ESXi 7.0 Update 3",
            date(2021, 10, 5),
            notes_url=URL,
            excerpt="ESXi 7.0 Update 3 | 05 OCT 2021 | ISO Build 18644231",
        ),
    )
    pulled, replaced = result.notices
    assert (pulled.kind, pulled.subjects) == (NoticeKind.PULLED, (esxi(3, "", 18644231), esxi(3, "a"), esxi(3, "b")))
    assert pulled.excerpt.startswith("IMPORTANT: VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a")
    assert (replaced.kind, replaced.replacement) == (NoticeKind.REPLACED, esxi(3, "c", 19193900))
    assert replaced.subjects == (esxi(3, "", 18644231), esxi(3, "a", 18825058), esxi(3, "b", 18905247))


def test_it_reads_the_docs_vmware_header_paragraph_and_the_replacement():
    result = read("notes/docs-esxi-70u3c.html", url="https://docs.vmware.com/en/VMware-vSphere/7.0/rn/esxi-70u3c.html")
    [record] = result.records
    assert (record.build, record.release, record.release_date) == (
        19193900,
        Release(ESXI, 7, 0, 3, "c"),
        date(2022, 1, 27),
    )
    assert record.notes_url == "https://docs.vmware.com/en/VMware-vSphere/7.0/rn/esxi-70u3c.html"
    assert [(n.kind, n.replacement) for n in result.notices] == [(NoticeKind.REPLACED, esxi(3, "c", 19193900))]


def test_resolved_issues_that_mention_removed_vibs_raise_no_notice():
    page = (FIXTURES / "notes" / "docs-esxi-70u3c.html").read_text(encoding="utf-8")
    assert "the i40enu VIB is removed" in page  # the decoy is there
    assert all(n.kind is NoticeKind.REPLACED for n in read("notes/docs-esxi-70u3c.html").notices)
    assert (
        parse((STORY / "common/notes/esxi-70u2d.html").read_bytes(), url="http://x/", product=Product.ESXI).notices
        == ()
    )


@pytest.mark.parametrize(
    ("path", "build", "release", "released"),
    [
        ("notes/broadcom-vcenter-70u3c.html", 19234570, Release(VCENTER, 7, 0, 3, "c"), date(2022, 1, 27)),
        ("notes/docs-vcenter-70u3.html", 18700403, Release(VCENTER, 7, 0, 3, ""), date(2021, 10, 5)),
        ("notes/broadcom-vcenter-70u3b.html", 18901211, Release(VCENTER, 7, 0, 3, "b"), date(2021, 11, 9)),
    ],
)
def test_it_reads_vcenter_headers(path: str, build: int, release: Release, released: date):
    result = read(path, VCENTER)
    assert [(r.build, r.release, r.release_date) for r in result.records] == [(build, release, released)]
    assert result.problem is None


def test_a_broadcom_cell_notice_replaced_and_no_longer_available_is_one_replacement():
    [notice] = read("notes/broadcom-vcenter-70u3b.html", VCENTER).notices
    assert notice.kind is NoticeKind.REPLACED
    assert notice.subjects == (Build(VCENTER, 18901211, Release(VCENTER, 7, 0, 3, "b")),)
    assert notice.replacement == Build(VCENTER, None, Release(VCENTER, 7, 0, 3, "c"))


def test_a_6x_patch_page_without_header_yields_its_build_details():
    [record] = read("notes/docs-esxi670-202111001.html").records
    assert (record.build, record.release, record.release_date) == (
        18828794,
        parse_release("ESXi670-202111001", ESXI),
        date(2021, 11, 23),
    )
    assert record.excerpt == "ESXi670-202111001.zip"


def test_build_details_name_more_builds_and_duplicates_collapse_into_the_header():
    page = (
        (FIXTURES / "notes" / "docs-esxi-70u3c.html")
        .read_bytes()
        .replace(
            b"</body>",
            b"<h3>Build Details</h3><table><tr><th>Download Filename</th><th>Build</th><th>Download Size</th></tr>"
            b"<tr><td>VMware-ESXi-7.0U3sc-19193890-depot.zip</td><td>19193890</td><td>390 MB</td></tr>"
            b"<tr><td>VMware-ESXi-7.0U3c-19193900-depot.zip</td><td>19193900</td><td>395 MB</td></tr>"
            b"<tr><td>VMware-ESXi-broken.zip</td><td>pending</td><td></td></tr></table></body>",
        )
    )
    result = parse(page, url=URL, product=ESXI)
    assert [r.build for r in result.records] == [19193900, 19193890]
    assert result.records[1].release == Release(ESXI, 7, 0, 3, "c", security_only=True)
    assert result.records[1].release_date == date(2022, 1, 27)
    assert [(s.where, s.reason) for s in result.skipped] == [("table 'Build Details', row 3", "no build")]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("kb/broadcom-316595-esxi.html", "not a release-notes page"),
        ("kb/login.html", "login page (password field)"),
        ("kb/error-page-not-found.html", "error page: Page Not Found | Broadcom Support Portal"),
    ],
)
def test_a_page_without_header_or_build_details_is_not_release_notes(path: str, problem: str):
    result = read(path)
    assert (result.problem, result.records, result.notices) == (problem, (), ())


@pytest.mark.parametrize(
    "content", [b"", b"\xff\xfe\x80", b"<html><p>ESXi 7.0 Update 3c | someday | ISO Build 12</p></html>"]
)
def test_it_never_raises(content: bytes):
    assert parse(content, url=URL, product=ESXI).problem is not None


def test_an_unknown_release_spelling_in_the_header_is_skipped_but_its_notices_still_count():
    page = (
        b"<html><body><p>ESXi 7.0 Update 3 Hot Patch | 18 JAN 2022 | ISO Build 19187777</p>"
        b"<p>This release is no longer available for download.</p></body></html>"
    )
    result = parse(page, url=URL, product=ESXI)
    assert result.records == () and result.problem is None
    assert [s.where for s in result.skipped] == ["release-notes header"]
    assert [n.subjects for n in result.notices] == [(Build(ESXI, 19187777, None),)]


@pytest.mark.parametrize(
    ("stage", "kinds"),
    [("01-2021-09-20", []), ("06-2021-11-19", [NoticeKind.PULLED]), ("09-2022-01-28", [NoticeKind.PULLED])],
)
def test_the_story_u3_notes_gain_the_removal_notice_on_november_19(stage: str, kinds: list[NoticeKind]):
    folder = STORY / stage / "notes" / "esxi-70u3.html"
    path = folder if folder.exists() else STORY / "common" / "notes" / "esxi-70u3.html"
    result = parse(path.read_bytes(), url=URL, product=ESXI)
    assert [n.kind for n in result.notices] == kinds
    assert [r.build for r in result.records] == [18644231]
