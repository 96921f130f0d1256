"""Exposure and the safe target across the 7.0 U3 timeline: tables of cases on hand-built catalogs."""

from datetime import UTC, date, datetime

import pytest

from tracker.domain.catalog import BuildStatus, Catalog, Entry
from tracker.domain.events import Confidence
from tracker.domain.exposure import Assessor, Lifecycle, Status
from tracker.domain.fixes import Advisory, FixedIn, Severity
from tracker.domain.inventory import Asset, AssetKind, Vib
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product

U2C, U2D, U2E, U3, U3A, U3B, U3C = 18426014, 18538813, 19290878, 18644231, 18825058, 18905247, 19193900
ESXI_70 = {
    U2C: ("ESXi 7.0 Update 2c", "2021-08-24"),
    U2D: ("ESXi 7.0 Update 2d", "2021-09-14"),
    U3: ("ESXi 7.0 Update 3", "2021-10-05"),
    U3A: ("ESXi 7.0 Update 3a", "2021-10-28"),
    U3B: ("ESXi 7.0 Update 3b", "2021-11-12"),
    U3C: ("ESXi 7.0 Update 3c", "2022-01-27"),
    U2E: ("ESXi 7.0 Update 2e", "2022-02-15"),
}
LIFECYCLES = (
    Lifecycle(Product.ESXI, "6.7", date(2022, 10, 15), date(2023, 11, 15)),
    Lifecycle(Product.ESXI, "7.0", date(2025, 10, 2), date(2027, 4, 2)),
    Lifecycle(Product.VCENTER, "7.0", date(2025, 10, 2), date(2027, 4, 2)),
)
VMSA_2022_0004 = Advisory(
    "VMSA-2022-0004",
    Severity.CRITICAL,
    (
        FixedIn(parse_release("ESXi 7.0 Update 3c"), U3C),
        FixedIn(parse_release("ESXi 7.0 Update 2e"), U2E),
        FixedIn(parse_release("ESXi 7.0 Update 1e"), 19324898),
    ),
)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=8, tzinfo=UTC)


def catalog(on: str, pulled: tuple[int, ...] = (), replaced_by: int | None = None) -> Catalog:
    """The ESXi 7.0 catalog as the tracker knew it on a day: builds released by then, some pulled."""
    result = Catalog()
    for build, (name, released) in ESXI_70.items():
        if released > on:
            continue
        release = parse_release(name)
        entry = Entry(Product.ESXI, build, release, release.name, at(released), release_date=released)
        if build in pulled:
            entry.status, entry.pull_confidence, entry.replaced_by = BuildStatus.PULLED, Confidence.HIGH, replaced_by
        result.add_entry(entry)
    return result


def host(build: int | None, name: str = "esx-01", vibs: tuple[str, ...] = (), text: str = "") -> Asset:
    version = text or f"VMware ESXi 7.0.3 build-{build}"
    return Asset(name, AssetKind.ESXI, build, version, cluster="prod", vibs=tuple(Vib(v, "1.0") for v in vibs))


PULLED_3 = (U3, U3A, U3B)
TIMELINE = [
    # (day, catalog, host build, statuses, recommended build, hold contains)
    ("2021-11-01", catalog("2021-11-01"), U2D, [Status.BEHIND], U3, None),  # U3a is still in its cooldown
    ("2021-11-20", catalog("2021-11-20", pulled=PULLED_3), U3, [Status.PULLED], None, "7.0 U3a (18825058) was pulled"),
    ("2021-11-20", catalog("2021-11-20", pulled=PULLED_3), U3B, [Status.PULLED], None, "no newer ESXi 7.0 build"),
    ("2021-11-20", catalog("2021-11-20", pulled=PULLED_3), U2D, [Status.OK], None, None),
    (
        "2022-01-28",
        catalog("2022-01-28", pulled=PULLED_3, replaced_by=U3C),
        U3,
        [Status.PULLED],
        None,
        "cooldown until 2022-02-03",
    ),
    ("2022-02-05", catalog("2022-02-05", pulled=PULLED_3, replaced_by=U3C), U3, [Status.PULLED], U3C, None),
    ("2022-02-05", catalog("2022-02-05", pulled=PULLED_3, replaced_by=U3C), U2D, [Status.BEHIND], U3C, None),
    ("2022-02-05", catalog("2022-02-05", pulled=PULLED_3, replaced_by=U3C), U3C, [Status.OK], None, None),
]


@pytest.mark.parametrize(("day", "known", "build", "statuses", "target", "hold"), TIMELINE)
def test_exposure_and_target_follow_the_7_0_u3_timeline(day, known, build, statuses, target, hold):
    exposure = Assessor(known, at(day), lifecycles=LIFECYCLES).assess(host(build))
    assert list(exposure.statuses) == statuses
    assert exposure.recommended_build == target
    if hold is None:
        assert exposure.hold is None
    else:
        assert exposure.hold is not None and exposure.hold.startswith("hold: no safe target yet")
        assert hold in exposure.hold


