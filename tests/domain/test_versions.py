"""Every spelling of a build and a release in PRODUCT.md 2.1, and every row of tests/data/vmware-builds.csv.

The expected values for the data rows are read by hand rules stated below, never by calling the parser.
"""

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, Release, VersionError, product_from_text

DATA = Path(__file__).resolve().parent.parent / "data" / "vmware-builds.csv"
PRODUCTS = {"ESXi": Product.ESXI, "vCenter Server": Product.VCENTER}


@dataclass(frozen=True)
class Row:
    product: Product
    version_label: str
    release_name: str
    build: int
    released: date


def _load_rows() -> list[Row]:
    with DATA.open(newline="", encoding="utf-8") as handle:
        return [
            Row(
                PRODUCTS[raw["product"]],
                raw["version_label"],
                raw["release_name"],
                int(raw["build"]),
                date.fromisoformat(raw["release_date"]),
            )
            for raw in csv.DictReader(handle)
        ]


ROWS = _load_rows()


def _row_id(row: Row) -> str:
    return f"{row.product.value}-{row.build}"


@dataclass(frozen=True)
class Expected:
    """What a human reads in a spelling. `letter` None: the spelling does not say which patch letter."""

    line: str
    update: int
    letter: str | None
    security_only: bool = False
    patch: str = ""
    appliance: int | None = None


# --- hand rules for the data ----------------------------------------------------------------------------------
# 6.7 patches carry no update in their name; a patch belongs to the last 6.7 update released on or before it.
# The update dates come from the data itself (the rows named "ESXi 6.7 U1", "ESXi 6.7 U2", "ESXi 6.7 U3").
UPDATES_67 = sorted(r.released for r in ROWS if r.release_name in {"ESXi 6.7 U1", "ESXi 6.7 U2", "ESXi 6.7 U3"})


def _update_67_on(day: date) -> int:
    return sum(1 for released in UPDATES_67 if released <= day)


# Release names:
#   "<product> L GA"                      -> update 0, letter ""
#   "<product> L<x>" or "<product> L.0<x>" -> update 0, letter x            (ESXi 8.0d, vCenter Server 7.0.0a)
#   "<product> L Update N<x>" / "L UN<x>" -> update N, letter x or ""
#   "... (Security Only)" in any case     -> security-only
#   "ESXi670-YYYYMMNNN" (also "ESXi 670-") -> 6.7 patch id YYYYMMNNN; letter unknown; update by date (above)
NAME_GA = re.compile(r"(?P<line>\d\.\d) GA")
NAME_GA_LETTER = re.compile(r"(?P<line>\d\.\d)(?:\.0)?(?P<letter>[a-z])")
NAME_UPDATE = re.compile(r"(?P<line>\d\.\d) (?:Update |U)(?P<update>\d)(?P<letter>[a-z]?)")
NAME_PATCH_ID = re.compile(r"ESXi ?670-(?P<patch>\d{9})")


def _expected_from_name(row: Row) -> Expected:
    name = row.release_name
    if patch_id := NAME_PATCH_ID.fullmatch(name):
        return Expected("6.7", _update_67_on(row.released), None, patch=patch_id["patch"])
    security = "(security only)" in name.lower()
    body = name[: name.lower().index(" (security only)")] if security else name
    body = body.removeprefix(f"{row.product.label} ")
    if match := NAME_GA.fullmatch(body):
        return Expected(match["line"], 0, "", security)
    if match := NAME_GA_LETTER.fullmatch(body):
        return Expected(match["line"], 0, match["letter"], security)
    if match := NAME_UPDATE.fullmatch(body):
        return Expected(match["line"], int(match["update"]), match["letter"], security)
    raise AssertionError(f"no hand rule reads the release name {name!r}")


