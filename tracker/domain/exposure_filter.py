"""Which assets an exposure filter selects, and how many: the one definition behind the overview's cards, the
exposure page and `/api/v1/exposure`, `tracker exposure`'s summary, the digest's counts and `/metrics`. A count is
the number of assets the same filter lists, so a card and the page it links to cannot disagree.

Each filter has one meaning, said in its label: `severity` is exactly that severity ("low"), `min_severity` that
severity or worse ("at least low", as a watchlist's `min_severity`). Globs match case-insensitively (`prod-*`)."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Protocol, TypeVar

from tracker.domain.exposure import Status
from tracker.domain.fixes import Severity
from tracker.domain.inventory import Asset


class Listed(Protocol):
    """What a filter reads of a row: an `Exposure`, or a row of the listing a previous run stored (the web's
    tracker/web/exposure_store.py), which keeps only this and the row's JSON."""

    @property
    def asset(self) -> Asset: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def statuses(self) -> tuple[Status, ...]: ...


Row = TypeVar("Row", bound=Listed)
Test = Callable[[Listed], bool]


@dataclass(frozen=True)
class ExposureFilter:
    """The filters of `tracker exposure`, the exposure page and the API: each empty one selects everything. Values
    are checked before (tracker/filters.py, the one vocabulary of every face's filters)."""

    status: str = ""  # pulled, vulnerable, end_of_support ... (tracker.domain.exposure.Status): has that status
    severity: str = ""  # exactly this severity: none, low, moderate, important, critical
    cluster: str = ""
    vcenter: str = ""
    tag: str = ""
    kind: str = ""  # esxi, vcenter, vm
    q: str = ""  # part of the asset's name
    min_severity: str = ""  # this severity or worse

    def selects(self, e: Listed) -> bool:
        return all(test(e) for test in self._tests)

    def select(self, exposures: Iterable[Row]) -> list[Row]:
        """The assets this filter selects, in the order given."""
        tests = self._tests
        return [e for e in exposures if all(test(e) for test in tests)]

    def count(self, exposures: Iterable[Listed]) -> int:
        """How many assets `select` lists: every count of assets on every face is this."""
        return len(self.select(exposures))

    def query(self) -> dict[str, str]:
        """The filters that are set, by name: the URL's parameters (the API's and the pages' are the same)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def label(self) -> str:
        """The filter in words, each with its one meaning: "severity at least low, cluster prod-*"; "" for none."""
        words = {"min_severity": "severity at least", "q": "name contains"}
        return ", ".join(f"{words.get(name, name)} {value}" for name, value in self.query().items())

    @cached_property
    def _tests(self) -> tuple[Test, ...]:
        """One test per filter that is set (built once: 100,000 assets are tested per listing)."""
        tests: list[Test] = []
        if self.status:
            status = Status(self.status)
            tests.append(lambda e: status in e.statuses)
        if self.severity:
            severity = Severity(self.severity)
            tests.append(lambda e: e.severity is severity)
        if self.min_severity:
            rank = Severity(self.min_severity).rank
            tests.append(lambda e: e.severity.rank >= rank)
        if self.kind:
            kind = self.kind
            tests.append(lambda e: e.asset.kind.value == kind)
        if self.cluster:
            cluster = self.cluster.casefold()
            tests.append(lambda e: fnmatchcase(e.asset.cluster.casefold(), cluster))
        if self.vcenter:
            vcenter = self.vcenter.casefold()
            tests.append(lambda e: fnmatchcase(e.asset.vcenter.casefold(), vcenter))
        if self.tag:
            tag = self.tag.casefold()
            tests.append(lambda e: any(fnmatchcase(t.casefold(), tag) for t in e.asset.tags))
        if self.q:
            part = self.q.casefold()
            tests.append(lambda e: part in e.asset.name.casefold())
        return tuple(tests)


def severity_counts(exposures: Sequence[Listed]) -> dict[Severity, int]:
    """Assets of each severity, exactly (they add up to every asset), worst first (the enum's order): each is the
    count of `ExposureFilter(severity=...)`, the rows the overview's card links to."""
    return {s: ExposureFilter(severity=s.value).count(exposures) for s in Severity}


def status_counts(exposures: Sequence[Listed]) -> dict[Status, int]:
    """Assets with each status (an asset may have several): each the count of `ExposureFilter(status=...)`."""
    return {s: ExposureFilter(status=s.value).count(exposures) for s in Status}
