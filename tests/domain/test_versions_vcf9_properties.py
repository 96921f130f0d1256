"""Generated 9.x versions parse back, order by their numbers, and no version-like text ever yields line 0.0."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Product, Release, VersionError

BUILD_NUMBERS = st.integers(min_value=1_000_000, max_value=99_999_999)
# EEHH: a single 0 for a major/minor/maintenance release, else four digits (express patch, hot patch)
EEHH = st.one_of(st.just("0"), st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda p: f"{p[0]:02d}{p[1]:02d}"))
VCF = st.tuples(st.integers(9, 12), st.integers(0, 9), st.integers(0, 9), EEHH)


def _text(version: tuple[int, int, int, str]) -> str:
    major, minor, maint, eehh = version
    return f"{major}.{minor}.{maint}.{eehh}"


def _rank(version: tuple[int, int, int, str]) -> tuple[int, int, int, int]:
    major, minor, maint, eehh = version
    return (major, minor, maint, int(eehh))


@given(VCF, st.sampled_from([p for p in Product if p.vcf_numbered]))  # Tools keep major.minor.patch
def test_a_9x_version_parses_back_from_its_printed_name(version: tuple[int, int, int, str], product: Product) -> None:
    release = parse_release(_text(version), product)
    assert (release.major, release.minor, release.update) == version[:3]
    assert parse_release(release.name) == release
    assert parse_release(release.short, product) == release
    expected_short = _text(version) if version[3].strip("0") else _text((*version[:3], "0"))
    assert release.short == expected_short


@given(VCF, VCF)
def test_9x_versions_order_as_maintenance_then_express_patch_then_hot_patch(
    a: tuple[int, int, int, str], b: tuple[int, int, int, str]
) -> None:
    first, second = parse_release(_text(a), Product.ESXI), parse_release(_text(b), Product.ESXI)
    assert (first < second) == (_rank(a) < _rank(b))
    assert (first == second) == (_rank(a) == _rank(b))


@given(VCF, BUILD_NUMBERS, st.sampled_from(["8.0 GA", "8.0 Update 3", "8.0 U3e", "7.0 U3w", "8.0 U2b Hot Patch 1"]))
def test_every_9x_release_orders_after_every_8x_and_7x_release(
    version: tuple[int, int, int, str], number: int, older: str
) -> None:
    assert parse_release(_text(version), Product.ESXI) > parse_release(older, Product.ESXI)


FILES = [
    "ESXi-{v}-{b}-standard",
    "ESXi-{v}-{b}-no-tools",
    "VMware-ESX-{v}-{b}-depot.zip",
    "VMware-ESX-{v}.{b}-depot.zip",
    "VMware-VMvisor-Installer-{v}-{b}.x86_64.iso",
    "VMware-VMvisor-Installer-{v}.x86_64-{b}.iso",
    "VMware-VMvisor-Installer-{v}.{b}.x86_64.iso",
    "{v}.{b}",
    "VMware ESX {v} build-{b}",
]


@given(VCF, BUILD_NUMBERS, st.sampled_from(FILES))
def test_a_9x_image_profile_file_or_component_keeps_its_build_line_and_patch_level(
    version: tuple[int, int, int, str], number: int, template: str
) -> None:
    build = parse_build(template.format(v=_text(version), b=number), Product.ESXI)
    assert build.number == number and build.release is not None
    assert (build.release.major, build.release.minor, build.release.update) == version[:3]
    assert build.release.patch == (version[3] if version[3].strip("0") else "")


@given(VCF, BUILD_NUMBERS)
def test_a_hyphenated_9x_component_version_reads_as_the_dotted_one(
    version: tuple[int, int, int, str], number: int
) -> None:
    major, minor, maint, eehh = version
    hyphen = parse_build(f"{major}.{minor}.{maint}-{eehh}.{number}", Product.ESXI)
    assert hyphen == parse_build(f"{_text(version)}.{number}", Product.ESXI)


# --- no input ever yields line 0.0 -----------------------------------------------------------------------------
PREFIXES = ["", "ESXi-", "ESX-", "ESX ", "ESXi ", "VMware ESX ", "VMware ESXi ", "vCenter Server ", "VMware-ESX-"]
PREFIXES += ["VMware-ESXi-", "VMware-VMvisor-Installer-", "VMware-VCSA-all-", "VMware vCenter Server ", "ESXi70U"]
SUFFIXES = ["", "-standard", "-no-tools", ".x86_64.iso", "-depot.zip", ".iso", " build-24813472", "-24813472"]
SUFFIXES += [".x86_64-24813472.iso", ".24813472", " U3c", "U3c", " Hot Patch 1", " Express Patch 3", " (6.7.0.47000)"]
FIELD = st.one_of(st.integers(0, 12).map(str), st.text("0123456789", min_size=1, max_size=9))
SEPARATORS = st.sampled_from([".", ".", ".", "-", ""])


@st.composite
def version_like(draw: st.DrawFn) -> str:
    fields = draw(st.lists(FIELD, min_size=1, max_size=6))
    body = fields[0] + "".join(draw(SEPARATORS) + field for field in fields[1:])
    return draw(st.sampled_from(PREFIXES)) + body + draw(st.sampled_from(SUFFIXES))


@st.composite
def vcf_like(draw: st.DrawFn) -> str:
    """A 9.x version in one of the vendor's file, profile, component or host templates."""
    version, number = draw(VCF), draw(BUILD_NUMBERS)
    return draw(st.sampled_from(FILES)).format(v=_text(version), b=number)


TEXTS = st.one_of(version_like(), vcf_like(), st.text(max_size=40))


def _parsed_releases(text: str) -> list[Release]:
    """What the grammar makes of the text, as release and as build, for each product; refusals drop out."""
    found: list[Release] = []
    for product in (None, *Product):
        for parse in (parse_release, lambda t, p: parse_build(t, p).release):
            try:
                release = parse(text, product)
            except VersionError:
                continue
            if release is not None:
                found.append(release)
    return found


@settings(max_examples=500)
@given(TEXTS)
def test_no_version_like_text_ever_yields_line_00_or_an_error_other_than_version_error(text: str) -> None:
    for release in _parsed_releases(text):  # any other exception fails the test
        assert release.line != "0.0"
        assert release.major >= 3


_VCF_TOKEN = re.compile(r"(?<![\d.])(9|1[0-2])\.\d+\.\d+\.(?:0|\d{4})(?![\d])")


@settings(max_examples=500)
@given(TEXTS)
def test_a_text_carrying_a_9x_version_never_parses_to_another_major(text: str) -> None:
    if not (token := _VCF_TOKEN.search(text)):
        return
    for release in _parsed_releases(text):
        assert release.major == int(token.group(1)), release
