"""One clock for people: every time a person reads (CLI text, pages, alerts, digests, notices) is formatted here, in
the configured `timezone`, with the zone's name, so one event reads the same on every face:

    human(moment, "Europe/Berlin")   "2021-11-19 09:00 CET"   (minutes and the zone's abbreviation)
    machine(moment)                  "2021-11-19T08:00:00Z"   (`--json`, the API, feeds: ISO 8601 with an offset)

A moment is an aware datetime, a naive one (the store keeps UTC without a zone: read as UTC), or the ISO 8601
text `machine()` writes (the listings' dicts carry that, and the pages render from them). None and "" read as
nothing (""). The zone is an IANA name the config checked (`timezone:`, default UTC). Standard library only: the
domain, the CLI, the pages and the messages all call it.
"""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

Moment = datetime | str | None
HUMAN = "%Y-%m-%d %H:%M %Z"


def instant(moment: datetime | str) -> datetime:
    """The moment as an aware datetime: naive ones and ISO text without an offset are UTC."""
    value = datetime.fromisoformat(moment.replace("Z", "+00:00")) if isinstance(moment, str) else moment
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def human(moment: Moment, zone: str = "UTC") -> str:
    """`2021-11-19 09:00 CET`: what people read, in `zone`, named; "" for no moment. Text that is no ISO time (a
    note such as "never") is returned as it is."""
    local = _local(moment, zone)
    return local.strftime(HUMAN) if isinstance(local, datetime) else local


def machine(moment: Moment) -> str | None:
    """ISO 8601 with an offset, UTC written `Z` (`2021-11-19T08:00:00Z`); None for no moment."""
    if moment is None or moment == "":
        return None
    return instant(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(moment: Moment, zone: str) -> datetime | str:
    if moment is None or moment == "":
        return ""
    try:
        value = instant(moment)
    except ValueError:
        return str(moment)
    return value.astimezone(_zone(zone))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
