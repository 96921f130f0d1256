"""vSphere 9 and the spellings issue 12 found refused or misread: every form by name, then the order.

Sources of the spellings: Broadcom KB 395110 (ESX's VCF versioning and its 8.0 comparison table), KB 410435
(unified VCF versions: 9.0.0.0, 9.2.1.0100, hot patch 9.2.1.0104), KB 2143838 (vCenter 6.7 appliance
versions and 6.5 express patches, as William Lam's Get-VCVersion copied its table), the issue's own rows.
"""

import itertools
from dataclasses import dataclass

import pytest

from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, Release, VersionError

E, V = Product.ESXI, Product.VCENTER


@dataclass(frozen=True)
class Reads:
    """What an admin reads in a spelling. `letter` None: the spelling does not say (see Release)."""

    product: Product
    line: str
    update: int
    letter: str | None
    patch: str = ""
    appliance: int | None = None


def _reads(release: Release) -> Reads:
    return Reads(release.product, release.line, release.update, release.letter, release.patch, release.appliance)


# --- 9.x release names ----------------------------------------------------------------------------------------
# (text, the product the caller knows, what it reads as, the name the tracker prints)
VCF_RELEASES: list[tuple[str, Product | None, Reads, str]] = [
    # maintenance releases have a single 0 in the EEHH place (KB 395110); issue 12, pattern 1
    ("VMware ESX 9.0.1.0", None, Reads(E, "9.0", 1, ""), "ESX 9.0.1.0"),
    ("vCenter Server 9.0.2.0", None, Reads(V, "9.0", 2, ""), "vCenter Server 9.0.2.0"),
    ("ESX 9.0.0.0", None, Reads(E, "9.0", 0, ""), "ESX 9.0.0.0"),
    ("9.2.1.0", E, Reads(E, "9.2", 1, ""), "ESX 9.2.1.0"),  # KB 410435's maintenance release
    ("9.1.0.0", V, Reads(V, "9.1", 0, ""), "vCenter Server 9.1.0.0"),  # KB 410435's minor version
    ("ESX 9.0.0.0000", None, Reads(E, "9.0", 0, ""), "ESX 9.0.0.0"),  # "or more accurately 9.0.0.0000"
    ("ESX 9.0", None, Reads(E, "9.0", 0, ""), "ESX 9.0.0.0"),  # the major release itself
    # express and hot patches: EEHH (KB 395110, KB 410435); pattern 3
    ("ESX 9.0.0.0100", None, Reads(E, "9.0", 0, "", "0100"), "ESX 9.0.0.0100"),
    ("9.2.1.0100", E, Reads(E, "9.2", 1, "", "0100"), "ESX 9.2.1.0100"),
    ("9.2.1.0101", E, Reads(E, "9.2", 1, "", "0101"), "ESX 9.2.1.0101"),
    ("9.2.1.0104", E, Reads(E, "9.2", 1, "", "0104"), "ESX 9.2.1.0104"),
    ("ESX 9.1.0.0200", None, Reads(E, "9.1", 0, "", "0200"), "ESX 9.1.0.0200"),
    # three fields, as a host or a terse page writes them: the EEHH is not stated, so it stays unknown
    ("vCenter Server 9.0.2", None, Reads(V, "9.0", 2, None), "vCenter Server 9.0.2"),
    ("ESX 9.0.1", None, Reads(E, "9.0", 1, None), "ESX 9.0.1"),
]


@pytest.mark.parametrize(("text", "given", "reads", "name"), VCF_RELEASES, ids=repr)
def test_every_9x_release_spelling_parses_and_prints_in_the_vendors_form(
    text: str, given: Product | None, reads: Reads, name: str
) -> None:
    release = parse_release(text, given)
    assert _reads(release) == reads
    assert release.name == name
    assert parse_release(release.name) == release


