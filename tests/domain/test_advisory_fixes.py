"""An advisory's fixed versions as exposure reads them: resolved through the catalog, or `advisory_unmapped`."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tracker.domain.advisories import (
    StoredAdvisory,
    for_exposure,
    observe_advisories,
    source_warnings,
    unmapped_fixes,
)
from tracker.domain.catalog import Catalog, Entry, SourceState
from tracker.domain.exposure import Assessor, Status
from tracker.domain.fixes import FixedIn, Unresolved
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.observations import AdvisoryFix, AdvisoryRecord
from tracker.domain.roles import SourceRole
from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, VersionError

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
        release = parse_release(name, ESXI)
        result.add_entry(Entry(ESXI, build, release, name, datetime(2022, 2, 1, tzinfo=UTC), release_date="2022-02-01"))
    return result


def fix(text: str, line: str = "7.0") -> AdvisoryFix:
    try:
        build: Build | None = parse_build(text, ESXI)
    except VersionError:
        build = None
    return AdvisoryFix(ESXI, line, text, build)


def stored(*fixes: AdvisoryFix, withdrawn: bool = False) -> StoredAdvisory:
    record = AdvisoryRecord("VMSA-2022-0004", 0, "ESXi updates", "critical", "https://x/a", fixes=fixes)
    return StoredAdvisory(replace(record, withdrawn=withdrawn), "vmsa", NOW)


@pytest.mark.parametrize(
    ("text", "line", "resolved"),
    [
        ("ESXi70U3c-19193900", "7.0", FixedIn(parse_release("ESXi 7.0 Update 3c"), 19193900)),
        ("ESXi70U1e-19324898", "7.0", FixedIn(parse_release("ESXi 7.0 Update 1e"), 19324898)),  # not in the KB
        ("7.0 U3c", "7.0", FixedIn(parse_release("ESXi 7.0 Update 3c"), None)),
        ("ESXi670-202111001", "6.7", FixedIn(parse_release("ESXi670-202111001", ESXI), 18828794)),  # via the KB
        # a security bulletin belongs to the patch release of its month (KB 2083707's naming): 6.7 P06
        ("ESXi670-202111101-SG", "6.7", FixedIn(parse_release("ESXi670-202111001", ESXI), 18828794)),
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
        ("ESXi670-202004101-SG", "6.7", "no patch release of that month is in the catalog yet"),
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


def test_a_bulletin_of_a_month_with_two_patch_releases_stays_unmapped_and_says_why():
    two = catalog()
    for build, name in ((15820472, "ESXi670-202004001"), (16075168, "ESXi670-202004002")):  # 6.7 EP 14 and P02
        release = parse_release(name, ESXI)
        two.add_entry(Entry(ESXI, build, release, name, NOW, release_date="2020-04-28"))
    [unmapped] = unmapped_fixes([stored(fix("ESXi670-202004101-SG", "6.7"))], two)
    assert unmapped.reason == "2 patch releases of that month are in the catalog, and the bulletin does not say which"


def test_a_6x_host_below_the_bulletins_patch_release_is_vulnerable_and_targets_it():
    advisories = for_exposure([stored(fix("ESXi670-202111101-SG", "6.7"))], six_seven())
    older = Asset("esx-67", AssetKind.ESXI, 17700523, "VMware ESXi 6.7.0 build-17700523")  # ESXi670-202103001
    exposure = Assessor(six_seven(), NOW, advisories=advisories).assess(older)
    assert (Status.VULNERABLE in exposure.statuses, exposure.recommended_build) == (True, 18828794)
    patched = Asset("esx-67p", AssetKind.ESXI, 18828794, "VMware ESXi 6.7.0 build-18828794")
    assert Status.VULNERABLE not in Assessor(six_seven(), NOW, advisories=advisories).assess(patched).statuses


def six_seven() -> Catalog:
    result = catalog()
    release = parse_release("ESXi670-202103001", ESXI)
    result.add_entry(Entry(ESXI, 17700523, release, "ESXi670-202103001", NOW, release_date="2021-03-18"))
    return result


def pending(line: str = "7.0", text: str = "Patch Pending") -> AdvisoryFix:
    return AdvisoryFix(ESXI, line, text, None, pending=True)


@pytest.mark.parametrize("line", ["7.0", "7.x", ""])
def test_patch_pending_makes_every_host_of_the_line_vulnerable_with_no_target_and_the_hold_says_why(line: str):
    advisories = for_exposure([stored(pending(line))], catalog())
    assessor = Assessor(catalog(), NOW, advisories=advisories)
    for build in (18538813, 19193900):  # 7.0 U2d and the newest, 7.0 U3c
        exposure = assessor.assess(Asset(f"esx-{build}", AssetKind.ESXI, build, ""))
        assert Status.VULNERABLE in exposure.statuses
        assert exposure.severity.value == "critical"
        assert exposure.recommended is None
        assert exposure.hold == "hold: no fix published yet (VMSA-2022-0004, Patch Pending)"
        assert "VMSA-2022-0004 (critical) affects it: no fix published yet (Patch Pending)" in exposure.reasons
    assert unmapped_fixes([stored(pending(line))], catalog()) == []  # no fix yet is a finding, not a warning


def test_patch_pending_on_another_line_leaves_these_hosts_alone():
    advisories = for_exposure([stored(pending("6.7"))], catalog())
    exposure = Assessor(catalog(), NOW, advisories=advisories).assess(Asset("esx", AssetKind.ESXI, 18538813, ""))
    assert Status.VULNERABLE not in exposure.statuses


def test_a_revision_naming_the_fix_says_so_and_gives_the_hosts_their_target():
    first = StoredAdvisory(
        AdvisoryRecord("VMSA-2022-0004", 0, "ESXi updates", "critical", "https://x/a", fixes=(pending(),)), "vmsa", NOW
    )
    revised = AdvisoryRecord("VMSA-2022-0004", 1, "ESXi updates", "critical", "https://x/a", fixes=(fix("7.0 U3c"),))
    state = SourceState("vmsa", "advisory_feed", "https://x/feed", ESXI, SourceRole.ADVISORY, NOW)
    _, [event] = observe_advisories({"VMSA-2022-0004": first}, [revised], state, quiet=False, now=NOW)
    assert "fix published: ESXi 7.0 fixed in 7.0 U3c (was Patch Pending)" in event.detail
    exposure = Assessor(catalog(), NOW, advisories=for_exposure([replace(first, record=revised)], catalog())).assess(
        Asset("esx", AssetKind.ESXI, 18538813, "")
    )
    assert (exposure.recommended_build, exposure.hold) == (19193900, None)


def test_an_unreadable_matrix_is_a_warning_naming_the_advisory_and_its_lines_hosts_hear_fixes_are_unknown():
    unread = "a Response Matrix is on the page but its columns could not be read (header: 'Produit | Correctif')"
    row = AdvisoryFix(ESXI, "7.0", "fixes unknown (Response Matrix unread)", None)
    item = StoredAdvisory(
        AdvisoryRecord("VMSA-2022-0004", 0, "t", "critical", "https://x/a", fixes=(row,), unread=unread), "vmsa", NOW
    )
    assert source_warnings([item], catalog()) == [
        ("vmsa", f"advisory_unreadable: VMSA-2022-0004 (critical): fixes unknown: {unread}")
    ]
    advisories = for_exposure([item], catalog())
    exposure = Assessor(catalog(), NOW, advisories=advisories).assess(Asset("esx", AssetKind.ESXI, 18538813, ""))
    assert any(r.startswith("VMSA-2022-0004 (critical) may affect it: fixes unknown") for r in exposure.reasons)
    assert Status.VULNERABLE not in exposure.statuses  # not guessed either way


def test_a_page_that_can_no_longer_be_read_keeps_its_last_fixes_raises_no_event_and_is_stored_unread():
    readable = AdvisoryRecord("VMSA-2022-0004", 0, "t", "critical", "https://x/a", fixes=(fix("ESXi70U3c-19193900"),))
    known = {"VMSA-2022-0004": StoredAdvisory(readable, "vmsa", NOW)}
    broken = replace(
        readable, fixes=(), unread="the page has a Response Matrix heading but no table under it could be read"
    )
    state = SourceState("vmsa", "advisory_feed", "https://x/feed", ESXI, SourceRole.ADVISORY, NOW)
    [stored_now], events = observe_advisories(known, [broken], state, quiet=False, now=NOW)
    assert (events, stored_now.record.fixes, stored_now.record.unread) == ([], readable.fixes, broken.unread)
    again, events = observe_advisories({"VMSA-2022-0004": stored_now}, [readable], state, quiet=False, now=NOW)
    assert (events, [a.record.unread for a in again]) == ([], [""])  # readable again, same fixes: no news
