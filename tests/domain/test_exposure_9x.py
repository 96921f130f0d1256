"""Issue 12: exposure speaks of a 9.x host's line as the vendor names it, "ESX 9.0", never "ESXi 9.0"."""

from datetime import UTC, datetime

from tracker.domain.catalog import BuildStatus, Catalog, Entry
from tracker.domain.events import Confidence
from tracker.domain.exposure import Assessor, Status
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product

ESX_90_GA, ESX_90_EP1 = 24755229, 24813472  # ESX 9.0.0.0 (2025-06-17) and 9.0.0.0100 (2025-07-15)


def esx_catalog(pulled: int | None = None) -> Catalog:
    result = Catalog()
    for build, name, released in (
        (ESX_90_GA, "ESX 9.0.0.0", "2025-06-17"),
        (ESX_90_EP1, "ESX 9.0.0.0100", "2025-07-15"),
    ):
        release = parse_release(name, Product.ESXI)
        seen = datetime.fromisoformat(released).replace(tzinfo=UTC)
        entry = Entry(Product.ESXI, build, release, release.name, seen, release_date=released)
        if build == pulled:
            entry.status, entry.pull_confidence = BuildStatus.PULLED, Confidence.HIGH
        result.add_entry(entry)
    return result


def esx_host(build: int) -> Asset:
    return Asset("esx9-01", AssetKind.ESXI, build, f"VMware ESX 9.0.0 build-{build}", cluster="vcf-mgmt")


def test_a_9x_host_on_a_pulled_build_is_told_there_is_no_newer_esx_9_0_build():
    exposure = Assessor(esx_catalog(pulled=ESX_90_EP1), datetime(2025, 9, 1, 8, tzinfo=UTC)).assess(
        esx_host(ESX_90_EP1)
    )
    assert exposure.statuses == (Status.PULLED,)
    assert exposure.hold is not None and "no newer ESX 9.0 build exists yet" in exposure.hold


def test_an_unknown_9x_build_names_the_esx_line():
    exposure = Assessor(esx_catalog(), datetime(2025, 9, 1, 8, tzinfo=UTC)).assess(esx_host(24999999))
    assert exposure.statuses == (Status.UNKNOWN_BUILD,)
    assert "build 24999999 (ESX 9.0) is not in the catalog" in exposure.reasons
