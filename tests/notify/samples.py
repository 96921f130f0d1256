"""Real-shaped messages for the notification tests: the ESXi 7.0 U3 pull of November 2021."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tracker.domain.alerts import AffectedAsset, AlertMessage, DigestMessage, Target
from tracker.domain.events import EventKind
from tracker.domain.health import SourceLine, SourceState

NOTES_U3C = "https://docs.vmware.com/en/VMware-vSphere/7.0/rn/vsphere-esxi-70u3c-release-notes.html"
KB_PULL = "https://kb.vmware.com/s/article/86287"
OBSERVED = datetime(2021, 11, 19, 6, 30, tzinfo=UTC)


def host(number: int, name: str = "") -> AffectedAsset:
    return AffectedAsset(
        name or f"esx{number:02d}.prod.example.com",
        "prod-cluster",
        "vc01.example.com",
        "ESXi 7.0 U3 (18644231)",
        ("runs_pulled",),
    )


def pulled(hosts: int = 3, **changes: Any) -> AlertMessage:
    assets = tuple(host(n) for n in range(1, hosts + 1))
    message = AlertMessage(
        event_id=42,
        kind=EventKind.PULLED,
        product="esxi",
        build=18644231,
        release="ESXi 7.0 U3",
        observed_at=OBSERVED,
        confidence="high",
        detail="ESXi 7.0 U3 was removed from the download site.",
        evidence_url=KB_PULL,
        evidence_excerpt="VMware has made the decision to remove ESXi 7.0 Update 3 from all sites.",
        sources=("kb-86287", "release-notes"),
        watchlist="prod",
        assets=assets,
        assets_total=len(assets),
        target=Target("ESXi 7.0 U3c", 19193900, NOTES_U3C),
        hold=None,
        caveats=("KB 86287: upgrades with the i40en VIB may fail; see the KB before you patch.",),
    )
    return replace(message, **changes)


def held(**changes: Any) -> AlertMessage:
    return pulled(target=None, hold="every fix for this line was pulled too; wait for the reissue", **changes)


def reissued() -> AlertMessage:
    return pulled(kind=EventKind.REISSUED, build=19193900, release="ESXi 7.0 U3c", replaces=(18644231, 18825058))


def digest(*events: AlertMessage, **changes: Any) -> DigestMessage:
    message = DigestMessage(
        channel="ops-mail",
        period_start=datetime(2021, 11, 18, 7, 0, tzinfo=UTC),
        period_end=datetime(2021, 11, 19, 7, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
        events=events,
        exposure_counts={"runs_pulled": 3, "current": 12},
        worst=(host(1),),
        snoozes_expiring=("asset esx09.prod.example.com until 2021-11-24: waiting for the maintenance window",),
        source_health=(
            SourceLine("release-notes", SourceState.OK),
            SourceLine("kb-feed", SourceState.FAILING, "HTTP 503", problem=True),
        ),
    )
    return replace(message, **changes)
