"""Exposure: what the catalog means for each asset, and the safe upgrade target (PRODUCT.md section 5).

For every asset: its statuses (pulled, vulnerable, end of support or within 90 days, behind, unknown build, ok),
its worst severity, the reasons in words, and the recommended target: the newest build of its line that is newer
than its own, not pulled, past the cooldown and fixing every advisory it has. Never a downgrade, never a pulled
build; "hold: no safe target yet" with the reason when none exists.

Everything that depends only on the build is computed once per distinct build, so 100,000 assets on a few hundred
builds cost a few hundred assessments plus a dictionary lookup each.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from tracker.domain.catalog import BuildStatus, Catalog, Entry
from tracker.domain.fixes import Advisory, Severity, Unresolved, covers
from tracker.domain.inventory import Asset, AssetKind
from tracker.domain.upgrade_order import VcenterFirst, needed
from tracker.domain.versions import Product, Release
from tracker.domain.words import count

EOS_WARNING_DAYS = 90


class Status(StrEnum):
    PULLED = "pulled"
    VULNERABLE = "vulnerable"
    END_OF_SUPPORT = "end_of_support"
    END_OF_SUPPORT_SOON = "end_of_support_soon"
    BEHIND = "behind"
    UNKNOWN_BUILD = "unknown_build"
    OK = "ok"


_STATUS_SEVERITY = {
    Status.PULLED: Severity.CRITICAL,
    Status.END_OF_SUPPORT: Severity.IMPORTANT,
    Status.END_OF_SUPPORT_SOON: Severity.MODERATE,
    Status.BEHIND: Severity.LOW,
    Status.UNKNOWN_BUILD: Severity.LOW,
    Status.OK: Severity.NONE,
}


@dataclass(frozen=True)
class Lifecycle:
    product: Product
    line: str
    end_of_general_support: date
    end_of_technical_guidance: date


@dataclass(frozen=True)
class KnownIssue:
    """A vendor known issue that bites when a host carries certain VIBs (KB 86287: i40en and i40enu)."""

    id: str
    product: Product
    line: str
    vibs: tuple[str, ...]  # all of them present -> the issue applies
    message: str


KNOWN_ISSUES: tuple[KnownIssue, ...] = (
    KnownIssue(
        "KB 86287",
        Product.ESXI,
        "7.0",
        ("i40en", "i40enu"),
        "carries both the i40en and i40enu VIBs: an upgrade to 7.0 U3, U3a or U3b fails with 'esxupdate code -1' "
        "and breaks HA (KB 86287); upgrade only to a build that handles the rename (7.0 U3c or later)",
    ),
)


@dataclass(frozen=True)
class Policy:
    cooldown_days: int = 7


@dataclass(frozen=True, slots=True)
class Exposure:
    asset: Asset
    statuses: tuple[Status, ...]
    severity: Severity
    reasons: tuple[str, ...]
    release: Release | None  # what the asset runs, as far as we know
    recommended: Entry | None
    hold: str | None = None  # "hold: no safe target yet: ..." when the asset needs a move and none is safe
    advisories: tuple[str, ...] = field(default=())
    caveats: tuple[str, ...] = field(default=())  # known issues on the way to the target (KB 86287)

    @property
    def advice(self) -> str:
        """What to do, in one line, the same on every face: the target with its caveats and what must come first,
        or the hold; "" when nothing is to be done."""
        if self.recommended is None:
            return self.hold or ""
        return _advice(self.recommended.release_name, self.recommended.build, self.hold, self.caveats)

    @property
    def recommended_build(self) -> int | None:
        return self.recommended.build if self.recommended else None

    @property
    def recommended_release(self) -> str | None:
        return self.recommended.release_name if self.recommended else None


@lru_cache(maxsize=4096)
def _advice(release: str, build: int, hold: str | None, caveats: tuple[str, ...]) -> str:
    """Formatted once per distinct target: 100,000 assets share a few hundred."""
    parts = [f"upgrade to {release} ({build})", *([hold] if hold else []), *(f"caveat {c}" for c in caveats)]
    return "; ".join(parts)


# --- the engine ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _BuildView:
    """Everything about one build that does not depend on the asset."""

    statuses: tuple[Status, ...]
    severity: Severity
    reasons: tuple[str, ...]
    release: Release | None
    recommended: Entry | None
    hold: str | None
    advisories: tuple[str, ...]


class Assessor:
    """Assess assets against one catalog, set of advisories and lifecycle table, at one moment."""

    def __init__(
        self,
        catalog: Catalog,
        now: datetime,
        advisories: Sequence[Advisory] = (),
        lifecycles: Sequence[Lifecycle] = (),
        policy: Policy = Policy(),
        known_issues: Sequence[KnownIssue] = KNOWN_ISSUES,
        upgrade_order: Sequence[VcenterFirst] = (),
        vcenters: Iterable[Asset] = (),
    ) -> None:
        self.catalog, self.now, self.policy = catalog, now, policy
        self.upgrade_order = tuple(upgrade_order)
        self._vcenters = _by_name(a for a in vcenters if a.kind is AssetKind.VCENTER)
        self._managing: dict[str, Exposure] = {}  # a vCenter's own exposure, once per vCenter
        self.advisories = tuple(advisories)
        self.lifecycles = {(lc.product, lc.line): lc for lc in lifecycles}
        self.known_issues = tuple(known_issues)
        self._lines = _candidates_by_line(catalog.entries.values())
        self._views: dict[tuple[AssetKind, int | None, str], _BuildView] = {}

    def assess(self, asset: Asset) -> Exposure:
        key = (asset.kind, asset.build, asset.version_text if asset.build is None or self._unknown(asset) else "")
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = self._view(asset)
        caveats = tuple(self._vib_reasons(asset, view.release)) if asset.vibs else ()
        reasons, hold = (view.reasons + caveats if caveats else view.reasons), view.hold
        first = self._vcenter_first(asset, view.recommended)
        if first is not None:
            reasons, hold = (*reasons, first[0]), hold or first[1]
        return Exposure(
            asset,
            view.statuses,
            view.severity,
            reasons,
            view.release,
            view.recommended,
            hold,
            view.advisories,
            caveats,
        )

    def assess_all(self, assets: Iterable[Asset]) -> list[Exposure]:
        """Every asset, worst first (severity, then name)."""
        results = [self.assess(a) for a in assets]
        results.sort(key=lambda e: (-e.severity.rank, e.asset.name))
        return results

    # --- per build -------------------------------------------------------------------------------------------
    def _unknown(self, asset: Asset) -> bool:
        return asset.build is None or self.catalog.find(asset.kind.product, asset.build) is None

    def _entry(self, asset: Asset) -> Entry | None:
        """The asset's catalog entry: by build number; a VM reports its Tools version, not a build, so by the one
        entry of that release (KB 304809 lists one build per Tools version). None when the catalog does not say."""
        if asset.build is not None:
            return self.catalog.find(asset.kind.product, asset.build)
        release = _reported_release(asset)
        if asset.kind is not AssetKind.VM or release is None:
            return None
        entries = self.catalog.find_release(release)
        return entries[0] if len(entries) == 1 else None

    def _view(self, asset: Asset) -> _BuildView:
        entry = self._entry(asset)
        release = entry.release if entry and entry.release else _reported_release(asset)
        statuses: list[Status] = []
        reasons: list[str] = []
        severity = Severity.NONE
        if entry is None:
            statuses.append(Status.UNKNOWN_BUILD)
            reasons.append(_unknown_reason(asset, release))
        elif entry.status is BuildStatus.PULLED:
            statuses.append(Status.PULLED)
            reasons.append(self._pulled_reason(entry))
        hits = [a for a in self.advisories if release is not None and release.precise and a.affects(release)]
        waiting = self._pending(release)
        hits += [a for a, _ in waiting if a not in hits]
        if hits:
            statuses.append(Status.VULNERABLE)
            worst = max(hits, key=lambda a: a.severity.rank)
            severity = worst.severity
            reasons.extend(_advisory_reason(a, dict(waiting).get(a)) for a in hits)
        reasons.extend(self._unmapped_reasons(release))
        statuses.extend(self._support(release, reasons))
        newer = self._newer(entry, release)
        if newer and entry is not None and Status.PULLED not in statuses:
            statuses.append(Status.BEHIND)
            what = count(len(newer), f"newer {release.line} build" if release else "newer build")
            reasons.append(f"{what} {'is' if len(newer) == 1 else 'are'} available")
        target, hold = self._target(entry, release, hits, statuses)
        if waiting:  # no target until a revision names the fix (PRODUCT.md 4)
            target, hold = None, "hold: no fix published yet (" + "; ".join(f"{a.id}, {u.text}" for a, u in waiting)
            hold += ")"
        if not statuses:
            statuses.append(Status.OK)
        for status in statuses:
            if _STATUS_SEVERITY.get(status, Severity.NONE).rank > severity.rank:
                severity = _STATUS_SEVERITY[status]
        return _BuildView(tuple(statuses), severity, tuple(reasons), release, target, hold, tuple(a.id for a in hits))

    def _pulled_reason(self, entry: Entry) -> str:
        text = f"runs {entry.release_name} ({entry.build}), which was pulled"
        if entry.pull_confidence:
            text += f" ({entry.pull_confidence.value} confidence)"
        if entry.replaced_by:
            replacement = self.catalog.find(entry.product, entry.replaced_by)
            name = replacement.release_name if replacement else "a newer build"
            text += f"; replaced by {name} ({entry.replaced_by})"
        return text

    def _pending(self, release: Release | None) -> list[tuple[Advisory, Unresolved]]:
        """The advisories that name no fix yet for the asset's line ("Patch Pending"): any build of it is exposed."""
        if release is None:
            return []
        return [(a, p) for a in self.advisories if (p := a.pending_for(release)) is not None]

    def _unmapped_reasons(self, release: Release | None) -> list[str]:
        """An advisory fix on the asset's line that could not be mapped, or a matrix row naming the line that
        could not be read: the asset may or may not be affected, and is told so."""
        if release is None:
            return []
        return list(
            dict.fromkeys(
                _unmapped_reason(a, u, release)
                for a in self.advisories
                for u in a.unmapped
                if u.product is release.product and covers(u.line, release.line)
            )
        )

    def _support(self, release: Release | None, reasons: list[str]) -> list[Status]:
        if release is None:
            return []
        lifecycle = self.lifecycles.get((release.product, release.line))
        if lifecycle is None:
            return []
        today = self.now.date()
        end = lifecycle.end_of_general_support
        if today > end:
            reasons.append(
                f"{release.product_label} {release.line} left general support on {end.isoformat()} "
                f"(technical guidance ends {lifecycle.end_of_technical_guidance.isoformat()})"
            )
            return [Status.END_OF_SUPPORT]
        if (end - today).days <= EOS_WARNING_DAYS:
            reasons.append(
                f"{release.product_label} {release.line} leaves general support on {end.isoformat()} "
                f"({(end - today).days} days)"
            )
            return [Status.END_OF_SUPPORT_SOON]
        return []

    def _newer(self, entry: Entry | None, release: Release | None) -> list[Entry]:
        if entry is None or release is None or not release.precise:
            return []
        return [
            c
            for c in self._lines.get((release.product, release.line), [])
            if c.release and c.release > release and c.status is BuildStatus.AVAILABLE
        ]

    def _target(
        self, entry: Entry | None, release: Release | None, hits: list[Advisory], statuses: list[Status]
    ) -> tuple[Entry | None, str | None]:
        needs_move = bool({Status.PULLED, Status.VULNERABLE, Status.BEHIND} & set(statuses))
        if entry is None or release is None or not release.precise:
            return None, (
                "hold: no safe target yet: the build is not in the catalog, so a newer one cannot be "
                "told from a downgrade"
                if needs_move
                else None
            )
        newer = [c for c in self._lines.get((release.product, release.line), []) if c.release and c.release > release]
        safe: list[Entry] = []
        why_not: list[str] = []
        for candidate in newer:
            problem = self._unsafe(candidate, hits)
            if problem:
                why_not.append(problem)
            else:
                safe.append(candidate)
        if safe:
            return max(safe, key=_newest), None
        if not needs_move:
            return None, None
        return None, "hold: no safe target yet: " + _why_none(release, why_not)

    def _unsafe(self, candidate: Entry, hits: list[Advisory]) -> str | None:
        name = f"{candidate.release_name} ({candidate.build})"
        if candidate.status is BuildStatus.PULLED:
            return f"{name} was pulled"
        since = _available_since(candidate)
        ready = since + timedelta(days=self.policy.cooldown_days)
        if self.now.date() < ready:
            return f"{name} is in its {self.policy.cooldown_days}-day cooldown until {ready.isoformat()}"
        unfixed = [a.id for a in hits if candidate.release is None or not a.fixed_by(candidate.release)]
        if unfixed:
            return f"{name} does not fix {', '.join(unfixed)}"
        return None

    def _vcenter_first(self, asset: Asset, target: Entry | None) -> tuple[str, str | None] | None:
        """(reason, hold) when the host's target needs a newer vCenter than the one managing it (the rules of
        tracker/data/vcenter_first.csv); None when it does not, or the managing vCenter is not in the inventory."""
        if not self._vcenters or asset.kind is not AssetKind.ESXI or target is None or not asset.vcenter:
            return None  # (the common case first: 100,000 assets pass here)
        if target.release is None:
            return None
        rule = needed(self.upgrade_order, target.release)
        vcenter = self._vcenters.get(asset.vcenter.casefold()) or self._vcenters.get(_short(asset.vcenter))
        if rule is None or vcenter is None:
            return None
        exposure = self._managing.get(vcenter.name)
        if exposure is None:
            exposure = self._managing[vcenter.name] = self.assess(vcenter)
        runs = exposure.release
        needs = f"{target.release_name} needs {rule.vcenter_min.name} or later ({rule.citation})"
        if runs is None:
            return f"{needs}: check that vCenter {vcenter.name} runs it before upgrading (its version is unknown)", None
        if rule.met_by(runs):
            return None
        move = exposure.recommended.release if exposure.recommended and exposure.recommended.release else None
        to = (move if move is not None and rule.met_by(move) else rule.vcenter_min).short
        first = f"upgrade vCenter {vcenter.name} to {to} first"
        return f"{first}: it runs {runs.short}, and {needs}", f"hold: {first}"

    def _vib_reasons(self, asset: Asset, release: Release | None) -> list[str]:
        if not asset.vibs or release is None:
            return []
        names = {v.name.casefold() for v in asset.vibs}
        return [
            f"{issue.id}: {issue.message}"
            for issue in self.known_issues
            if issue.product is release.product and issue.line == release.line and all(v in names for v in issue.vibs)
        ]


