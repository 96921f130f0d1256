"""Releases order by line, update, patch letter, security-only first; never by build number or date."""

import csv
import itertools
from pathlib import Path

import pytest

from tracker.domain.version_grammar import parse_build, parse_release
from tracker.domain.versions import Product

DATA = Path(__file__).resolve().parent.parent / "data" / "vmware-builds.csv"

# Sorted by hand. A security-only image comes before the full patch of the same letter; 7.0 U3h, U3t and U3u
# were never shipped for ESXi. The (Security Only) 7.0b and 7.0 U2c are real image profiles (7.0bs, 7.0U2sc).
ESXI_70_IN_ORDER = [
    "ESXi 7.0 GA",
    "ESXi 7.0b (Security Only)",
    "ESXi 7.0b",
    "ESXi 7.0 Update 1",
    "ESXi 7.0 Update 1a",
    "ESXi 7.0 Update 1b",
    "ESXi 7.0 Update 1c (Security Only)",
    "ESXi 7.0 Update 1c",
    "ESXi 7.0 Update 1d",
    "ESXi 7.0 Update 1e",
    "ESXi 7.0 Update 2",
    "ESXi 7.0 Update 2a",
    "ESXi 7.0 Update 2c (Security Only)",
    "ESXi 7.0 Update 2c",
    "ESXi 7.0 Update 2d",
    "ESXi 7.0 Update 2e",
    "ESXi 7.0 Update 3",
    "ESXi 7.0 Update 3a",
    "ESXi 7.0 Update 3b",
    "ESXi 7.0 Update 3c",
    "ESXi 7.0 Update 3d (Security Only)",
    "ESXi 7.0 Update 3d",
    "ESXi 7.0 Update 3e",
    "ESXi 7.0 Update 3f (Security Only)",
    "ESXi 7.0 Update 3f",
    "ESXi 7.0 Update 3g",
    "ESXi 7.0 Update 3i (Security Only)",
    "ESXi 7.0 Update 3i",
    "ESXi 7.0 Update 3j",
    "ESXi 7.0 Update 3k",
    "ESXi 7.0 Update 3l (Security Only)",
    "ESXi 7.0 Update 3l",
    "ESXi 7.0 Update 3m",
    "ESXi 7.0 Update 3n",
    "ESXi 7.0 Update 3o (Security Only)",
    "ESXi 7.0 Update 3o",
    "ESXi 7.0 Update 3p",
    "ESXi 7.0 Update 3q (Security Only)",
    "ESXi 7.0 Update 3q",
    "ESXi 7.0 Update 3r",
    "ESXi 7.0 Update 3s",
    "ESXi 7.0 Update 3v",
    "ESXi 7.0 Update 3w",
]
RELEASES = [parse_release(name) for name in ESXI_70_IN_ORDER]
PAIRS = list(itertools.combinations(range(len(RELEASES)), 2))


def _rows() -> list[dict[str, str]]:
    with DATA.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _row(release_name: str) -> dict[str, str]:
    return next(row for row in _rows() if row["release_name"] == release_name)


@pytest.mark.parametrize(("i", "j"), PAIRS, ids=lambda n: str(n))
def test_every_earlier_esxi_70_release_in_the_hand_sorted_list_orders_before_every_later_one(i: int, j: int) -> None:
    earlier, later = RELEASES[i], RELEASES[j]
    assert earlier < later and later > earlier
    assert earlier <= later and not later <= earlier
    assert earlier != later
    assert earlier.sort_key < later.sort_key


def test_sorting_the_esxi_70_releases_in_any_order_gives_the_hand_sorted_list() -> None:
    assert sorted(reversed(RELEASES)) == RELEASES
    assert sorted(RELEASES[1::2] + RELEASES[::2]) == RELEASES
    assert [release.name for release in sorted(RELEASES)] == [parse_release(name).name for name in ESXI_70_IN_ORDER]


def test_the_hand_sorted_list_holds_every_esxi_70_release_name_in_the_data() -> None:
    in_data = {
        parse_release(row["release_name"])
        for row in _rows()
        if row["product"] == "ESXi" and row["release_name"].startswith("ESXi 7.0")
    }
    assert in_data <= set(RELEASES)


def test_70_u3c_beats_70_u2e_although_u2e_has_the_bigger_build_and_the_later_date() -> None:
    u2e, u3c = _row("ESXi 7.0 Update 2e"), _row("ESXi 7.0 Update 3c")
    assert int(u2e["build"]) > int(u3c["build"])
    assert u2e["release_date"] > u3c["release_date"]
    assert parse_release(u3c["release_name"]) > parse_release(u2e["release_name"])
    assert parse_build(f"ESXi70U3c-{u3c['build']}") > parse_build(f"ESXi70U2e-{u2e['build']}")
    assert parse_build(f"ESXi-7.0U3c-{u3c['build']}-standard") > parse_build(f"ESXi-7.0U2e-{u2e['build']}-standard")


def test_releases_of_one_update_share_their_update_line_and_a_reissue_orders_after_the_pulled_builds() -> None:
    u3, u3a, u3b, u3c = (parse_release(f"ESXi 7.0 Update {level}") for level in ("3", "3a", "3b", "3c"))
    assert u3.update_line == u3a.update_line == u3b.update_line == u3c.update_line
    assert max(u3, u3a, u3b, u3c) is u3c
    assert parse_release("ESXi 7.0 Update 2e").update_line != u3c.update_line


def test_67_patch_ids_order_by_date_within_their_update() -> None:
    names = ["ESXi670-201912001", "ESXi670-202004001", "ESXi670-202004002", "ESXi670-202111001"]
    releases = [parse_release(name) for name in names]
    assert sorted(reversed(releases)) == releases


def test_vcenter_appliance_versions_order_by_their_tail() -> None:
    versions = ["7.0.2.00500", "7.0.3.00000", "7.0.3.00300", "7.0.3.00500", "7.0.3.01000", "8.0.0.10000"]
    releases = [parse_release(version) for version in versions]
    assert sorted(reversed(releases)) == releases


def test_releases_of_different_products_with_one_version_are_ordered_and_not_equal() -> None:
    esxi = parse_release("7.0 U3c", Product.ESXI)
    vcenter = parse_release("7.0 U3c", Product.VCENTER)
    assert esxi != vcenter
    assert (esxi < vcenter) != (vcenter < esxi)


def test_a_host_version_with_an_unknown_letter_is_ordered_against_the_update_ga_without_being_equal() -> None:
    host = parse_build("VMware ESXi 7.0.3 build-18644231").release
    ga = parse_release("ESXi 7.0 Update 3")
    assert host is not None
    assert host != ga
    assert host.sort_key == ga.sort_key
    assert (host < ga) != (ga < host)
    assert host < parse_release("ESXi 7.0 Update 3a")


def test_builds_order_by_release_then_build_number() -> None:
    builds = [
        parse_build("ESXi-7.0U2e-19290878-standard"),
        parse_build("ESXi-7.0U3-18644231-standard"),
        parse_build("ESXi-7.0U3c-19193900-standard"),
        parse_build("ESXi-7.0U3c-19193901-standard"),
    ]
    assert sorted(reversed(builds)) == builds
