"""Generated releases and builds: every canonical spelling parses back, and the order is total."""

from hypothesis import assume, given
from hypothesis import strategies as st

from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Product, Release

LINES = [(6, 5), (6, 7), (7, 0), (8, 0)]
LETTERS = st.sampled_from(["", *"abcdefghijklmnopqrstuvwxyz"])
VSPHERE = [p for p in Product if p.vcf_numbered]  # ESXi and vCenter's grammar; Tools: tests/domain/test_tools.py
BUILD_NUMBERS = st.integers(min_value=1_000_000, max_value=99_999_999)


@st.composite
def releases(draw: st.DrawFn) -> Release:
    major, minor = draw(st.sampled_from(LINES))
    return Release(
        product=draw(st.sampled_from(VSPHERE)),
        major=major,
        minor=minor,
        update=draw(st.integers(min_value=0, max_value=3)),
        letter=draw(LETTERS),
        security_only=draw(st.booleans()),
    )


@given(releases())
def test_a_release_parses_back_from_its_canonical_name(release: Release) -> None:
    assert parse_release(release.name) == release


@given(releases())
def test_a_release_parses_back_from_its_short_form_once_the_product_is_known(release: Release) -> None:
    assert parse_release(release.short, release.product) == release


@given(releases(), releases())
def test_exactly_one_of_less_equal_or_greater_holds_for_any_two_releases(a: Release, b: Release) -> None:
    assert [a < b, a == b, b < a].count(True) == 1


@given(releases(), releases())
def test_the_release_order_agrees_with_sort_key(a: Release, b: Release) -> None:
    if a.sort_key < b.sort_key:
        assert a < b
    if a < b:
        assert a.sort_key <= b.sort_key


@given(releases(), releases(), releases())
def test_the_release_order_is_transitive(a: Release, b: Release, c: Release) -> None:
    low, mid, high = sorted([a, b, c])
    assert low <= mid <= high
    assert low <= high


@given(st.sampled_from(LINES), st.integers(min_value=0, max_value=9), BUILD_NUMBERS)
def test_a_host_version_string_keeps_its_build_number_and_update(
    line: tuple[int, int], update: int, number: int
) -> None:
    major, minor = line
    build = parse_build(f"VMware ESXi {major}.{minor}.{update} build-{number}")
    assert (build.product, build.number) == (Product.ESXI, number)
    assert (build.line, build.update) == (f"{major}.{minor}", update)


def _image_level(line: str, update: int, letter: str, security: bool) -> str:
    """How depot image profiles and files spell a level: 7.0U3c, 7.0U3sd, 8.0a, 7.0bs, 8.0U3, 7.0.0 (GA)."""
    s = "s" if security else ""
    if update:
        return f"{line}U{update}{s}{letter}"
    return f"{line}{letter}{s}" if letter else f"{line}.0"


LEVELS = st.tuples(
    st.sampled_from(["7.0", "8.0"]),  # 6.x image profiles are date-coded and carry no build number
    st.integers(min_value=0, max_value=3),
    LETTERS,
    st.booleans(),
    BUILD_NUMBERS,
)


@given(LEVELS, st.sampled_from(["standard", "no-tools"]))
def test_an_image_profile_keeps_its_line_update_letter_and_build(
    level: tuple[str, int, str, bool, int], suffix: str
) -> None:
    line, update, letter, security, number = level
    assume(letter or not security)  # there is no letter-less security-only image: 7.0U3s is the patch 7.0 U3s
    build = parse_build(f"ESXi-{_image_level(line, update, letter, security)}-{number}-{suffix}")
    assert (build.product, build.number) == (Product.ESXI, number)
    assert (build.line, build.update, build.letter) == (line, update, letter)
    assert build.release is not None and build.release.security_only is security


@given(LEVELS, st.sampled_from(["VMware-VMvisor-Installer-{}-{}.x86_64.iso", "VMware-ESXi-{}-{}-depot.zip"]))
def test_an_installer_or_depot_file_name_keeps_its_line_update_letter_and_build(
    level: tuple[str, int, str, bool, int], template: str
) -> None:
    line, update, letter, _security, number = level
    build = parse_build(template.format(_image_level(line, update, letter, False), number))
    assert (build.product, build.number) == (Product.ESXI, number)
    assert (build.line, build.update, build.letter) == (line, update, letter)


@given(st.sampled_from(LINES), st.integers(min_value=1, max_value=3), BUILD_NUMBERS)
def test_a_6x_update_installer_keeps_its_update_and_build_but_not_a_letter(
    line: tuple[int, int], update: int, number: int
) -> None:
    major, minor = line
    build = parse_build(f"VMware-VMvisor-Installer-{major}.{minor}.0.update{update:02d}-{number}.x86_64.iso")
    assert (build.number, build.line, build.update, build.letter) == (number, f"{major}.{minor}", update, None)


@given(st.integers(min_value=1, max_value=30), st.sampled_from(["EP ", "EP", "P"]))
def test_a_67_patch_label_parses_back_from_its_canonical_name(number: int, kind: str) -> None:
    release = parse_release(f"ESXi 6.7 {kind}{number:02d}")
    assert release.letter is None
    assert parse_release(release.name) == release


@given(
    st.sampled_from([(7, 0), (8, 0)]), st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=2999)
)
def test_a_vcenter_appliance_version_parses_back_from_its_canonical_name(
    line: tuple[int, int], update: int, tail: int
) -> None:
    major, minor = line
    release = parse_release(f"{major}.{minor}.{update}.{tail:05d}")
    assert (release.product, release.update, release.appliance) == (Product.VCENTER, update, tail)
    assert parse_release(release.name) == release