# Version labels (the KB's "Version" column):
#   empty                                 -> nothing to check
#   the same text as the release name     -> as the release name
#   "ESXi L.N"                            -> update N, letter unknown (a host-style version)
#   "ESXi L.N EPk" / "ESXi L.N Pkk"       -> update N, letter unknown, patch EPkk / Pkk (7.0.1 EP1 is U1a)
#   "ESXi L.N UN<x>"                      -> update N, letter x
#   "ESXi L<x>" / "ESXi L.0<x>"           -> update 0, letter x
#   "ESXi 6.7 EP kk<x>" / "ESXi 6.7 Pkk"  -> 6.7 update by date (above), letter unknown, patch EPkk<x> / Pkk
#   "ESXi 6.7 Pkk (Update N<x>)"          -> update N, letter x, patch Pkk
#   "ESXi 6.7 GA" / "U1" / "Update 3"     -> as a release name
#   vCenter "L.N.AAAAA"                   -> update N, letter unknown, appliance AAAAA
LABEL_HOST = re.compile(r"ESXi (?P<line>\d\.\d)\.(?P<update>\d)")
LABEL_PATCH = re.compile(r"ESXi (?P<line>\d\.\d)\.(?P<update>\d) (?P<kind>EP|P)(?P<number>\d+)")
LABEL_UPDATE = re.compile(r"ESXi (?P<line>\d\.\d)\.(?P<update>\d) U(?P=update)(?P<letter>[a-z])")
LABEL_GA_LETTER = re.compile(r"ESXi (?P<line>\d\.\d)(?:\.0)?(?P<letter>[a-z])")
LABEL_67_PATCH = re.compile(r"ESXi 6\.7 (?P<kind>EP |P)(?P<number>\d\d)(?P<sub>[a-z]?)")
LABEL_67_PATCH_UPDATE = re.compile(r"ESXi 6\.7 P(?P<number>\d\d) \(Update (?P<update>\d)(?P<letter>[a-z])\)")
LABEL_APPLIANCE = re.compile(r"(?P<line>\d\.\d)\.(?P<update>\d)\.(?P<appliance>\d{5})")


def _expected_from_label(row: Row) -> Expected:
    label = row.version_label
    if label == row.release_name:
        return _expected_from_name(row)
    if match := LABEL_HOST.fullmatch(label):
        return Expected(match["line"], int(match["update"]), None)
    if match := LABEL_PATCH.fullmatch(label):
        patch = f"{match['kind']}{int(match['number']):02d}"
        return Expected(match["line"], int(match["update"]), None, patch=patch)
    if match := LABEL_UPDATE.fullmatch(label):
        return Expected(match["line"], int(match["update"]), match["letter"])
    if match := LABEL_GA_LETTER.fullmatch(label):
        return Expected(match["line"], 0, match["letter"])
    if match := LABEL_67_PATCH.fullmatch(label):
        patch = f"{match['kind'].strip()}{match['number']}{match['sub']}"
        return Expected("6.7", _update_67_on(row.released), None, patch=patch)
    if match := LABEL_67_PATCH_UPDATE.fullmatch(label):
        return Expected("6.7", int(match["update"]), match["letter"], patch=f"P{match['number']}")
    if match := LABEL_APPLIANCE.fullmatch(label):
        return Expected(match["line"], int(match["update"]), None, appliance=int(match["appliance"]))
    if label in {"ESXi 6.7 GA", "ESXi 6.7 U1", "ESXi 6.7 U2", "ESXi 6.7 Update 3"}:
        return _expected_from_name(Row(row.product, "", label, row.build, row.released))
    raise AssertionError(f"no hand rule reads the version label {label!r}")


def _assert_reads_as(release: Release, product: Product, expected: Expected) -> None:
    assert release.product is product
    assert (release.line, release.update, release.letter) == (expected.line, expected.update, expected.letter)
    assert release.security_only is expected.security_only
    assert release.patch == expected.patch
    assert release.appliance == expected.appliance


LABELLED = [row for row in ROWS if row.version_label]
PATCH_ID_ROWS = [row for row in ROWS if NAME_PATCH_ID.fullmatch(row.release_name)]