def test_a_9x_maintenance_release_keeps_its_trailing_zero_when_printed() -> None:
    assert parse_release("VMware ESX 9.0.1.0").short == "9.0.1.0"
    assert str(Build(E, 24957456, parse_release("ESX 9.0.1.0"))) == "ESX 9.0.1.0 (24957456)"
    assert parse_release("vCenter Server 9.0.2.0").name != "vCenter Server 9.0.2"


# --- 9.x builds: image profiles, files, component versions, hosts ------------------------------------------------
# (text, product, build number, what it reads as); pattern 2
VCF_BUILDS: list[tuple[str, Product, int, Reads]] = [
    ("ESXi-9.0.0.0100-24813472-standard", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("ESXi-9.0.0.0100-24813472-no-tools", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("ESX-9.0.0.0100-24813472-standard", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("ESXi-9.0.0.0-24755229-standard", E, 24755229, Reads(E, "9.0", 0, "")),
    ("VMware-VMvisor-Installer-9.0.0.0100.x86_64-24813472.iso", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("VMware-VMvisor-Installer-9.0.0.0100-24813472.x86_64.iso", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("VMware-VMvisor-Installer-9.0.0.0.24755229.x86_64.iso", E, 24755229, Reads(E, "9.0", 0, "")),
    ("VMware-ESX-9.0.0.0100-24813472-depot.zip", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
    ("VMware-ESX-9.0.0.0.24755229-depot.zip", E, 24755229, Reads(E, "9.0", 0, "")),
    ("VMware-VCSA-all-9.0.2.0-25148086.iso", V, 25148086, Reads(V, "9.0", 2, "")),
    ("VMware-VCSA-all-9.0.2.0.25148086.iso", V, 25148086, Reads(V, "9.0", 2, "")),
    # a file without the EEHH field names the maintenance release but not its patch level
    ("ESXi-9.0.0-24755229-standard", E, 24755229, Reads(E, "9.0", 0, None)),
    # full versions (KB 395110's table) and the hyphenated low-level form of VIB and component metadata
    ("9.0.0.0.12345678", E, 12345678, Reads(E, "9.0", 0, "")),
    ("9.2.1.0101.56789012", E, 56789012, Reads(E, "9.2", 1, "", "0101")),
    ("9.0.1-0101.12345678", E, 12345678, Reads(E, "9.0", 1, "", "0101")),
    ("9.0.1.0101.12345678", E, 12345678, Reads(E, "9.0", 1, "", "0101")),
    ("9.0.0-0.24755229", E, 24755229, Reads(E, "9.0", 0, "")),
    # hosts say major.minor.maintenance: the same on 9.0.0.0 and 9.0.0.0100, so the EEHH is unknown
    ("VMware ESX 9.0.0 build-24755229", E, 24755229, Reads(E, "9.0", 0, None)),
    ("VMware ESXi 9.0.0 build-24813472", E, 24813472, Reads(E, "9.0", 0, None)),
    ("VMware vCenter Server 9.0.2 build-25148086", V, 25148086, Reads(V, "9.0", 2, None)),
    ("VMware ESX 9.0.0.0100 build-24813472", E, 24813472, Reads(E, "9.0", 0, "", "0100")),
]


@pytest.mark.parametrize(("text", "product", "number", "reads"), VCF_BUILDS, ids=repr)
def test_every_9x_build_spelling_keeps_its_build_line_and_patch_level(
    text: str, product: Product, number: int, reads: Reads
) -> None:
    build = parse_build(text, product)
    assert (build.product, build.number) == (product, number)
    assert build.release is not None
    assert _reads(build.release) == reads
    assert parse_build(text) == build  # the product named in the text is the same


def test_the_misread_image_profile_of_issue_12_is_line_90_not_00() -> None:
    build = parse_build("ESXi-9.0.0.0100-24813472-standard", E)
    assert build.line == "9.0"
    assert str(build) == "ESX 9.0.0.0100 (24813472)"


# --- the ESX / ESXi rename --------------------------------------------------------------------------------------
def test_esxi_and_esx_are_one_product_named_as_the_vendor_names_each_line() -> None:
    esx = parse_release("VMware ESX 9.0.1.0")
    esxi = parse_release("ESXi 8.0 Update 3")
    assert esx.product is esxi.product is Product.ESXI
    assert (esxi.product_label, esx.product_label) == ("ESXi", "ESX")
    assert parse_release("ESXi 9.0.1.0") == esx  # the old name still reads as the same product
    assert Product.ESXI.label_for(8) == "ESXi" and Product.ESXI.label_for(9) == "ESX"
    assert Product.VCENTER.label_for(9) == "vCenter Server"


# --- 8.0 hot patches and KB 395110's aliases; "Express Patch" spelled out; vCenter 6.7 appliances -------------
OLDER_RELEASES: list[tuple[str, Product | None, Reads]] = [
    # KB 395110's own table (pattern 3)
    ("8.0 U2b Hot Patch 1", E, Reads(E, "8.0", 2, "b", "HP01")),
    ("8.0 U2b / P03", E, Reads(E, "8.0", 2, "b", "P03")),
    ("8.0 U2c / EP2", E, Reads(E, "8.0", 2, "c", "EP02")),
    ("8.0 U2 / Update 2", E, Reads(E, "8.0", 2, "")),
    ("ESXi 8.0 GA Hot Patch 1", None, Reads(E, "8.0", 0, "", "HP01")),
    # "Express Patch" and "Patch" spelled out (pattern 5; KB 2143838 and 2143832 rows)
    ("vCenter Server Appliance 6.5.0e Express Patch 3", None, Reads(V, "6.5", 0, "e", "EP03")),
    ("vCenter 6.5 0e Express Patch 3", None, Reads(V, "6.5", 0, "e", "EP03")),
    ("vCenter 6.5 0d Express Patch 2", None, Reads(V, "6.5", 0, "d", "EP02")),
    ("vCenter 6.5.0c Express Patch 1b", None, Reads(V, "6.5", 0, "c", "EP01b")),
    ("vCenter 6.5.0a Express Patch 01", None, Reads(V, "6.5", 0, "a", "EP01")),
    ("ESXi 6.5 U1 Express Patch 4", None, Reads(E, "6.5", 1, None, "EP04")),
    ("ESXi 6.0 U1a Express Patch 3", None, Reads(E, "6.0", 1, "a", "EP03")),
    ("ESXi 6.7 Express Patch 10", None, Reads(E, "6.7", 2, None, "EP10")),
    # vCenter 6.7 appliance versions say 6.7.0 and count the update in the tail, one up (pattern 4; KB 2143838)
    ("vCenter Appliance 6.7 Update 3m (6.7.0.47000)", None, Reads(V, "6.7", 3, "m", appliance=47000)),
    ("vCenter Appliance 6.7 Update 3j (6.7.0.45000)", None, Reads(V, "6.7", 3, "j", appliance=45000)),
    ("vCenter Appliance 6.7 Update 3f (6.7.0.43000)", None, Reads(V, "6.7", 3, "f", appliance=43000)),
    ("vCenter Appliance 6.7 Update 3a (6.7.0.41000)", None, Reads(V, "6.7", 3, "a", appliance=41000)),
    ("vCenter Appliance 6.7 Update 2c (6.7.0.32000)", None, Reads(V, "6.7", 2, "c", appliance=32000)),
    ("vCenter Appliance 6.7 U2 (6.7.0.30000)", None, Reads(V, "6.7", 2, "", appliance=30000)),
    ("vCenter Appliance 6.7 U1b (6.7.0.21000)", None, Reads(V, "6.7", 1, "b", appliance=21000)),
    ("vCenter Appliance 6.7 U1a (6.7.0.20100)", None, Reads(V, "6.7", 1, "a", appliance=20100)),
    ("vCenter Appliance 6.7 U1 (6.7.0.20000)", None, Reads(V, "6.7", 1, "", appliance=20000)),
    ("vCenter Appliance 6.7d (6.7.0.14000)", None, Reads(V, "6.7", 0, "d", appliance=14000)),
    ("vCenter Appliance 6.7 (6.7.0.10000)", None, Reads(V, "6.7", 0, "", appliance=10000)),
    ("6.7.0.47000", V, Reads(V, "6.7", 3, None, appliance=47000)),
]


@pytest.mark.parametrize(("text", "given", "reads"), OLDER_RELEASES, ids=repr)
def test_every_hot_patch_alias_express_patch_and_67_appliance_spelling_parses(
    text: str, given: Product | None, reads: Reads
) -> None:
    release = parse_release(text, given)
    assert _reads(release) == reads
    assert parse_release(release.name) == release


def test_a_67_appliance_version_prints_as_the_vami_shows_it() -> None:
    assert parse_release("vCenter Appliance 6.7 Update 3m (6.7.0.47000)").name == "vCenter Server 6.7 U3m (6.7.0.47000)"
    assert parse_release("6.7.0.47000", V).name == "vCenter Server 6.7.0.47000"
    assert parse_release("6.7.0.47000", V).appliance_version == "6.7.0.47000"
    assert parse_release("7.0.3.00300").appliance_version == "7.0.3.00300"


def test_a_hot_patch_prints_as_the_vendor_writes_it() -> None:
    assert parse_release("8.0 U2b Hot Patch 1", E).name == "ESXi 8.0 U2b Hot Patch 1"


# --- what the grammar refuses rather than guesses ----------------------------------------------------------------
REFUSED: list[tuple[str, Product | None]] = [
    ("ESX 9.0 U1", None),  # KB 395110: the U-aliases are gone from 9.0
    ("ESX 9.0.1a", None),
    ("ESX 9.0 EP 1", None),
    ("ESX 9.0.1.1", None),  # the EEHH field is a single 0 or four digits
    ("ESX 9.0.1.010", None),
    ("ESX 9.0.1.00100", None),
    ("ESX 9.0.1.0.0", None),
    ("ESXi 7.0.3.0100", None),  # only 9.x has an EEHH field
    ("ESXi 6.5 Patch 02", None),  # 6.5 P02 sits on U1; the label does not say so
    ("ESXi 6.0 Express Patch 7c", None),
    ("ESXi 6.5 EP 15", None),
    ("vCenter Appliance 6.7 U1 (6.7.0.47000)", None),  # 47000 is U3
    ("vCenter Appliance 6.7 (6.7.1.10000)", None),  # 6.7 appliances always say 6.7.0
    ("vCenter Appliance 6.7 (6.7.0.05000)", None),
    ("vCenter Server 9.0.2 (9.0.2.00100)", None),
    ("8.0 U2 / Update 3", E),
    ("8.0 U2b / U2c", E),
    ("9.0.1.0", None),  # ESX and vCenter Server share the number: which one?
]


@pytest.mark.parametrize(("text", "product"), REFUSED, ids=repr)
def test_a_spelling_the_grammar_cannot_place_is_refused_never_guessed(text: str, product: Product | None) -> None:
    with pytest.raises(VersionError) as caught:
        parse_release(text, product)
    assert repr(text) in str(caught.value)


BUILDS_REFUSED = [
    "ESXi-9.0.0.01-24813472-standard",
    "ESXi-9.0.0.00100-24813472-standard",
    "VMware-ESX-9.0U1-24813472-depot.zip",
    "9.0.1-01.12345678",
    "9.0.1.0101.123456",
    "ESXi90U1-24813472",
]


@pytest.mark.parametrize("text", BUILDS_REFUSED, ids=repr)
def test_a_9x_build_spelling_the_grammar_cannot_place_is_refused(text: str) -> None:
    with pytest.raises(VersionError):
        parse_build(text, E)


def test_no_release_with_an_impossible_line_can_be_built() -> None:
    with pytest.raises(VersionError):
        Release(E, 0, 0, 100)
    with pytest.raises(VersionError):
        Release(E, 9, 0, 0, "c")
    with pytest.raises(VersionError):
        Release(E, 9, 0, 0, patch="100")


# --- the order: 8.0 before 9.x; within 9.x maintenance, then express patch, then hot patch ------------------------
# Sorted by hand. 8.0 U2b Hot Patch 1 (build 23465881) came after 8.0 U2b / P03 (23305546) and before
# 8.0 U2c / EP2 (23825572), as KB 395110's table lists them.
IN_ORDER = [
    "ESXi 8.0 GA",
    "ESXi 8.0 Update 2",
    "ESXi 8.0 U2b / P03",
    "ESXi 8.0 U2b Hot Patch 1",
    "ESXi 8.0 U2c / EP2",
    "ESXi 8.0 Update 3",
    "ESXi 8.0 Update 3e",
    "ESX 9.0.0.0",
    "ESX 9.0.0.0100",
    "ESX 9.0.0.0101",
    "ESX 9.0.0.0199",
    "ESX 9.0.0.0200",
    "ESX 9.0.1.0",
    "ESX 9.0.1.0101",
    "ESX 9.0.2.0",
    "ESX 9.1.0.0",
    "ESX 9.2.0.0",
    "ESX 9.2.1.0",
    "ESX 9.2.1.0100",
    "ESX 9.2.1.0101",
    "ESX 9.2.1.0104",
    "ESX 9.2.1.0200",
    "ESX 9.2.2.0",
    "ESX 10.0.0.0",
]


@pytest.mark.parametrize(("earlier", "later"), list(itertools.combinations(IN_ORDER, 2)), ids=repr)
def test_every_earlier_release_in_the_hand_sorted_8x_9x_list_orders_before_every_later_one(
    earlier: str, later: str
) -> None:
    first, second = parse_release(earlier), parse_release(later)
    assert first < second and not second < first
    assert first.sort_key < second.sort_key


def test_sorting_the_8x_and_9x_releases_in_any_order_gives_the_hand_sorted_list() -> None:
    releases = [parse_release(name) for name in IN_ORDER]
    assert sorted(reversed(releases)) == releases
    assert sorted(releases[1::2] + releases[::2]) == releases


def test_9x_builds_order_by_release_not_by_build_number() -> None:
    builds = [
        parse_build("ESXi-9.0.0.0-24755229-standard"),
        parse_build("ESXi-9.0.0.0100-24813472-standard"),
        parse_build("ESXi-9.0.1.0-24957456-standard"),
        parse_build("VMware-ESX-9.0.1.0100-24900000-depot.zip"),  # a smaller number, a later release
    ]
    assert sorted(reversed(builds)) == builds
    assert [b.release.short if b.release else "" for b in builds] == ["9.0.0.0", "9.0.0.0100", "9.0.1.0", "9.0.1.0100"]


def test_a_9x_host_version_orders_with_its_maintenance_release_without_being_equal_to_it() -> None:
    host = parse_build("VMware ESX 9.0.1 build-24957456").release
    release = parse_release("ESX 9.0.1.0")
    assert host is not None and host != release
    assert host.sort_key == release.sort_key
    assert host < parse_release("ESX 9.0.1.0100")
    assert host > parse_release("ESX 9.0.0.0200")


def test_a_maintenance_release_shares_no_update_line_with_the_next_one() -> None:
    assert parse_release("ESX 9.0.1.0").update_line == parse_release("ESX 9.0.1.0101").update_line
    assert parse_release("ESX 9.0.1.0").update_line != parse_release("ESX 9.0.2.0").update_line