def _by_name(assets: Iterable[Asset]) -> dict[str, Asset]:
    """vCenters by full name and, where it is unique, by short name (a host may say `vc01` for `vc01.corp.example`)."""
    found: dict[str, Asset] = {}
    shorts: dict[str, list[Asset]] = {}
    for asset in assets:
        found[asset.name.casefold()] = asset
        shorts.setdefault(_short(asset.name), []).append(asset)
    for short, named in shorts.items():
        if len(named) == 1:
            found.setdefault(short, named[0])
    return found


def _short(name: str) -> str:
    return name.casefold().split(".")[0]


def _candidates_by_line(entries: Iterable[Entry]) -> dict[tuple[Product, str], list[Entry]]:
    lines: dict[tuple[Product, str], list[Entry]] = {}
    for entry in entries:
        if entry.release is not None and entry.release.precise:
            lines.setdefault((entry.product, entry.release.line), []).append(entry)
    return lines


def _newest(entry: Entry) -> tuple[object, ...]:
    return (entry.release.sort_key if entry.release else (), entry.build)


def _available_since(entry: Entry) -> date:
    if entry.release_date:
        return date.fromisoformat(entry.release_date)
    return entry.first_seen.date()


def _reported_release(asset: Asset) -> Release | None:
    reported = asset.reported
    return reported.release if reported else None