# --- every row of the data ------------------------------------------------------------------------------------
def test_the_data_holds_the_rows_product_md_promises() -> None:
    assert len(ROWS) > 160
    assert {row.product for row in ROWS} == {Product.ESXI, Product.VCENTER}
    assert len({(row.product, row.build) for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_release_name_in_the_data_parses_to_its_product_line_update_and_letter(row: Row) -> None:
    _assert_reads_as(parse_release(row.release_name, row.product), row.product, _expected_from_name(row))


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_release_name_in_the_data_names_its_own_product(row: Row) -> None:
    assert product_from_text(row.release_name) is row.product
    assert parse_release(row.release_name) == parse_release(row.release_name, row.product)


@pytest.mark.parametrize("row", LABELLED, ids=_row_id)
def test_every_version_label_in_the_data_parses_to_its_product_line_update_and_letter(row: Row) -> None:
    _assert_reads_as(parse_release(row.version_label, row.product), row.product, _expected_from_label(row))


@pytest.mark.parametrize("row", LABELLED, ids=_row_id)
def test_a_version_label_never_contradicts_its_release_name(row: Row) -> None:
    name = parse_release(row.release_name, row.product)
    label = parse_release(row.version_label, row.product)
    assert (label.product, label.line, label.update) == (name.product, name.line, name.update)
    if label.letter is not None and name.letter is not None:
        assert label.letter == name.letter


@pytest.mark.parametrize("row", PATCH_ID_ROWS, ids=_row_id)
def test_a_67_patch_id_keeps_its_id_and_sits_on_the_update_released_before_it(row: Row) -> None:
    release = parse_release(row.release_name, row.product)
    patch_id = NAME_PATCH_ID.fullmatch(row.release_name)
    assert patch_id is not None
    assert release.patch == patch_id["patch"]
    assert release.update == _update_67_on(row.released)
    assert release.name == f"ESXi670-{patch_id['patch']}"


def test_the_67_patch_ids_cover_all_four_update_levels() -> None:
    updates = {parse_release(row.release_name).update for row in PATCH_ID_ROWS}
    assert updates == {0, 1, 2, 3}


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_release_in_the_data_survives_its_own_canonical_name_and_short_form(row: Row) -> None:
    release = parse_release(row.release_name, row.product)
    assert parse_release(release.name) == release
    assert parse_release(release.short, row.product) == release


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_build_in_the_data_is_preserved_in_a_host_version_string(row: Row) -> None:
    expected = _expected_from_name(row)
    host = f"VMware {row.product.label} {expected.line}.{expected.update} build-{row.build}"
    build = parse_build(host)
    assert (build.product, build.number) == (row.product, row.build)
    assert (build.line, build.update, build.letter) == (expected.line, expected.update, None)


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_build_in_the_data_parses_as_a_bare_number_once_the_product_is_known(row: Row) -> None:
    assert parse_build(str(row.build), row.product) == Build(row.product, row.build)


# 6.x image profiles are date-coded (ESXi-6.7.0-20191204001-standard) and carry no build: 7.0 and 8.0 only.
IMAGE_ROWS = [row for row in ROWS if row.product is Product.ESXI and row.release_name.startswith(("ESXi 7", "ESXi 8"))]


def _image_level(expected: Expected) -> str:
    """How depot image profiles spell a release: 7.0U3c, 7.0U3sd (security only), 8.0a, 7.0bs, 7.0.0 (GA)."""
    security = "s" if expected.security_only else ""
    if expected.update:
        return f"{expected.line}U{expected.update}{security}{expected.letter}"
    return f"{expected.line}{expected.letter}{security}" if expected.letter else f"{expected.line}.0"


@pytest.mark.parametrize("row", IMAGE_ROWS, ids=_row_id)
def test_every_esxi_7_and_8_build_in_the_data_survives_an_image_profile_and_a_depot_name(row: Row) -> None:
    expected = _expected_from_name(row)
    level = _image_level(expected)
    for text in (f"ESXi-{level}-{row.build}-standard", f"VMware-ESXi-{level}-{row.build}-depot.zip"):
        build = parse_build(text)
        assert (build.product, build.number) == (Product.ESXI, row.build)
        assert build.release is not None
        _assert_reads_as(build.release, Product.ESXI, expected)


# --- the spellings PRODUCT.md 2.1 lists -----------------------------------------------------------------------
E, V = Product.ESXI, Product.VCENTER

RELEASE_SPELLINGS: list[tuple[str, Product | None, Product, Expected]] = [
    ("ESXi 7.0 Update 3c", None, E, Expected("7.0", 3, "c")),
    ("7.0 U3c", E, E, Expected("7.0", 3, "c")),
    ("ESXi 7.0.3 U3c", None, E, Expected("7.0", 3, "c")),
    ("ESXi 8.0.1 U1d", None, E, Expected("8.0", 1, "d")),
    ("ESXi 8.0f", None, E, Expected("8.0", 0, "f")),
    ("ESXi 6.7 EP 17", None, E, Expected("6.7", 3, None, patch="EP17")),
    ("ESXI 6.7\xa0EP18", None, E, Expected("6.7", 3, None, patch="EP18")),
    ("ESX 9.1.0.0200", None, E, Expected("9.1", 0, "", patch="0200")),
    ("ESXi670-202111001", None, E, Expected("6.7", 3, None, patch="202111001")),
    ("ESXi670-202111101-SG", None, E, Expected("6.7", 3, None, security_only=True, patch="202111101")),
    ("ESXi70U3c-19193900", None, E, Expected("7.0", 3, "c")),
    ("ESXi80U3-24022510", None, E, Expected("8.0", 3, "")),
    ("ESXi 7.0 Update 1c (security Only)", None, E, Expected("7.0", 1, "c", security_only=True)),
    ("ESXi 6.7 P01 (Update 3b)", None, E, Expected("6.7", 3, "b", patch="P01")),
    ("ESXi 7.0.1 EP1", None, E, Expected("7.0", 1, None, patch="EP01")),
    ("7.0.3.00300", None, V, Expected("7.0", 3, None, appliance=300)),
    ("7.0.3.00300", V, V, Expected("7.0", 3, None, appliance=300)),
    ("vCenter Server 7.0 Update 2a (7.0.2.00100)", None, V, Expected("7.0", 2, "a", appliance=100)),
    ("vCenter Server 7.0.0a", None, V, Expected("7.0", 0, "a")),
    ("vCenter Server 8.0 GA", None, V, Expected("8.0", 0, "")),
]


@pytest.mark.parametrize(("text", "given", "product", "expected"), RELEASE_SPELLINGS, ids=repr)
def test_every_release_spelling_product_md_lists_parses_to_one_release(
    text: str, given: Product | None, product: Product, expected: Expected
) -> None:
    release = parse_release(text, given)
    _assert_reads_as(release, product, expected)
    assert parse_release(release.name) == release


BUILD_SPELLINGS: list[tuple[str, Product, int | None, Expected]] = [
    ("VMware ESXi 7.0.3 build-18644231", E, 18644231, Expected("7.0", 3, None)),
    ("VMware ESXi 7.0.3, build 19193900", E, 19193900, Expected("7.0", 3, None)),
    ("VMware vCenter Server 7.0.3 build-19234570", V, 19234570, Expected("7.0", 3, None)),
    ("ESXi70U3c-19193900", E, 19193900, Expected("7.0", 3, "c")),
    ("ESXi670-202111101-SG", E, None, Expected("6.7", 3, None, security_only=True, patch="202111101")),
    ("ESXi80U3-24022510", E, 24022510, Expected("8.0", 3, "")),
    ("ESXi70U3s-24585291", E, 24585291, Expected("7.0", 3, "s")),
    ("ESXi-7.0U3c-19193900-standard", E, 19193900, Expected("7.0", 3, "c")),
    ("ESXi-7.0U3c-19193900-no-tools", E, 19193900, Expected("7.0", 3, "c")),
    ("ESXi-7.0U2sc-18295176-standard", E, 18295176, Expected("7.0", 2, "c", security_only=True)),
    ("ESXi-7.0U3sd-19482531-standard", E, 19482531, Expected("7.0", 3, "d", security_only=True)),
    ("ESXi-7.0U3s-24585291-standard", E, 24585291, Expected("7.0", 3, "s")),
    ("ESXi-7.0bs-16321839-standard", E, 16321839, Expected("7.0", 0, "b", security_only=True)),
    ("ESXi-8.0sb-21203431-standard", E, 21203431, Expected("8.0", 0, "b", security_only=True)),
    ("ESXi-7.0.0-15843807-standard", E, 15843807, Expected("7.0", 0, "")),
    ("VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso", E, 19193900, Expected("7.0", 3, "c")),
    ("VMware-ESXi-7.0U3c-19193900-depot.zip", E, 19193900, Expected("7.0", 3, "c")),
    ("VMware-VMvisor-Installer-6.7.0.update03-14320388.x86_64.iso", E, 14320388, Expected("6.7", 3, None)),
    ("VMware-VCSA-all-7.0.3-19234570.iso", V, 19234570, Expected("7.0", 3, None)),
    ("VMware-VCSA-all-7.0.0-16189094.iso", V, 16189094, Expected("7.0", 0, None)),
    ("7.0.3-0.35.19482537", E, 19482537, Expected("7.0", 3, None)),
    ("9.0.1.0101.12345678", E, 12345678, Expected("9.0", 1, "", patch="0101")),
    ("7.0.3.00300", V, None, Expected("7.0", 3, None, appliance=300)),
    ("vCenter Server 7.0 Update 2a (7.0.2.00100)", V, None, Expected("7.0", 2, "a", appliance=100)),
    ("vCenter Server 7.0.0a", V, None, Expected("7.0", 0, "a")),
    ("ESXi 7.0 Update 3c", E, None, Expected("7.0", 3, "c")),
]


@pytest.mark.parametrize(("text", "product", "number", "expected"), BUILD_SPELLINGS, ids=repr)
def test_every_build_spelling_product_md_lists_parses_to_its_product_number_and_release(
    text: str, product: Product, number: int | None, expected: Expected
) -> None:
    build = parse_build(text)
    assert (build.product, build.number) == (product, number)
    assert build.release is not None
    _assert_reads_as(build.release, product, expected)
    assert parse_build(text, product) == build


def test_a_bare_build_number_needs_the_product_and_carries_no_release() -> None:
    assert parse_build("19193900", Product.ESXI) == Build(Product.ESXI, 19193900)
    assert parse_build("19193900", Product.ESXI).release is None


def test_the_canonical_names_read_as_admins_write_them() -> None:
    assert parse_release("ESXi 7.0.3 U3c").name == "ESXi 7.0 U3c"
    assert parse_release("ESXi 8.0 Update 3").short == "8.0 U3"
    assert parse_release("8.0 GA", Product.VCENTER).name == "vCenter Server 8.0 GA"
    assert parse_release("ESXi 8.0f").short == "8.0f"
    assert parse_release("ESXi 6.7 EP 17").short == "6.7 EP 17"
    assert parse_release("ESX 9.1.0.0200").name == "ESX 9.1.0.0200"
    assert parse_release("ESXi 7.0 Update 3d (security-only)").short == "7.0 U3d (Security Only)"
    assert parse_release("7.0.3.00300").name == "vCenter Server 7.0.3.00300"
    assert str(parse_build("ESXi70U3c-19193900")) == "ESXi 7.0 U3c (19193900)"


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("VMware vCenter Server 7.0.3", Product.VCENTER),
        ("VCSA 8.0 U2", Product.VCENTER),
        ("VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso", Product.ESXI),
        ("ESX 9.0", Product.ESXI),
        ("Photon OS", None),
    ],
)
def test_product_from_text_names_the_product_a_text_mentions(text: str, product: Product | None) -> None:
    assert product_from_text(text) is product


