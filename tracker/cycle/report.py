"""What a poll cycle reports to its caller (the CLI prints it, the service logs it)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracker.domain.events import Event
from tracker.domain.outcomes import FetchOutcome
from tracker.domain.words import count

if TYPE_CHECKING:
    from tracker.store.leases import Held


@dataclass
class SourceOutcome:
    source_id: str
    outcome: FetchOutcome
    rows: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)  # where, text, reason
    error: str | None = None


@dataclass
class PollReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    queued: int = 0  # alerts queued for the new events
    blocked_by: "Held | None" = None  # another cycle held the poll lease: this one did nothing


def unchanged_report(source_ids: list[str]) -> PollReport:
    """A cycle where every page answered 304, recorded by the store's fast path."""
    return PollReport([SourceOutcome(sid, FetchOutcome.NOT_MODIFIED) for sid in source_ids])


def outcome_tally(counts: Mapping[str, int]) -> str:
    """`2 parsed, 1 not modified, 2 errors`: how many sources' fetches ended each way (`counts` by FetchOutcome value);
    the outcomes that are nouns are counted as nouns ("1 anomaly", "2 anomalies")."""
    nouns = (FetchOutcome.ERROR, FetchOutcome.ANOMALY)
    return ", ".join(
        count(n, kind) if kind in nouns else f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items())
    )
