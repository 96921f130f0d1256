"""VMware Tools versions: KB 304809's spellings and vCenter's toolsVersion numbers, one value each, never guessed."""

import pytest

from tests.fixtures.tools.make_tools_fixtures import ROWS
from tracker.domain.fixes import Advisory, FixedIn, Severity
from tracker.domain.tools import decode_tools_version, tools_release
from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Build, Product, VersionError, product_from_text


@pytest.mark.parametrize(("version", "_date", "build", "number"), ROWS)
def test_every_toolsversion_kb_304809_lists_unpacks_to_its_version(version: str, _date: str, build: int, number: int):
    release = decode_tools_version(number)
    assert release.short == version and release.name == f"VMware Tools {version}"
    assert parse_build(str(number), Product.TOOLS) == Build(Product.TOOLS, None, release)
    assert parse_build(f"{version}.{build}", Product.TOOLS) == Build(Product.TOOLS, build, release)


@pytest.mark.parametrize(
    ("text", "number", "short"),
    [
        ("VMware Tools 12.5.0", None, "12.5.0"),  # KB 304809's Version column
        ("12.5.0", None, "12.5.0"),
        ("12.5.0.24276846", 24276846, "12.5.0"),  # a Windows guest's program version
        ("12.5.0 build 24276846", 24276846, "12.5.0"),
        ("VMware Tools 12.5.0 (24276846)", 24276846, "12.5.0"),
        ("12352", None, "12.2.0"),  # toolsVersion: 12 << 10 | 2 << 5 | 0 (not 12.3.5, which is 12389)
        ("12389", None, "12.3.5"),
        ("11365", None, "11.3.5"),
    ],
)
def test_each_tools_spelling_reads_as_one_value(text: str, number: int | None, short: str):
    build = parse_build(text, Product.TOOLS)
    assert build.number == number and build.release is not None and build.release.short == short


@pytest.mark.parametrize(
    ("number", "says"),
    [
        (0, "not installed"),
        (2147483647, "not managed by the platform"),  # vm_tools_version.h TOOLS_VERSION_UNMANAGED
        (-1, "reports no Tools version"),
        (4294967295, "reports no Tools version"),  # TOOLS_VERSION_INVALID
        (4, "legacy pre-dotted"),  # TOOLS_VERSION_WS30
        (40000, "not a packed Tools version"),
    ],
)
def test_a_toolsversion_that_is_no_version_is_refused_with_the_reason(number: int, says: str):
    with pytest.raises(VersionError, match=says):
        decode_tools_version(number)
    with pytest.raises(VersionError):
        parse_build(str(number), Product.TOOLS)


def test_a_bare_tools_build_stays_a_build_the_catalog_must_place():
    assert parse_build("24276846", Product.TOOLS) == Build(Product.TOOLS, 24276846)


def test_tools_are_named_and_lined_by_their_own_numbering_not_vcf_9():
    release = parse_release("VMware Tools 12.5.1")
    assert release.product is Product.TOOLS and release.line == "12" and release.short == "12.5.1"
    assert tools_release(12, 5, 0) < tools_release(12, 5, 1) < tools_release(13, 0, 0)
    assert product_from_text("VMware Tools for Windows") is Product.TOOLS
    assert product_from_text("ESXi-7.0U3c-19193900-no-tools") is Product.ESXI  # the ESXi profile without Tools


def test_a_tools_advisory_affects_every_release_of_its_major_below_the_fix():
    vmsa = Advisory("VMSA-2025-0005", Severity.IMPORTANT, (FixedIn(tools_release(12, 5, 1)),))
    assert [vmsa.affects(tools_release(12, m, p)) for m, p in ((2, 0), (3, 5), (4, 5), (5, 0))] == [True] * 4
    assert not vmsa.affects(tools_release(12, 5, 1)) and not vmsa.affects(tools_release(12, 5, 2))
    assert not vmsa.affects(tools_release(13, 0, 0))  # another line: the advisory names no fix there
    assert vmsa.fixed_by(tools_release(12, 5, 2))