def _unknown_reason(asset: Asset, release: Release | None) -> str:
    if asset.build is None and release is not None:
        return f"{release.name} (reported as {asset.version_text!r}) is not in the catalog"
    if asset.build is None:
        return f"no build could be read from {asset.version_text!r}" if asset.version_text else "no version reported"
    where = f" ({release.product_label} {release.line})" if release else ""
    return f"build {asset.build}{where} is not in the catalog"


def _advisory_reason(advisory: Advisory, pending: Unresolved | None) -> str:
    head = f"{advisory.id} ({advisory.severity.value}) affects it"
    return f"{head}: no fix published yet ({pending.text})" if pending else head


def _unmapped_reason(advisory: Advisory, unmapped: Unresolved, release: Release) -> str:
    head = f"{advisory.id} ({advisory.severity.value})"
    if advisory.unread:
        return (
            f"{head} may affect it: fixes unknown, the advisory's Response Matrix could not be read "
            f"({advisory.unread}): check the advisory by hand"
        )
    return (
        f"{head} names a fix for {unmapped.product.label} {unmapped.line or release.line} that could not be mapped "
        f"to a build ({unmapped.text!r}): check by hand whether this build has it"
    )


def _why_none(release: Release, why_not: list[str]) -> str:
    if not why_not:
        return f"no newer {release.product_label} {release.line} build exists yet"
    return "; ".join(why_not)
