"""Download pages over fixtures shaped like Broadcom's support portal and the old my.vmware.com pages."""

from datetime import date
from pathlib import Path

import pytest

from tracker.domain.observations import BuildRecord, ParseResult, Skipped
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product, Release
from tracker.sources.download_listing import parse

FIXTURES = Path(__file__).parents[1] / "fixtures" / "downloads"
PORTAL = "https://support.broadcom.com/group/ecx/productfiles?subFamily=VMware%20vSphere&displayGroup=ESXi"
ESXI, VCENTER = Product.ESXI, Product.VCENTER


def read(name: str, product: Product = ESXI) -> ParseResult:
    return parse((FIXTURES / name).read_bytes(), url=PORTAL, product=product)


def esxi(build: int, release: Release, released: date | None, *names: str) -> BuildRecord:
    return BuildRecord(ESXI, build, release, release.name, released, excerpt=", ".join(names))


def iso(label: str, build: int) -> str:
    return f"VMware-VMvisor-Installer-{label}-{build}.x86_64.iso"


def depot(label: str, build: int) -> str:
    return f"VMware-ESXi-{label}-{build}-depot.zip"


U2D = esxi(18538813, Release(ESXI, 7, 0, 2, "d"), date(2021, 9, 14), iso("7.0U2d", 18538813), depot("7.0U2d", 18538813))
U3 = esxi(18644231, Release(ESXI, 7, 0, 3, ""), date(2021, 10, 5), iso("7.0U3", 18644231), depot("7.0U3", 18644231))
U3A = esxi(
    18825058, Release(ESXI, 7, 0, 3, "a"), date(2021, 10, 28), iso("7.0U3a", 18825058), depot("7.0U3a", 18825058)
)
U3B = esxi(18905247, Release(ESXI, 7, 0, 3, "b"), date(2021, 11, 12), depot("7.0U3b", 18905247))
U3C = esxi(19193900, Release(ESXI, 7, 0, 3, "c"), date(2022, 1, 27), iso("7.0U3c", 19193900), depot("7.0U3c", 19193900))


def test_before_the_pull_it_offers_7_0_u3_u3a_u3b_and_u2d_and_ignores_tools_drivers_and_documents():
    result = read("broadcom-esxi-7.0-before-pull.html")
    assert result == ParseResult(records=(U3, U3A, U3B, U2D))


def test_after_the_pull_only_u2d_is_offered():
    assert read("broadcom-esxi-7.0-after-pull.html") == ParseResult(records=(U2D,))


def test_the_reissue_page_offers_u3c_beside_u2d():
    assert read("broadcom-esxi-7.0-u3c.html") == ParseResult(records=(U3C, U2D))


def test_an_old_my_vmware_page_with_one_block_per_file_reads_the_same():
    assert read("myvmware-esxi-7.0u3c.html") == ParseResult(records=(U3C,))


def test_a_vcenter_page_keeps_vcsa_builds_and_the_appliance_version_of_the_patch_iso():
    result = read("broadcom-vcenter-7.0u3c.html", VCENTER)
    assert result.problem is None and result.skipped == ()
    u3c, u3 = result.records
    assert (u3c.build, u3c.release, u3c.release_date) == (
        19234570,
        parse_release("7.0.3.00300", VCENTER),
        date(2022, 1, 27),
    )
    assert u3c.excerpt == (
        "VMware-VCSA-all-7.0.3-19234570.iso, VMware-vCenter-Server-Appliance-7.0.3.00300-19234570-patch-FP.iso"
    )
    assert (u3.build, u3.release, u3.excerpt) == (
        18700403,
        Release(VCENTER, 7, 0, 3, None),
        "VMware-VCSA-all-7.0.3-18700403.iso",
    )


def test_an_esxi_iso_on_a_vcenter_page_is_not_a_vcenter_build():
    assert 19193900 not in {r.build for r in read("broadcom-vcenter-7.0u3c.html", VCENTER).records}


def test_an_image_name_it_cannot_read_is_skipped_and_the_rest_is_kept():
    result = read("unreadable-image-names.html")
    assert [r.build for r in result.records] == [19193900]
    assert [(s.where, s.text) for s in result.skipped] == [
        ("file list, image 2", "VMware-VMvisor-Installer-7.0U3c.x86_64.iso"),
        ("file list, image 3", "VMware-ESXi-7.0-latest-depot.zip"),
    ]
    assert all(isinstance(s, Skipped) and s.reason for s in result.skipped)


def test_records_carry_no_notes_url():
    assert all(r.notes_url is None for r in read("broadcom-esxi-7.0-before-pull.html").records)


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ("login.html", "login page (password field)"),
        ("error.html", "error page: Something went wrong"),
        ("no-files.html", "no file list on the page"),
        ("broadcom-tools-only.html", "no ESXi image among the 4 files listed"),
    ],
)
def test_a_page_that_is_not_a_file_list_of_the_product_is_a_problem(page: str, problem: str):
    result = read(page)
    assert (result.records, result.problem) == ((), problem)


def test_an_empty_body_is_a_problem():
    assert parse(b"", url=PORTAL, product=ESXI).problem == "empty page"
