"""Snoozes: what they cover, and when a material change reopens them."""

from datetime import UTC, datetime

from tracker.domain.alerts import SnoozeKind
from tracker.domain.exposure import Exposure, Status
from tracker.domain.fixes import Severity
from tracker.domain.inventory import Asset, AssetKind
from tracker.notify.snoozes import Snooze, Snoozes, fingerprint

UNTIL = datetime(2022, 3, 1, tzinfo=UTC)
HOST = Asset("esx-01", AssetKind.ESXI, 18538813, "VMware ESXi 7.0.2 build-18538813")


def exposure(statuses: tuple[Status, ...], advisories: tuple[str, ...] = (), target: int | None = None) -> Exposure:
    return Exposure(HOST, statuses, Severity.CRITICAL, (), None, None, None, advisories)


def test_an_asset_snooze_holds_while_the_finding_is_the_same_and_reopens_when_it_changes():
    before = exposure((Status.BEHIND,))
    snoozes = Snoozes([Snooze(1, SnoozeKind.ASSET, "ESX-01", UNTIL, "window", fingerprint(before))])
    assert snoozes.covers(before)  # names compare without case
    assert not snoozes.covers(exposure((Status.PULLED,)))  # its build was pulled: reopened


def test_an_advisory_snooze_covers_that_advisory_only_and_reopens_on_a_revision():
    snoozes = Snoozes(
        [Snooze(1, SnoozeKind.ADVISORY, "VMSA-2021-0028", UNTIL, "compensating control", "VMSA-2021-0028.1")]
    )
    assert snoozes.covers(exposure((Status.VULNERABLE,), ("VMSA-2021-0028.1",)))
    assert not snoozes.covers(exposure((Status.VULNERABLE,), ("VMSA-2021-0028.2",)))  # revised
    assert not snoozes.covers(exposure((Status.VULNERABLE,), ("VMSA-2021-0028.1", "VMSA-2022-0004")))
    assert not snoozes.covers(exposure((Status.PULLED, Status.VULNERABLE), ("VMSA-2021-0028.1",)))


def test_a_build_snooze_covers_hosts_on_that_build():
    snoozes = Snoozes([Snooze(1, SnoozeKind.BUILD, "18538813", UNTIL, "known", "")])
    assert snoozes.covers(exposure((Status.BEHIND,)))
