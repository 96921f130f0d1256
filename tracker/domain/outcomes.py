"""What one page's fetch gave a cycle (an error, an unchanged page, or what it listed) and what became of it: values
in a small module of their own, so the quiet path (tracker/store/fastpath.py, tracker/cycle/parse.py and report.py),
which only names and counts them, does not load the decide stage and the diff with it."""

from dataclasses import dataclass
from enum import StrEnum

from tracker.domain.observations import ParseResult


class FetchOutcome(StrEnum):
    PARSED = "parsed"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    ANOMALY = "anomaly"  # the page came, but the guard did not trust it


@dataclass(frozen=True)
class Failed:
    """The source could not be read (network, HTTP status, size cap, a broken part of a multi-document kind)."""

    reason: str


@dataclass(frozen=True)
class Unchanged:
    """The page answered 304: it is the page of the last good poll."""


Observation = Failed | Unchanged | ParseResult
