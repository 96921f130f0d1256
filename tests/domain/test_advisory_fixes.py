"""An advisory's fixed versions as exposure reads them: resolved through the catalog, or `advisory_unmapped`."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tracker.domain.advisories import StoredAdvisory, for_exposure, observe_advisories, unmapped_fixes
from tracker.domain.catalog import Catalog, Entry, SourceState
from tracker.domain.exposure import Assessor, FixedIn, Status, Unresolved
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Build, Product, Release, VersionError

ESXI = Product.ESXI
NOW = datetime(2022, 3, 1, 8, tzinfo=UTC)
KB = {  # build -> release name, as the KB lists them
    19193900: "ESXi 7.0 Update 3c",
    19290878: "ESXi 7.0 Update 2e",
    18538813: "ESXi 7.0 Update 2d",
    18828794: "ESXi670-202111001",
}


def catalog() -> Catalog:
    result = Catalog()
    for build, name in KB.items():
        release = Release.parse(name, ESXI)
        result.add_entry(Entry(ESXI, build, release, name, datetime(2022, 2, 1, tzinfo=UTC), release_date="2022-02-01"))
    return result


def fix(text: str, line: str = "7.0") -> AdvisoryFix:
    try:
        build: Build | None = Build.parse(text, ESXI)
    except VersionError:
        build = None
    return AdvisoryFix(ESXI, line, text, build)


def stored(*fixes: AdvisoryFix, withdrawn: bool = False) -> StoredAdvisory:
    record = AdvisoryRecord("VMSA-2022-0004", 0, "ESXi updates", "critical", "https://x/a", fixes=fixes)
    return StoredAdvisory(replace(record, withdrawn=withdrawn), "vmsa", NOW)


@pytest.mark.parametrize(
    ("text", "line", "resolved"),
    [
        ("ESXi70U3c-19193900", "7.0", FixedIn(Release.parse("ESXi 7.0 Update 3c"), 19193900)),
        ("ESXi70U1e-19324898", "7.0", FixedIn(Release.parse("ESXi 7.0 Update 1e"), 19324898)),  # not in the KB
        ("7.0 U3c", "7.0", FixedIn(Release.parse("ESXi 7.0 Update 3c"), None)),
        ("ESXi670-202111001", "6.7", FixedIn(Release.parse("ESXi670-202111001", ESXI), 18828794)),  # via the KB
    ],
)
def test_a_fix_resolves_through_the_catalog_or_the_patch_level_its_text_states(text: str, line: str, resolved):
    [advisory] = for_exposure([stored(fix(text, line))], catalog())
    assert (advisory.fixed, advisory.unmapped) == ((resolved,), ())
    assert unmapped_fixes([stored(fix(text, line))], catalog()) == []


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("ESXi 7.0 hot-patch HP-4711", "7.0", "a spelling the tracker cannot read"),
        ("ESXi670-202111101-SG", "6.7", "no patch release of that month is in the catalog yet"),
        ("VMware ESXi 7.0.3 build-19482537", "7.0", "build 19482537 is not in the catalog and the text does not say"),
    ],
)
def test_a_fix_nothing_places_is_unmapped_with_its_reason_and_still_reaches_exposure(text: str, line: str, reason):
    advisory = stored(fix("ESXi70U3c-19193900"), fix(text, line))
    [unmapped] = unmapped_fixes([advisory], catalog())
    assert unmapped.warning.startswith(f"advisory_unmapped: VMSA-2022-0004 ESXi {line} fixed in {text!r}: {reason}")
    [for_hosts] = for_exposure([advisory], catalog())
    assert for_hosts.unmapped == (Unresolved(ESXI, line, text),)


def test_an_advisory_whose_only_fix_is_unmapped_is_not_dropped_and_its_hosts_hear_of_it():
    only = stored(fix("ESXi 7.0 hot-patch HP-4711"))
    advisories = for_exposure([only], catalog())
    exposure = Assessor(catalog(), NOW, advisories=advisories).assess(
        Asset("esx-u2d", AssetKind.ESXI, 18538813, "VMware ESXi 7.0.2 build-18538813")
    )
    assert Status.VULNERABLE not in exposure.statuses  # no guess: the fix cannot be placed
    assert any("names a fix for ESXi 7.0 that could not be mapped" in r for r in exposure.reasons)


def test_a_withdrawn_advisory_raises_no_warning():
    assert unmapped_fixes([stored(fix("ESXi 7.0 hot-patch HP-4711"), withdrawn=True)], catalog()) == []


def test_the_advisory_event_says_which_fixed_versions_could_not_be_mapped():
    source = SourceState("vmsa", "advisory_feed", "https://x/a", ESXI, SourceRole.ADVISORY, NOW, baselined=True)
    record = stored(fix("ESXi70U3c-19193900"), fix("ESXi 7.0 hot-patch HP-4711")).record
    _, [event] = observe_advisories({}, [record], source, quiet=False, now=NOW)
    assert event.detail.endswith("; fixed versions not mapped to builds: ESXi 7.0 'ESXi 7.0 hot-patch HP-4711'")
