"""Snoozes: a finding (an asset, a build, an advisory) kept out of immediate alerts until a date, with a reason.

A snooze reopens by itself when it expires or when its finding materially changes: the fingerprint taken when it
was set (the statuses and the recommended target) no longer matches, e.g. because the target was pulled.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from tracker.domain.alerts import SnoozeKind
from tracker.domain.exposure import Exposure, Status
from tracker.store import snoozes as stored
from tracker.store.records import SnoozeRecord


def fingerprint(exposure: Exposure) -> str:
    """What a snooze holds still: the statuses and the advice. Reasons' wording may change; this may not."""
    return f"{','.join(s.value for s in exposure.statuses)}|{exposure.recommended_build or '-'}"


@dataclass(frozen=True)
class Snooze:
    id: int
    kind: SnoozeKind
    target: str
    until: datetime
    reason: str
    fingerprint: str

    def matches(self, exposure: Exposure) -> bool:
        if self.kind is SnoozeKind.ASSET:
            return exposure.asset.name.casefold() == self.target.casefold()
        if self.kind is SnoozeKind.BUILD:
            return str(exposure.asset.build) == self.target
        # An advisory snooze covers a finding that is only that advisory (any revision of it).
        ids = {advisory_base(a) for a in exposure.advisories}
        return ids == {advisory_base(self.target)} and set(exposure.statuses) <= {Status.VULNERABLE, Status.BEHIND}

    def changed(self, exposure: Exposure) -> str | None:
        """How the finding changed since it was snoozed, in words; None while the snooze holds."""
        if self.still_holds(exposure):
            return None
        if self.kind is SnoozeKind.ADVISORY:
            return f"{self.target} was revised (snoozed at {self.fingerprint})"
        return f"its finding changed: {_words(self.fingerprint)} -> {_words(fingerprint(exposure))}"

    def still_holds(self, exposure: Exposure) -> bool:
        if self.kind is SnoozeKind.ADVISORY:  # the revision it was snoozed at: a revised advisory reopens it
            return not self.fingerprint or self.fingerprint in exposure.advisories
        return not self.fingerprint or self.fingerprint == fingerprint(exposure)


def _words(print_: str) -> str:
    """`pulled,behind|19193900` -> `pulled, behind; target 19193900`."""
    statuses, _, target = print_.partition("|")
    advice = f"target {target}" if target and target != "-" else "no safe target"
    return f"{statuses.replace(',', ', ') or Status.OK}; {advice}"


def advisory_base(label: str) -> str:
    """VMSA-2021-0028.1 -> VMSA-2021-0028."""
    head, _, tail = label.rpartition(".")
    return head if head and tail.isdigit() else label


class Snoozes:
    def __init__(self, active: list[Snooze]) -> None:
        self.active = active

    @classmethod
    def load(cls, session: Session, now: datetime) -> "Snoozes":
        return cls([_snooze(r) for r in stored.standing(session) if r.until > now])

    def covers(self, exposure: Exposure) -> bool:
        """Whether a standing snooze keeps this finding out of immediate alerts."""
        return any(s.matches(exposure) and s.still_holds(exposure) for s in self.active)


def _snooze(record: SnoozeRecord) -> Snooze:
    return Snooze(record.id, record.target_kind, record.target, record.until, record.reason, record.fingerprint)


def standing(session: Session) -> list[Snooze]:
    """Every snooze not ended yet, expired ones included (they reopen)."""
    return [_snooze(row) for row in stored.standing(session)]
