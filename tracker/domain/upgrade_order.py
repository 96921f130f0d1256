"""Upgrade order: vCenter Server before its hosts (PRODUCT.md 5).

VMware's documented sequence upgrades vCenter Server first, and some host releases need a newer vCenter to be
managed at all (the vSphere 7.0 documentation: vCenter Server 7.0 Update 3 or later for ESXi 7.0 Update 3 or
later). The rules are data (tracker/data/vcenter_first.csv, each with its citation); this module only applies them.
"""

from dataclasses import dataclass

from tracker.domain.versions import Release


@dataclass(frozen=True)
class VcenterFirst:
    """A host release from which a minimum vCenter Server release is needed to manage the host."""

    host_from: Release  # ESXi 7.0 U3: targets at or above it, in its line
    vcenter_min: Release  # vCenter Server 7.0 U3
    citation: str  # where the vendor says so, as people know it
    url: str = ""

    def applies(self, target: Release) -> bool:
        return (
            target.product is self.host_from.product
            and target.line == self.host_from.line
            and _level(target) >= _level(self.host_from)
        )

    def met_by(self, vcenter: Release) -> bool:
        """Whether a vCenter on this release may manage such a host (an unknown patch letter counts as the
        update's own release: `7.0.3` meets `7.0 U3`)."""
        return _level(vcenter) >= _level(self.vcenter_min)


def needed(rules: tuple[VcenterFirst, ...], target: Release) -> VcenterFirst | None:
    """The strictest rule a target release falls under, or None."""
    found = [r for r in rules if r.applies(target)]
    return max(found, key=lambda r: _level(r.vcenter_min), default=None)


def _level(release: Release) -> tuple[int, int, int, str]:
    return (release.major, release.minor, release.update, release.letter or "")