def test_a_host_on_a_pulled_build_is_critical_and_told_what_replaced_it():
    known = catalog("2022-02-05", pulled=PULLED_3, replaced_by=U3C)
    exposure = Assessor(known, at("2022-02-05")).assess(host(U3))
    assert exposure.severity is Severity.CRITICAL
    assert exposure.reasons[0] == (
        "runs ESXi 7.0 U3 (18644231), which was pulled (high confidence); replaced by ESXi 7.0 U3c (19193900)"
    )
    assert exposure.recommended_release == "ESXi 7.0 U3c"


def test_the_target_is_never_a_downgrade_nor_a_pulled_build():
    known = catalog("2021-11-20", pulled=PULLED_3)
    for build in (U2C, U2D, U3, U3A, U3B):
        exposure = Assessor(known, at("2021-11-20")).assess(host(build))
        target = exposure.recommended
        assert target is None or (
            target.status is BuildStatus.AVAILABLE and target.release > parse_release(ESXI_70[build][0])
        )


def test_the_vib_known_issue_is_named_when_the_host_carries_both_drivers():
    known = catalog("2021-11-20", pulled=PULLED_3)
    both = Assessor(known, at("2021-11-20")).assess(host(U2D, vibs=("i40en", "i40enu", "esx-base")))
    assert any(r.startswith("KB 86287: carries both the i40en and i40enu VIBs") for r in both.reasons)
    one = Assessor(known, at("2021-11-20")).assess(host(U2D, vibs=("i40en",)))
    assert not any("KB 86287" in r for r in one.reasons)


def test_an_advisory_marks_affected_hosts_vulnerable_and_the_target_fixes_it():
    known = catalog("2022-03-01", pulled=PULLED_3, replaced_by=U3C)
    assessor = Assessor(known, at("2022-03-01"), advisories=[VMSA_2022_0004])
    on_u2d = assessor.assess(host(U2D))
    assert Status.VULNERABLE in on_u2d.statuses
    assert on_u2d.severity is Severity.CRITICAL
    assert on_u2d.advisories == ("VMSA-2022-0004",)
    assert on_u2d.recommended_build == U3C  # the newest of U3c and U2e, both fix it
    assert Status.VULNERABLE not in assessor.assess(host(U3C)).statuses
    assert Status.VULNERABLE not in assessor.assess(host(U2E)).statuses


def test_a_target_that_does_not_fix_the_advisory_is_not_recommended():
    known = catalog("2022-03-01")
    only_u3 = Advisory("VMSA-TEST-0001", Severity.IMPORTANT, (FixedIn(parse_release("ESXi 7.0 Update 3c"), U3C),))
    exposure = Assessor(known, at("2022-03-01"), advisories=[only_u3]).assess(host(U2C))
    assert exposure.recommended_build == U3C
    assert exposure.severity is Severity.IMPORTANT


def test_a_vcenter_reporting_its_mob_build_is_matched_through_the_second_build():
    known = Catalog()
    name = "vCenter Server 7.0 GA"
    known.add_entry(
        Entry(
            Product.VCENTER,
            15952498,
            parse_release(name),
            name,
            at("2020-04-02"),
            release_date="2020-04-02",
            alt_builds=(15952599,),
        )
    )
    vcenter = Asset("vc-01", AssetKind.VCENTER, 15952599, "VMware vCenter Server 7.0.0 build-15952599")
    exposure = Assessor(known, at("2021-01-01"), lifecycles=LIFECYCLES).assess(vcenter)
    assert exposure.statuses == (Status.OK,)
    assert exposure.release == parse_release(name)


@pytest.mark.parametrize(
    ("day", "status"),
    [("2023-01-01", Status.END_OF_SUPPORT), ("2022-08-01", Status.END_OF_SUPPORT_SOON), ("2022-01-01", Status.OK)],
)
def test_a_host_on_a_line_past_or_near_end_of_support_is_flagged(day: str, status: Status):
    known = Catalog()
    name = "ESXi670-202111001"
    known.add_entry(
        Entry(Product.ESXI, 18828794, parse_release(name), name, at("2021-11-23"), release_date="2021-11-23")
    )
    exposure = Assessor(known, at(day), lifecycles=LIFECYCLES).assess(
        host(18828794, text="VMware ESXi 6.7.0 build-18828794")
    )
    assert status in exposure.statuses
    if status is Status.END_OF_SUPPORT:
        assert "left general support on 2022-10-15" in " ".join(exposure.reasons)


def test_an_unknown_build_says_so_and_never_guesses_a_target():
    exposure = Assessor(catalog("2022-02-05"), at("2022-02-05")).assess(host(99999999))
    assert exposure.statuses == (Status.UNKNOWN_BUILD,)
    assert exposure.recommended is None
    assert "build 99999999 (ESXi 7.0) is not in the catalog" in exposure.reasons


def test_assets_come_worst_first():
    known = catalog("2022-02-05", pulled=PULLED_3, replaced_by=U3C)
    results = Assessor(known, at("2022-02-05")).assess_all(
        [host(U3C, "a-ok"), host(U3, "b-pulled"), host(U2D, "c-behind")]
    )
    assert [e.asset.name for e in results] == ["b-pulled", "c-behind", "a-ok"]