# --- what is not a release or a build -------------------------------------------------------------------------
RELEASE_NONSENSE: list[tuple[str, Product | None]] = [
    ("", None),
    ("   ", Product.ESXI),
    ("hello", None),
    ("hello", Product.ESXI),
    ("ESXi 7.0 Update 3 and 2", None),
    ("ESXi 7.0.2 U3c", None),
    ("7.0 U3c", None),
    ("vCenter Server 7.0 Update 3c", Product.ESXI),
    ("7.0.3.00300", Product.ESXI),
    ("ESXi 7.0.3.00300", None),
    ("vCenter Server 7.0 Update 2a (7.0.3.00100)", None),
    ("ESXi670-202111001", Product.VCENTER),
    ("ESXi70U3c-19193900", Product.VCENTER),
]


@pytest.mark.parametrize(("text", "product"), RELEASE_NONSENSE, ids=repr)
def test_a_text_that_names_no_single_release_raises_a_version_error_quoting_it(
    text: str, product: Product | None
) -> None:
    with pytest.raises(VersionError) as caught:
        parse_release(text, product)
    assert repr(text) in str(caught.value)


BUILD_NONSENSE: list[tuple[str, Product | None]] = [
    ("", Product.ESXI),
    ("hello", None),
    ("ESXi 7.0 Update 3 and 2", None),
    ("12345", Product.ESXI),
    ("123456789", Product.ESXI),
    ("VMware ESXi 7.0.3 build-12345", None),
    ("19193900", None),
    ("VMware vCenter Server 7.0.3 build-19234570", Product.ESXI),
    ("VMware-VCSA-all-7.0.3-19234570.iso", Product.ESXI),
    ("vCenter Server 7.0 Update 2a (7.0.2.00100)", Product.ESXI),
    ("7.0.3.00300", Product.ESXI),
]


@pytest.mark.parametrize(("text", "product"), BUILD_NONSENSE, ids=repr)
def test_a_text_that_carries_no_valid_build_raises_a_version_error_quoting_it(
    text: str, product: Product | None
) -> None:
    with pytest.raises(VersionError) as caught:
        parse_build(text, product)
    assert repr(text) in str(caught.value)


def test_a_version_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_release("hello")
