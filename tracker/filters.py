"""One vocabulary for filters: every filter a listing takes (product, line, status, kind, severity, since, until) is
defined once here, and the CLI's options, the API's query parameters and the pages' GET parameters all go through
it, so a value is refused the same way, with the same words, on every face:

    tracker events --kind puled      exit 2   tracker: --kind: unknown event kind 'puled' (did you mean 'pulled'?)
    /api/v1/events?kind=puled        422      {"detail": [{"field": "kind", "message": "unknown event kind ..."}]}
    /events?kind=puled               422      a page saying "kind: unknown event kind 'puled' (did you mean ...)"

A listing's filters are a mapping of parameter name to definition (BUILDS, EVENTS, EXPOSURE, DELIVERIES);
`check(EVENTS, {"kind": ["puled"], "since": "2021-11-19"})` returns the values parsed (enum values as text,
times as aware datetimes) or raises `FilterRefused` listing every problem, each a `FilterError` whose `field` is
the parameter and whose `message` is what every face says. Empty values (None, "", []) select everything.

Dates are read as people mean them: a day or a time without an offset is in the configured `timezone`, and a
bare day given as `until` takes that whole day in (`--since 2021-11-19 --until 2021-11-19` is that day)."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.config import did_you_mean
from tracker.domain.catalog import BuildStatus
from tracker.domain.events import EventKind
from tracker.domain.exposure import Status
from tracker.domain.fixes import Severity
from tracker.domain.inventory import AssetKind
from tracker.domain.versions import Product
from tracker.store import OutboxStatus


class FilterError(ValueError):
    """One refused value: `str()` is "field: message", as the web's 422 handler splits it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class FilterRefused(ValueError):
    """Every refused value of one request (the API's 422 and the CLI list them all; `str()` is the first)."""

    def __init__(self, problems: Iterable[FilterError]) -> None:
        self.problems = tuple(problems)
        super().__init__(str(self.problems[0]) if self.problems else "no problem")

    def detail(self) -> list[dict[str, str]]:
        """The API's 422 body: `{"field", "message"}` per problem."""
        return [{"field": p.field, "message": p.message} for p in self.problems]


@dataclass(frozen=True)
class Choice:
    """A value from a closed vocabulary (an enum the storage uses): refused with a did-you-mean."""

    noun: str  # "event kind": "unknown event kind 'puled'"
    values: tuple[str, ...]

    def parse(self, field: str, given: Any, zone: str) -> Any:
        """One value, or a tuple of them for a repeated parameter (`--kind a --kind b`, `?kind=a&kind=b`)."""
        if isinstance(given, list | tuple):
            return tuple(self._one(field, str(v)) for v in given if v not in (None, ""))
        return self._one(field, str(given)) if given not in (None, "") else None

    def _one(self, field: str, value: str) -> str:
        if value in self.values:
            return value
        raise FilterError(field, f"unknown {self.noun} {value!r}{did_you_mean(value, list(self.values))}")


@dataclass(frozen=True)
class Line:
    """A release line: `7.0`, `8.0`; VMware Tools' lines are a major (`12`)."""

    def parse(self, field: str, given: Any, zone: str) -> str | None:
        if given in (None, ""):
            return None
        if not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", str(given)):
            raise FilterError(field, f"expected a release line such as 7.0 or 8.0, got {str(given)[:40]!r}")
        return str(given)


@dataclass(frozen=True)
class When:
    """A day or a time (ISO 8601). Without an offset it is in the configured zone; `end` makes a bare day mean the
    end of that day (an `until` that takes the whole day in)."""

    end: bool = False

    def parse(self, field: str, given: Any, zone: str) -> datetime | None:
        if given in (None, ""):
            return None
        text = str(given).strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            example = "expected an ISO-8601 date or time such as 2021-11-19 or 2021-11-19T08:00:00Z"
            raise FilterError(field, f"{example}, got {text[:40]!r}") from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(zone))
        if self.end and len(text) == 10:  # a bare day: up to the next midnight
            value += timedelta(days=1)
        return value.astimezone(UTC)  # as the store keeps times


Filter = Choice | Line | When

PRODUCT = Choice("product", tuple(p.value for p in Product))
LINE = Line()
BUILD_STATUS = Choice("build status", tuple(s.value for s in BuildStatus))
EVENT_KIND = Choice("event kind", tuple(k.value for k in EventKind))
EXPOSURE_STATUS = Choice("status", tuple(s.value for s in Status))
SEVERITY = Choice("severity", tuple(s.value for s in Severity))
ASSET_KIND = Choice("asset kind", tuple(k.value for k in AssetKind))
DELIVERY_STATUS = Choice("delivery status", tuple(s.value for s in OutboxStatus))
SINCE = When()
UNTIL = When(end=True)

# Each listing's filters, by the name its API parameter and page parameter share; the CLI's option is the same name
# with hyphens (`min_severity`: `--min-severity`).
BUILDS: Mapping[str, Filter] = {"product": PRODUCT, "line": LINE, "status": BUILD_STATUS}
EVENTS: Mapping[str, Filter] = {"kind": EVENT_KIND, "product": PRODUCT, "line": LINE, "since": SINCE, "until": UNTIL}
EXPOSURE: Mapping[str, Filter] = {
    "status": EXPOSURE_STATUS,
    "severity": SEVERITY,
    "min_severity": SEVERITY,
    "kind": ASSET_KIND,
}
DELIVERIES: Mapping[str, Filter] = {"status": DELIVERY_STATUS}


def check(listing: Mapping[str, Filter], given: Mapping[str, Any], zone: str = "UTC") -> dict[str, Any]:
    """The values of `given` that `listing` defines, parsed; the others pass as they are. Raises FilterRefused with
    every problem, `since` after `until` among them."""
    parsed, problems = dict(given), []
    for field, definition in listing.items():
        if field not in given:
            continue
        try:
            parsed[field] = definition.parse(field, given[field], zone)
        except FilterError as problem:
            problems.append(problem)
    since, until = parsed.get("since"), parsed.get("until")
    if isinstance(since, datetime) and isinstance(until, datetime) and since > until:
        problems.append(FilterError("until", f"{given['until']!r} is before since {given['since']!r}"))
    if problems:
        raise FilterRefused(problems)
    return parsed
