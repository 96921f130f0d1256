"""Issue 12: the sources read the vSphere 9 spellings (ESX for ESXi, vCenter without "Server"), never a misread."""

from datetime import date

import pytest

from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product, Release
from tracker.sources import depot_index, download_listing, release_notes

ESXI, VCENTER = Product.ESXI, Product.VCENTER
DEPOT = "https://dl.broadcom.com/TOKEN/PROD/COMP/ESX_HOST/main/vmw/vmw-ESX-9.0.0-metadata.zip"


def vmware_xml(*profiles: str) -> bytes:
    entries = "".join(
        f"<imageProfile><name>{name}</name><vibList><vibID>VMware_bootbank_esx-base_x</vibID></vibList></imageProfile>"
        for name in profiles
    )
    return f"<?xml version='1.0' encoding='utf-8'?><metadataResponse>{entries}</metadataResponse>".encode()


def test_the_depot_reads_9x_image_profiles_named_esx_as_well_as_esxi():
    page = vmware_xml(
        "ESX-9.0.0.0100-24813472-standard",  # the 9.x rename (KB 395110)
        "ESX-9.0.0.0100-24813472-no-tools",
        "ESXi-9.0.1.0-24957456-standard",
        "ESXi-8.0U3e-24674464-standard",
        "ESX-Mellanox-addon-standard",  # a vendor add-on profile is not ours
    )
    result = depot_index.parse(page, url=DEPOT.replace("vmw-ESX-9.0.0-metadata.zip", "vmware.xml"), product=ESXI)
    assert (result.problem, result.skipped) == (None, ())
    assert [(r.build, r.release, r.excerpt) for r in result.records] == [
        (24674464, Release(ESXI, 8, 0, 3, "e"), "ESXi-8.0U3e-24674464-standard"),
        (
            24813472,
            parse_release("ESX 9.0.0.0100", ESXI),
            "ESX-9.0.0.0100-24813472-no-tools, ESX-9.0.0.0100-24813472-standard",
        ),
        (24957456, parse_release("ESX 9.0.1.0", ESXI), "ESXi-9.0.1.0-24957456-standard"),
    ]
    assert [r.release_name for r in result.records][1:] == ["ESX 9.0.0.0100", "ESX 9.0.1.0"]


def test_a_download_page_offers_9x_files_named_esx():
    page = b"""<html><body><table><tr><th>File Name</th><th>Release Date</th></tr>
    <tr><td>VMware-ESX-9.0.0.0100-24813472-depot.zip</td><td>2025-07-15</td></tr>
    <tr><td>VMware-VMvisor-Installer-9.0.1.0.x86_64-24957456.iso</td><td>2025-09-29</td></tr>
    </table></body></html>"""
    result = download_listing.parse(page, url="https://support.broadcom.com/esx-9.html", product=ESXI)
    assert [(r.build, r.release, r.release_date) for r in result.records] == [
        (24813472, parse_release("ESX 9.0.0.0100", ESXI), date(2025, 7, 15)),
        (24957456, parse_release("ESX 9.0.1.0", ESXI), date(2025, 9, 29)),
    ]


@pytest.mark.parametrize(
    ("header", "product", "build", "release"),
    [
        ("VMware vCenter 9.0.1.0 | 29 SEP 2025 | Build 24957454", VCENTER, 24957454, "vCenter 9.0.1.0"),
        ("VMware ESX 9.0.1.0 | 29 SEP 2025 | Build 24957456", ESXI, 24957456, "ESX 9.0.1.0"),
    ],
)
def test_9x_release_notes_headers_are_read(header: str, product: Product, build: int, release: str):
    page = (
        "<html><body><h2>Introduction</h2><table><tr><td>"
        f"{header} Check for additions and updates to these release notes.</td></tr></table></body></html>"
    ).encode()
    result = release_notes.parse(page, url="https://techdocs.broadcom.com/notes.html", product=product)
    assert result.problem is None
    assert [(r.build, r.release, r.release_date) for r in result.records] == [
        (build, parse_release(release, product), date(2025, 9, 29))
    ]
