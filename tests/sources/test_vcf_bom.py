"""VCF release notes' Bill of Materials, read and set against the catalog (pulled components show)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.domain.bom import BomComponent, releases_containing, view_release
from tracker.domain.catalog import BuildStatus, Catalog, Entry
from tracker.domain.versions import Product
from tracker.sources import REGISTRY, vcf_bom

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vcf"
VCF_90 = "https://techdocs.broadcom.com/vcf-9-0-0-release-notes.html"
VCF_901 = "https://techdocs.broadcom.com/vcf-9-0-1-release-notes.html"


def read(name: str, url: str) -> vcf_bom.VcfRelease:
    release = vcf_bom.read_release((FIXTURES / name).read_bytes(), url=url)
    assert release is not None
    return release


def catalog_with(*builds: tuple[Product, int, BuildStatus]) -> Catalog:
    catalog = Catalog()
    for product, build, status in builds:
        entry = Entry(product, build, None, f"{product.value} {build}", datetime(2025, 6, 17, tzinfo=UTC))
        entry.status = status
        catalog.add_entry(entry)
    return catalog


def test_it_reads_the_release_and_every_bom_component_keeping_nsx_as_text():
    release = read("vcf-9-0-0-release-notes.html", VCF_90)

    assert (release.version, release.release_date, release.notes_url) == ("9.0.0.0", "2025-06-17", VCF_90)
    assert release.components == (
        BomComponent("VMware ESX", "9.0.0.0", 24755229, Product.ESXI),
        BomComponent("VMware vCenter", "9.0.0.0", 24755230, Product.VCENTER),
        BomComponent("VMware NSX", "9.0.0.0", None, None),
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (b"<html><body><p>Nothing here</p></body></html>", None),
        (b"<html><body><p>VMware Cloud Foundation 9.0.0.0 | 17 JUN 2025</p></body></html>", None),
    ],
)
def test_a_page_without_a_release_header_or_a_bom_table_is_no_release(page: bytes, expected: None):
    assert vcf_bom.read_release(page, url=VCF_90) is expected


def test_a_release_whose_esx_is_pulled_says_so_and_one_with_nothing_pulled_is_ok():
    release = read("vcf-9-0-0-release-notes.html", VCF_90)
    pulled_esx = catalog_with(
        (Product.ESXI, 24755229, BuildStatus.PULLED), (Product.VCENTER, 24755230, BuildStatus.AVAILABLE)
    )

    assert view_release(release, pulled_esx).summary == "contains pulled ESX 9.0.0.0 (24755229)"
    assert view_release(release, catalog_with()).summary == "ok"


def test_a_pulled_vcenter_names_only_the_vcf_releases_that_contain_it():
    releases = [read("vcf-9-0-0-release-notes.html", VCF_90), read("vcf-9-0-1-release-notes.html", VCF_901)]

    containing = releases_containing(releases, Product.VCENTER, 24957454)

    assert [r.name for r in containing] == ["VCF 9.0.1.0"]
    assert releases_containing(releases, Product.ESXI, 24957454) == ()


def test_as_a_registered_source_kind_a_page_gives_its_release_or_says_it_is_no_vcf_release_notes():
    page = (FIXTURES / "vcf-9-0-0-release-notes.html").read_bytes()

    seen = REGISTRY["vcf_bom"].parse(page, url=VCF_90, product=Product.VCF)
    other = REGISTRY["vcf_bom"].parse(b"<html><body><p>Nothing here</p></body></html>", url=VCF_90, product=Product.VCF)

    assert (seen.vcf_releases, seen.records, seen.problem) == (
        (read("vcf-9-0-0-release-notes.html", VCF_90),),
        (),
        None,
    )
    assert other.problem is not None and "not a VCF release-notes page" in other.problem
