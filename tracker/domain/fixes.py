"""What an advisory says, as exposure reads it: the vendor's severity levels, a fix on a line (`FixedIn`), a line
named without a build (`Unresolved`: a fix that could not be mapped, or "Patch Pending"), and the `Advisory` whose
`affects` decides which releases are vulnerable. tracker/domain/advisories.py builds these from what was stored."""

from dataclasses import dataclass
from enum import StrEnum

from tracker.domain.versions import Product, Release


class Severity(StrEnum):
    """The vendor's advisory levels (CVSS 9.0-10 critical, 7.0-8.9 important, 4.0-6.9 moderate, below low)."""

    CRITICAL = "critical"
    IMPORTANT = "important"
    MODERATE = "moderate"
    LOW = "low"
    NONE = "none"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def from_cvss(cls, score: float) -> "Severity":
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.IMPORTANT
        return cls.MODERATE if score >= 4.0 else cls.LOW


_SEVERITY_RANK = {Severity.NONE: 0, Severity.LOW: 1, Severity.MODERATE: 2, Severity.IMPORTANT: 3, Severity.CRITICAL: 4}


@dataclass(frozen=True)
class FixedIn:
    """An advisory's fix on one line: `ESXi70U3c-19193900` -> (esxi, 7.0 U3c, 19193900)."""

    release: Release
    build: int | None = None


@dataclass(frozen=True)
class Unresolved:
    """A line an advisory names without a build: a fixed version that could not be mapped to one
    (`advisory_unmapped`), or no fix yet ("Patch Pending")."""

    product: Product
    line: str  # "7.0"; "7.x" when the row named the major only; "" when it did not say (every line)
    text: str  # as written: "ESXi 7.0 hot-patch HP-4711", "Patch Pending"


def covers(pattern: str, line: str) -> bool:
    """Whether an advisory row's line (`7.0`, `7.x` for every 7 line, "" for every line) covers a release line."""
    if not pattern:
        return True
    if pattern.endswith(".x"):
        return line.split(".")[0] == pattern[:-2]
    return pattern == line


@dataclass(frozen=True)
class Advisory:
    """An advisory's fixes per line. Where a line has one fix per update (VMSA-2022-0004 on 7.0: U3c, U2e, U1e),
    each host is fixed by its own update's fix or any newer build of that update; see `affects` for the rest."""

    id: str  # VMSA-2022-0004, revisions as VMSA-2021-0028.1
    severity: Severity
    fixed: tuple[FixedIn, ...]
    title: str = ""
    url: str = ""
    unmapped: tuple[Unresolved, ...] = ()  # fixes that could not be placed: exposure names them, never hides them
    pending: tuple[Unresolved, ...] = ()  # lines with no fix yet ("Patch Pending"): every host there is vulnerable
    unread: str = ""  # why the page's Response Matrix could not be read: its fixes are unknown

    def pending_for(self, release: Release) -> Unresolved | None:
        """The "Patch Pending" row covering the release's line, when the advisory names no fix on that line."""
        if self.fixes_for(release.product, release.line):
            return None
        return next((p for p in self.pending if p.product is release.product and covers(p.line, release.line)), None)

    def fixes_for(self, product: Product, line: str) -> list[FixedIn]:
        return sorted(
            (f for f in self.fixed if f.release.product is product and f.release.line == line),
            key=lambda f: f.release.sort_key,
        )

    def affects(self, release: Release) -> bool:
        """A release is affected when the advisory covers its line and is not fixed there:
        - on an update the advisory names a fix for (7.0 U2 with U2e): below that fix (U2d yes; U2e, U2f no);
        - on an update it names none for, with a fixed update above (7.0 U2 when only U1e and U3c are named):
          affected, and fixed only by moving to a later update's fix (U3c), never by a newer build of its own;
        - on an update above every fixed one (7.0 U3 when only U1e and U2e are named): not affected, as the
          advisory would have named a fix for a later update that needed one."""
        fixes = self.fixes_for(release.product, release.line)
        if not fixes:
            return False
        if release.product is Product.TOOLS:  # no updates: "12.x.x fixed in 12.5.1" (VMSA-2025-0005)
            return release < fixes[0].release
        same_update = [f for f in fixes if f.release.update == release.update]
        if same_update:
            return release < same_update[0].release
        later = [f for f in fixes if f.release.update > release.update]
        return bool(later) or release < fixes[-1].release

    def fixed_by(self, release: Release) -> bool:
        """Whether moving to `release` fixes this advisory."""
        return not self.affects(release) and bool(self.fixes_for(release.product, release.line))
